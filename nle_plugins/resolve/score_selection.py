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
from pathlib import Path

from v2m.nle_plugins.client import ScoringClient
from v2m.nle_plugins.errors import TimelineError
from v2m.nle_plugins.timeline import load_timeline
from v2m.nle_plugins.writeback import add_score, save_scored

_COLORS = ((0.5, "Green"), (1.5, "Yellow"), (float("inf"), "Red"))


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
    prompt: str | None = None,
    seed: int = 0,
) -> dict:
    """Export → score the marked range on ``server`` → music on a new audio track at the in
    point with a marker per hit. Returns what was done (paths, frames, hit count)."""
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
        remote = client.score(
            str(exported), in_s=start_s, out_s=end_s, prompt=prompt, seed=seed, want_plot=True
        )
    out = work / f"{name}.v2m"
    paths = remote.write(out)
    hits = remote.hits
    scored = add_score(
        tl,
        start_s=start_s,
        duration_s=remote.result.duration_s,
        audio={"mix": paths["mix"]},
        hits=hits,
    )
    otio_path, _note = save_scored(scored, tl, out / f"{name}.v2m.otio")
    media_pool = project.GetMediaPool()
    items = _call(media_pool.ImportMedia([str(paths["mix"])]), f"ImportMedia {paths['mix']}")
    _call(timeline.AddTrack("audio", "stereo"), "AddTrack audio")
    track = timeline.GetTrackCount("audio")
    frames = out_frame - in_frame
    _call(
        media_pool.AppendToTimeline(
            [
                {
                    "mediaPoolItem": items[0],
                    "startFrame": 0,
                    "endFrame": frames - 1,
                    "trackIndex": track,
                    "recordFrame": timeline.GetStartFrame() + in_frame,
                    "mediaType": 2,  # audio only
                }
            ]
        ),
        "AppendToTimeline",
    )
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
        "audio_track": track,
        "hits": len(hits),
    }


def main() -> None:  # pragma: no cover — runs inside Resolve (Workspace > Scripts)
    """Entry point for Resolve's Scripts menu: ``resolve`` comes from Resolve's globals."""
    import __main__

    resolve = getattr(__main__, "resolve", None) or __main__.bmd.scriptapp("Resolve")
    done = score_current_timeline(
        resolve,
        server=os.environ.get("V2M_SERVER", "127.0.0.1:50051"),
        token=os.environ.get("V2M_TOKEN"),
        work_dir=os.environ.get("V2M_RESOLVE_WORKDIR"),
        prompt=os.environ.get("V2M_PROMPT"),
    )
    print(
        f"v2m: scored frames {done['in_frame']}..{done['out_frame']}: {done['hits']} hits; "
        f"music on audio track {done['audio_track']}; timeline {done['timeline_otio']}"
    )
