"""Write the score back into the timeline: new audio track(s) at the in point, hit markers.

The input timeline is copied and only added to: one audio track holding the mix (or one per
stem), starting at the selection's in point, whose clip carries a marker at every placed hit
named with its timing error (``v2m cut +0.0f``). Everything else stays as read. The result is
saved in the input's format, or another one asked for; formats whose writer cannot carry an
audio track (CMX 3600 EDL) are saved as ``.otio`` beside it, and the caller is told.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import opentimelineio as otio

from v2m.model.types import PlacedHit
from v2m.nle_plugins.errors import UnsupportedFormatError
from v2m.nle_plugins.timeline import ADAPTERS, V2M_MARKER_PREFIX, LoadedTimeline

CANNOT_HOLD_AUDIO = ("cmx_3600",)
"""Adapters whose writer drops added audio tracks."""
WRITE_OPTIONS = {"AAF": {"use_empty_mob_ids": True}}


def _range(start_frame: int, frames: int, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(
        otio.opentime.RationalTime(start_frame, rate), otio.opentime.RationalTime(frames, rate)
    )


def hit_marker(hit: PlacedHit, *, frame_rate_hz: float, rate: float) -> otio.schema.Marker:
    """A zero-length marker for one placed hit, at its achieved time (seconds from the in
    point), coloured by its error."""
    error = hit.error_frames
    color = (
        otio.schema.MarkerColor.GREEN
        if abs(error) <= 0.5
        else otio.schema.MarkerColor.YELLOW
        if abs(error) <= 1.5
        else otio.schema.MarkerColor.RED
    )
    return otio.schema.Marker(
        name=f"{V2M_MARKER_PREFIX}{hit.kind} {error:+.1f}f",
        marked_range=_range(round(hit.achieved_s * frame_rate_hz), 0, rate),
        color=color,
        metadata={
            "v2m": {
                "kind": hit.kind,
                "planned_s": round(hit.time_s, 6),
                "achieved_s": round(hit.achieved_s, 6),
                "error_ms": round(hit.error_ms, 3),
                "error_frames": round(hit.error_frames, 3),
                "frame_rate_hz": frame_rate_hz,
            }
        },
    )


def add_score(
    tl: LoadedTimeline,
    *,
    start_s: float,
    duration_s: float,
    audio: dict[str, str | os.PathLike],
    hits: Sequence[PlacedHit] = (),
) -> otio.schema.Timeline:
    """A copy of ``tl.timeline`` with one audio track per entry of ``audio`` (name → WAV file;
    ``{"mix": ...}`` or one per stem) from ``start_s`` for ``duration_s``; the first track's
    clip carries the hit markers."""
    timeline = copy.deepcopy(tl.timeline)
    rate = tl.item_rate
    in_frame, frames = tl.frame(start_s), tl.frame(start_s + duration_s) - tl.frame(start_s)
    for i, (name, path) in enumerate(audio.items()):
        track = otio.schema.Track(name=f"v2m {name}", kind=otio.schema.TrackKind.Audio)
        if in_frame:
            track.append(otio.schema.Gap(source_range=_range(0, in_frame, rate)))
        reference = otio.schema.ExternalReference(
            target_url=Path(path).resolve().as_uri(), available_range=_range(0, frames, rate)
        )
        clip = otio.schema.Clip(
            name=f"v2m {name}",
            media_reference=reference,
            source_range=_range(0, frames, rate),
            metadata={"v2m": {"stem": name}},
        )
        if i == 0:
            for hit in hits:
                clip.markers.append(hit_marker(hit, frame_rate_hz=tl.rate_hz, rate=rate))
        track.append(clip)
        timeline.tracks.append(track)
    return timeline


def write_back(
    tl: LoadedTimeline,
    *,
    in_s: float,
    duration_s: float,
    artifacts: Mapping[str, str | os.PathLike],
    hits: Sequence[PlacedHit],
    out: str | os.PathLike,
    track_per_stem: bool = False,
) -> tuple[Path, str]:
    """Save ``tl`` with the score on new audio track(s) from ``in_s`` into ``out`` (a folder,
    or a timeline file whose suffix picks the format): the mix, or with ``track_per_stem`` one
    track per stem. ``artifacts`` is a result's file table (``mix``, ``stem:NAME``); returns
    ``save_scored``'s (path, note)."""
    if track_per_stem:
        audio = {k.removeprefix("stem:"): v for k, v in artifacts.items() if k.startswith("stem:")}
    else:
        audio = {"mix": artifacts["mix"]}
    scored = add_score(tl, start_s=in_s, duration_s=duration_s, audio=audio, hits=hits)
    return save_scored(scored, tl, out)


