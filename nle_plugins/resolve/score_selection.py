"""Score the marked in/out range of Resolve's current timeline through a v2m server.

Uses only the documented Resolve scripting API (``Help > Documentation > Developer``, the
Scripting README):

- ``Resolve.GetProjectManager()``, ``ProjectManager.GetCurrentProject()``,
  ``Project.GetCurrentTimeline()``, ``Project.GetMediaPool()``;
- ``Timeline.Export(fileName, resolve.EXPORT_OTIO)`` (Resolve 18.5+),
  ``Timeline.GetSetting("timelineFrameRate")``, ``Timeline.GetStartFrame()``,
  ``Timeline.GetMarkInOut()`` (19.1+: ``{"video": {"in": 0, "out": 134}}``, offsets from the
  timeline start; without marks or on older versions the whole timeline is scored),
  ``Timeline.AddTrack("audio", "stereo")``, ``Timeline.GetTrackCount("audio")``,
  ``Timeline.AddMarker(frameId, color, name, note, duration, customData)`` (frameId: offset from
  the timeline start);
- ``MediaPool.ImportMedia([path])``, ``MediaPool.AppendToTimeline([{"mediaPoolItem", "startFrame",
  "endFrame", "trackIndex", "recordFrame", "mediaType"}])`` (recordFrame: absolute frame).

The scored timeline is also saved as OTIO beside the music (``NAME.v2m.otio``), which Resolve's
``File > Import > Timeline`` reads. The server must see the exported timeline and its media:
the work folder defaults to ``v2m-resolve`` inside the server's first media root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from v2m.nle_plugins.client import ScoringClient
from v2m.nle_plugins.errors import TimelineError
from v2m.nle_plugins.timeline import load_timeline
from v2m.nle_plugins.writeback import write_back

_COLORS = ((0.5, "Green"), (1.5, "Yellow"), (float("inf"), "Red"))


def _place(timeline, media_pool, path: str, in_frame: int, out_frame: int) -> int:
    """Import ``path`` and put it on a new stereo audio track at the in point; its track
    number."""
    items = _call(media_pool.ImportMedia([str(path)]), f"ImportMedia {path}")
    _call(timeline.AddTrack("audio", "stereo"), "AddTrack audio")
    track = timeline.GetTrackCount("audio")
    clip = {
        "mediaPoolItem": items[0],
        "startFrame": 0,
        "endFrame": out_frame - in_frame - 1,
        "trackIndex": track,
        "recordFrame": timeline.GetStartFrame() + in_frame,
        "mediaType": 2,  # audio only
    }
    _call(media_pool.AppendToTimeline([clip]), "AppendToTimeline")
    return track


class ResolveError(TimelineError):
    """Resolve refused a call or has nothing to score."""


def _call(ok, what: str):
    if not ok:
        raise ResolveError(f"Resolve refused {what}")
    return ok


def score_current_timeline(
    resolve,
    *,
    server: str,
    token: str | None = None,
    work_dir: str | os.PathLike | None = None,
    options: Mapping | None = None,
) -> dict:
    """Export → score the marked range on ``server`` with ``options`` (ScoreOptions fields;
    the selection comes from Resolve's marks) → music on new audio track(s) at the in point —
    the mix, or one per stem with ``track_per_stem`` — with a marker per hit. Returns what was
    done (paths, frames, hit count)."""
    options = dict(options or {})
    project = _call(resolve.GetProjectManager().GetCurrentProject(), "GetCurrentProject")
    timeline = project.GetCurrentTimeline()
    if not timeline:
        raise ResolveError("no timeline is open; open the timeline to score")
    with ScoringClient(server, token=token) as client:
        if work_dir is None:
            roots = client.server_info().media_roots
            work_dir = Path(roots[0]) / "v2m-resolve"
        work = Path(work_dir)
        work.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", timeline.GetName()) or "timeline"
        exported = work / f"{name}.otio"
        _call(timeline.Export(str(exported), resolve.EXPORT_OTIO), f"Export to {exported}")
        tl = load_timeline(exported)
        marks = (timeline.GetMarkInOut() or {}) if hasattr(timeline, "GetMarkInOut") else {}
        video = marks.get("video", {})
        in_frame = int(video.get("in", 0))
        out_frame = int(video["out"]) + 1 if "out" in video else tl.duration_frames
        start_s, end_s = tl.seconds(in_frame), tl.seconds(out_frame)
        options.update(in_s=start_s, out_s=end_s)
        options.setdefault("plot", True)
        remote = client.score(str(exported), options)
    out = work / f"{name}.v2m"
    paths = remote.write(out)
    hits = remote.hits
    per_stem = bool(options.get("track_per_stem"))
    otio_path, _note = write_back(
        tl,
        in_s=start_s,
        duration_s=remote.result.duration_s,
        artifacts=paths,
        hits=hits,
        out=out / f"{name}.v2m.otio",
        track_per_stem=per_stem,
    )
    media_pool = project.GetMediaPool()
    names = [k for k in paths if k.startswith("stem:")] if per_stem else ["mix"]
    tracks = [_place(timeline, media_pool, paths[k], in_frame, out_frame) for k in names]
    for h in hits:
        color = next(c for limit, c in _COLORS if abs(h.error_frames) <= limit)
        timeline.AddMarker(
            in_frame + round(h.achieved_s * tl.rate_hz),
            color,
            f"v2m {h.kind} {h.error_frames:+.1f}f",
            f"planned {h.time_s:.3f} s, error {h.error_ms:+.1f} ms",
            1,
            "v2m",
        )
    return {
        "exported": str(exported),
        "timeline_otio": str(otio_path),
        "mix": str(paths["mix"]),
        "in_frame": in_frame,
        "out_frame": out_frame,
        "audio_track": tracks[0],
        "audio_tracks": tracks,
        "hits": len(hits),
    }


def options_from_environment(env: Mapping[str, str]) -> dict:
    """Scoring options for the script: the ``[score]`` table of the TOML file named by
    ``V2M_SCORE_OPTIONS`` (the keys of a watch-folder sidecar: prompt, style, bpm, key, meter,
    stems, seed, markers_s, backend, backend_options, duck_dialogue, plot, track_per_stem),
    and ``V2M_PROMPT`` for the prompt alone. The server checks every value."""
    import tomllib

    options: dict = {}
    if env.get("V2M_SCORE_OPTIONS"):
        path = Path(env["V2M_SCORE_OPTIONS"])
        try:
            options.update(tomllib.loads(path.read_text(encoding="utf-8")).get("score", {}))
        except (OSError, ValueError) as exc:
            raise ResolveError(f"V2M_SCORE_OPTIONS={str(path)!r}: {exc}") from exc
    if env.get("V2M_PROMPT"):
        options["prompt"] = env["V2M_PROMPT"]
    return options


def main() -> None:  # pragma: no cover — runs inside Resolve (Workspace > Scripts)
    """Entry point for Resolve's Scripts menu: ``resolve`` comes from Resolve's globals."""
    import __main__

    resolve = getattr(__main__, "resolve", None) or __main__.bmd.scriptapp("Resolve")
    done = score_current_timeline(
        resolve,
        server=os.environ.get("V2M_SERVER", "127.0.0.1:50051"),
        token=os.environ.get("V2M_TOKEN"),
        work_dir=os.environ.get("V2M_RESOLVE_WORKDIR"),
        options=options_from_environment(os.environ),
    )
    print(
        f"v2m: scored frames {done['in_frame']}..{done['out_frame']}: {done['hits']} hits; "
        f"music on audio track {done['audio_track']}; timeline {done['timeline_otio']}"
    )