def output_adapter(tl: LoadedTimeline, out_path: str | os.PathLike) -> str:
    """The adapter for ``out_path``'s suffix (UnsupportedFormatError names the choices)."""
    suffix = Path(out_path).suffix.lower()
    if suffix not in ADAPTERS:
        raise UnsupportedFormatError(
            f"cannot write timeline format {suffix!r}; use one of {', '.join(sorted(ADAPTERS))}"
        )
    return ADAPTERS[suffix]


def save_scored(
    timeline: otio.schema.Timeline, tl: LoadedTimeline, out: str | os.PathLike
) -> tuple[Path, str]:
    """Save the scored timeline: to ``out`` if it names a timeline file, else into the folder
    ``out`` as ``NAME.v2m.SUFFIX`` in the input's format. When that format cannot hold the
    result (EDL) or its writer fails, it is saved as ``.otio`` instead; the note says why."""
    out = Path(out)
    source = Path(tl.path)
    if out.suffix.lower() in ADAPTERS:
        path, adapter = out, output_adapter(tl, out)
    else:
        path, adapter = out / f"{source.stem}.v2m{source.suffix}", tl.adapter
    fallback = path.with_suffix(".otio")
    if adapter in CANNOT_HOLD_AUDIO:
        save_timeline(timeline, fallback, adapter="otio_json")
        return fallback, f"{path.suffix} cannot hold an audio track: saved as {fallback.name}"
    try:
        save_timeline(timeline, path, adapter=adapter)
    except Exception as exc:  # noqa: BLE001 — an adapter's writer failing: keep the work
        save_timeline(timeline, fallback, adapter="otio_json")
        return fallback, f"the {adapter} writer failed ({exc}): saved as {fallback.name}"
    return path, ""


def save_timeline(timeline: otio.schema.Timeline, path: str | os.PathLike, *, adapter: str) -> None:
    """Write atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            if adapter == "v2m_mlt":
                from v2m.nle_plugins.mlt_xml import write_mlt

                write_mlt(timeline, partial)
            else:
                otio.adapters.write_to_file(
                    timeline, str(partial), adapter_name=adapter, **WRITE_OPTIONS.get(adapter, {})
                )
        if adapter == "AAF":
            _write_aaf_markers(timeline, partial)
        if adapter == "kdenlive":
            from v2m.nle_plugins.mlt_xml import mix_audio_tracks

            mix_audio_tracks(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


_AAF_COLORS = {
    otio.schema.MarkerColor.GREEN: {"red": 0, "green": 65534, "blue": 0},
    otio.schema.MarkerColor.YELLOW: {"red": 65534, "green": 65534, "blue": 0},
    otio.schema.MarkerColor.RED: {"red": 65534, "green": 0, "blue": 0},
}


def _write_aaf_markers(timeline: otio.schema.Timeline, path: Path) -> None:
    """Add our clips' markers to an AAF the adapter wrote (its writer drops markers): Avid
    comment markers in an event slot that describes our track, as the adapter's reader and
    Media Composer read them."""
    import aaf2

    ours = [
        (track.name, clip)
        for track in timeline.tracks
        if track.name.startswith(V2M_MARKER_PREFIX)
        for clip in track.find_clips()
        if clip.markers
    ]
    if not ours:
        return
    with aaf2.open(str(path), "rw") as f:
        mob = next(f.content.toplevel())
        for number, (name, clip) in enumerate(ours, start=1):
            slot = next(s for s in mob.slots if s.name == name)
            slot["PhysicalTrackNumber"].value = number
            event = f.create.EventMobSlot()
            event["EditRate"].value = slot.edit_rate
            event["SlotID"].value = max(s.slot_id for s in mob.slots) + 1
            event["PhysicalTrackNumber"].value = number
            sequence = f.create.Sequence(media_kind="DescriptiveMetadata")
            clip_start = clip.range_in_parent().start_time
            for marker in clip.markers:
                at = clip_start + marker.marked_range.start_time
                component = f.create.DescriptiveMarker()
                component["Position"].value = round(at.to_seconds() * float(slot.edit_rate))
                component["Length"].value = 0
                component["Comment"].value = marker.name
                component["CommentMarkerUser"].value = "v2m"
                component["DescribedSlots"].value = {slot.slot_id}
                color = _AAF_COLORS.get(marker.color)
                if color:
                    component["CommentMarkerColor"].value = color
                sequence.components.append(component)
            event.segment = sequence
            mob.slots.append(event)
