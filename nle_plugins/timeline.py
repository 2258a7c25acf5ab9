"""Editors' timelines through OpenTimelineIO: load, what the viewer sees, edit points, markers,
selections.

``load_timeline`` reads every format an installed OTIO adapter reads (``.otio``, ``.otioz``,
FCP 7 XML, FCPXML, CMX 3600 EDL, AAF, Kdenlive) and handles the adapters' known defects:
FCPXML times come from :mod:`v2m.nle_plugins.fcpxml_exact` (exact NTSC and mixed rates), EDLs
whose source and record durations disagree (speed changes) are read with the adapter's tolerant
option, and XML is screened for entity declarations before any parser sees it.

Times are seconds from the timeline's first frame (``time_s``), on the timeline's exact frame
grid (``frame``); timecode adds the timeline's start timecode. The picture is the *edit as
seen*: the top-most enabled video item at each frame, gaps transparent, nested sequences
(compound clips) opened, so a cut hidden under an upper track is not a cut.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from v2m.model.timecode import format_timecode
from v2m.nle_plugins.errors import (
    SelectionError,
    TimelineReadError,
    UnsupportedFormatError,
)
from v2m.nle_plugins.screen import (
    check_size,
    check_timeline,
    decode_edl,
    otioz_content,
    screen_json,
    screen_xml,
)

ADAPTERS = {
    ".otio": "otio_json",
    ".otioz": "otioz",
    ".xml": "fcp_xml",
    ".fcpxml": "fcpx_xml",
    ".edl": "cmx_3600",
    ".aaf": "AAF",
    ".kdenlive": "kdenlive",
    ".mlt": "v2m_mlt",
}
"""File suffix → OTIO adapter name."""
V2M_MARKER_PREFIX = "v2m "
"""Markers v2m writes start with this; they are never read back as editor markers."""
_XML_SUFFIXES = (".xml", ".fcpxml", ".kdenlive", ".mlt")


def is_timeline(path: str | os.PathLike) -> bool:
    """True for files read as timelines (by suffix: .otio, .xml, .fcpxml, .edl, .aaf, ...)."""
    return Path(path).suffix.lower() in ADAPTERS


def exact_rate(rate: float) -> Fraction:
    """The exact frame rate for a float one: NTSC rates (23.976, 29.97, 59.94, ...) become
    ``N*1000/1001``, others the nearest simple fraction."""
    for nominal in (24, 30, 48, 60, 120):
        if abs(rate - nominal * 1000 / 1001) < 0.005:
            return Fraction(nominal * 1000, 1001)
    return Fraction(rate).limit_denominator(1001)


@dataclass(frozen=True)
class EditPoint:
    """A change of picture: a cut, or the midpoint of a transition."""

    time_s: float
    frame: int
    kind: str
    """``cut`` or ``transition``."""
    outgoing: str
    """Name of the clip before (``""``: black)."""
    incoming: str


@dataclass(frozen=True)
class TimelineMarker:
    time_s: float
    frame: int
    name: str
    color: str
    owner: str
    """``timeline``, ``track NAME`` or ``clip NAME``."""


@dataclass(frozen=True)
class Segment:
    """A stretch of the edit as seen: frames ``start_frame`` .. ``end_frame`` (exclusive) show
    ``clip`` (``None``: black) from ``source_start_s`` on the clip's media clock, advancing
    ``speed`` source seconds per timeline second."""

    start_frame: int
    end_frame: int
    clip: otio.schema.Clip | None
    source_start_s: float
    speed: float = 1.0

    @property
    def name(self) -> str:
        return self.clip.name if self.clip is not None else ""


@dataclass
class LoadedTimeline:
    """An OTIO timeline with its exact rate and start, as read from ``path``."""

    timeline: otio.schema.Timeline
    path: str
    adapter: str
    rate: Fraction
    start_frame: int
    """The timeline's start timecode, in frames (e.g. 01:00:00:00 → 86400 at 24 fps)."""
    notes: list[str] = field(default_factory=list)
    """What the reader had to work around (shown by ``v2m timeline cuts``)."""

    @property
    def rate_hz(self) -> float:
        return float(self.rate)

    @property
    def item_rate(self) -> float:
        """The rate value the file's own items carry (29.97 where ``rate`` is 30000/1001):
        items added to the timeline use it, as some writers demand one rate throughout."""
        for item in self.timeline.find_children(descended_from_type=otio.core.Item):
            if not isinstance(item, otio.schema.Gap):
                return item.trimmed_range().duration.rate
        return self.rate_hz

    @property
    def duration_frames(self) -> int:
        return self.frame(self.timeline.tracks.duration().to_seconds())

    @property
    def duration_s(self) -> float:
        return self.duration_frames / self.rate_hz

    def frame(self, time_s: float) -> int:
        """The frame that starts at (or nearest) ``time_s``."""
        return round(Fraction(time_s).limit_denominator(10**9) * self.rate)

    def seconds(self, frame: int) -> float:
        return float(frame / self.rate)

    def timecode(self, time_s: float) -> str:
        """Record timecode of ``time_s`` (drop-frame at 29.97 / 59.94)."""
        frame = self.start_frame + self.frame(time_s)
        return format_timecode(float(frame / self.rate) + 1e-9, self.rate_hz)

    def parse_time(self, text: str) -> float:
        """``HH:MM:SS:FF`` / ``HH:MM:SS;FF`` record timecode, or seconds from the start."""
        text = text.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return float(text)
        if not re.fullmatch(r"\d{1,2}:\d{2}:\d{2}[:;.]\d{2,3}", text):
            raise SelectionError(
                f"{text!r} is neither seconds (12.5) nor timecode (01:00:10:00 or 00:59:59;29)"
            )
        try:  # OTIO reads drop-frame from the ';' separator at 29.97 / 59.94
            rt = otio.opentime.from_timecode(text.replace(".", ":"), self.rate_hz)
        except Exception as exc:  # OTIO raises plain ValueError / RuntimeError
            raise SelectionError(f"timecode {text!r} at {self.rate_hz:.3f} fps: {exc}") from exc
        return self.seconds(round(rt.to_seconds() * self.rate_hz) - self.start_frame)


# ---------------------------------------------------------------------------------- loading


def load_timeline(path: str | os.PathLike, *, name: str | None = None) -> LoadedTimeline:
    """Read a timeline file.

    Args:
        name: which timeline of a file holding several (FCPXML libraries); default the first.

    Raises:
        TimelineReadError: missing, empty, huge, hostile or malformed files, no timeline inside.
        UnsupportedFormatError: a suffix no adapter handles (the message lists them).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ADAPTERS:
        raise UnsupportedFormatError(
            f"{path.name!r}: timeline format {suffix or '(no suffix)'!r} is not supported; "
            f"use one of {', '.join(sorted(ADAPTERS))}"
        )
    if not path.is_file():
        raise TimelineReadError(f"timeline {str(path)!r} not found")
    notes: list[str] = []
    adapter = ADAPTERS[suffix]
    try:
        result = _read(path, adapter, notes)
    except (TimelineReadError, UnsupportedFormatError):
        raise
    except Exception as exc:  # adapters raise anything: ParseError, KeyError, AttributeError...
        raise TimelineReadError(
            f"{path.name!r} could not be read as {adapter}: {type(exc).__name__}: {exc}"
        ) from exc
    timeline = _pick_timeline(result, name, path)
    check_timeline(timeline, path.name)
    rate = _timeline_rate(timeline)
    start_frame = _start_frame(timeline, rate)
    return LoadedTimeline(timeline, str(path), adapter, rate, start_frame, notes)


def _read(path: Path, adapter: str, notes: list[str]):
    """Screen the file's bytes (size, nesting, entities, encoding), then parse them."""
    if adapter == "otioz":
        data = otioz_content(path)
    else:
        check_size(path)
        data = b"" if adapter == "AAF" else path.read_bytes()  # the AAF reader opens the file
    if adapter in ("otio_json", "otioz"):
        text = screen_json(data, path.name)
    elif path.suffix.lower() in _XML_SUFFIXES:
        screen_xml(data, path.name)
    # Adapters warn and print banners (Kdenlive's deprecation notice) on stdout: keep them off
    # the user's terminal and our JSON output.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if adapter in ("otio_json", "otioz"):
            return otio.adapters.read_from_string(text, adapter_name="otio_json")
        if adapter == "v2m_mlt":
            from v2m.nle_plugins.mlt_xml import read_mlt

            notes.append("MLT XML (Shotcut) read by v2m's own reader: OTIO has no MLT adapter")
            return read_mlt(data, path)
        if adapter == "fcpx_xml":
            from v2m.nle_plugins.fcpxml_exact import read_fcpxml

            notes.append("FCPXML times read on the project's exact frameDuration grid")
            return read_fcpxml(data)
        if adapter == "cmx_3600":
            text = decode_edl(data, notes)
            try:
                return otio.adapters.read_from_string(text, adapter_name=adapter)
            except Exception as exc:  # EDLParseError: speed changes, timecode mismatches
                notes.append(f"read with ignore_timecode_mismatch ({exc})")
                return otio.adapters.read_from_string(
                    text, adapter_name=adapter, ignore_timecode_mismatch=True
                )
        return otio.adapters.read_from_file(str(path), adapter_name=adapter)


def _pick_timeline(result, name: str | None, path: Path) -> otio.schema.Timeline:
    if isinstance(result, otio.schema.Timeline):
        timelines = [result]
    elif isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline))
    else:
        timelines = []
    if not timelines:
        raise TimelineReadError(f"{path.name!r} holds no timeline")
    if name is None:
        return timelines[0]
    for timeline in timelines:
        if timeline.name == name:
            return timeline
    names = ", ".join(repr(t.name) for t in timelines)
    raise SelectionError(f"{path.name!r} has no timeline named {name!r}; it has {names}")


def _start_frame(timeline: otio.schema.Timeline, rate: Fraction) -> int:
    """The record timecode of the first frame, in frames. The EDL adapter leaves
    ``global_start_time`` empty and trims each track to start at minus the record start."""
    if timeline.global_start_time is not None:
        return round(timeline.global_start_time.to_seconds() * float(rate))
    starts = {
        t.source_range.start_time.to_seconds()
        for t in timeline.tracks
        if isinstance(t, otio.schema.Track) and t.source_range is not None
    }
    if len(starts) == 1 and (only := starts.pop()) < 0:
        return round(-only * float(rate))
    return 0


def _timeline_rate(timeline: otio.schema.Timeline) -> Fraction:
    stored = timeline.metadata.get("v2m", {}).get("frame_rate")
    if stored:
        return Fraction(int(stored[0]), int(stored[1]))
    for item in timeline.find_children(descended_from_type=otio.core.Item):
        if not isinstance(item, otio.schema.Gap):
            return exact_rate(item.trimmed_range().duration.rate)
    return exact_rate(timeline.tracks.duration().rate or 24.0)


# --------------------------------------------------------------------- the edit as seen


def _video_tracks(stack: otio.schema.Stack) -> list[otio.schema.Track]:
    """Enabled video tracks, top-most first."""
    tracks = [
        t
        for t in stack
        if isinstance(t, otio.schema.Track) and t.kind == otio.schema.TrackKind.Video and t.enabled
    ]
    return tracks[::-1]


@dataclass
class _Layer:
    """One track's items on the timeline frame grid, for lookups by frame."""

    starts: list[int]
    items: list[tuple[int, int, otio.schema.Item, float]]
    """(start_frame, end_frame, item, item's own start time in seconds)."""
    transitions: dict[int, float]
    """Boundary frame → edit time (the transition's midpoint) in timeline seconds."""


def _layer(track: otio.schema.Track, tl: LoadedTimeline, offset_s: float) -> _Layer:
    items, transitions = [], {}
    for child in track:
        rng = track.range_of_child(child)
        start_s = offset_s + rng.start_time.to_seconds()
        if isinstance(child, otio.schema.Transition):
            boundary = start_s + child.in_offset.to_seconds()
            middle = start_s + rng.duration.to_seconds() / 2
            transitions[tl.frame(boundary)] = middle
            continue
        if isinstance(child, otio.schema.Gap) or not child.enabled:
            continue
        end_s = start_s + rng.duration.to_seconds()
        a, b = tl.frame(start_s), tl.frame(end_s)
        if b > a:
            items.append((a, b, child, start_s))
    items.sort(key=lambda x: x[0])
    return _Layer([x[0] for x in items], items, transitions)


def _speed(clip: otio.schema.Item) -> float:
    speed = 1.0
    for effect in clip.effects:
        if isinstance(effect, otio.schema.LinearTimeWarp):
            speed *= effect.time_scalar
    return speed


def visible_segments(
    tl: LoadedTimeline, *, start_s: float = 0.0, end_s: float | None = None
) -> list[Segment]:
    """The edit as seen between ``start_s`` and ``end_s``: what shows at each frame."""
    a = tl.frame(start_s)
    b = tl.duration_frames if end_s is None else tl.frame(end_s)
    return _merge(_composite(tl, tl.timeline.tracks, 0.0, 0.0, a, b), tl.rate)


def _composite(
    tl: LoadedTimeline,
    stack: otio.schema.Stack,
    offset_s: float,
    stack_start_s: float,
    a: int,
    b: int,
) -> list[Segment]:
    """Segments of ``stack`` (placed at ``offset_s`` - ``stack_start_s``) in frames a..b."""
    layers = [_layer(t, tl, offset_s - stack_start_s) for t in _video_tracks(stack)]
    bounds = {a, b}
    for layer in layers:
        for s, e, _item, _t in layer.items:
            bounds.update(x for x in (s, e) if a < x < b)
    bounds = sorted(bounds)
    out: list[Segment] = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        found = _top_item(layers, lo)
        if found is None:
            out.append(Segment(lo, hi, None, 0.0))
            continue
        item, item_start_s = found
        own = item.trimmed_range()
        if isinstance(item, otio.schema.Stack):
            nested_offset = item_start_s
            out.extend(_composite(tl, item, nested_offset, own.start_time.to_seconds(), lo, hi))
            continue
        speed = _speed(item)
        into = tl.seconds(lo) - item_start_s
        source = own.start_time.to_seconds() + into * speed
        out.append(Segment(lo, hi, item, source, speed))
    return out


def _top_item(layers: list[_Layer], frame: int):
    for layer in layers:
        i = bisect.bisect_right(layer.starts, frame) - 1
        if i >= 0:
            s, e, item, start_s = layer.items[i]
            if s <= frame < e:
                return item, start_s
    return None


def _merge(segments: list[Segment], rate: Fraction) -> list[Segment]:
    """Join neighbours that continue the same picture (through edits, split gaps)."""
    out: list[Segment] = []
    for seg in segments:
        if out and _continues(out[-1], seg, rate):
            prev = out[-1]
            out[-1] = Segment(
                prev.start_frame, seg.end_frame, prev.clip, prev.source_start_s, prev.speed
            )
        else:
            out.append(seg)
    return out


def _continues(prev: Segment, seg: Segment, rate: Fraction) -> bool:
    """True when ``seg`` shows what ``prev`` would have shown next (within half a frame)."""
    if prev.clip is None or seg.clip is None:
        return prev.clip is None and seg.clip is None
    same_media = prev.clip is seg.clip or (
        _media_url(prev.clip) is not None and _media_url(prev.clip) == _media_url(seg.clip)
    )
    if not same_media or prev.speed != seg.speed:
        return False
    expected = prev.source_start_s + float((seg.start_frame - prev.start_frame) / rate) * prev.speed
    return abs(expected - seg.source_start_s) < float(0.5 / rate)


def _media_url(clip: otio.schema.Clip) -> str | None:
    ref = getattr(clip, "media_reference", None)
    return getattr(ref, "target_url", None) or None


# ------------------------------------------------------------------- edits and markers


def edit_points(
    tl: LoadedTimeline, *, start_s: float = 0.0, end_s: float | None = None
) -> list[EditPoint]:
    """Every change of picture strictly inside ``start_s`` .. ``end_s``, in time order.

    A cut between clips joined by a transition is reported at the transition's midpoint
    (``kind="transition"``); cuts under upper tracks are not reported.
    """
    segments = visible_segments(tl, start_s=start_s, end_s=end_s)
    transitions = _transition_times(tl)
    points = []
    for prev, seg in zip(segments, segments[1:], strict=False):
        frame = seg.start_frame
        time_s = transitions.get(frame)
        kind = "cut" if time_s is None else "transition"
        time_s = tl.seconds(frame) if time_s is None else time_s
        points.append(EditPoint(time_s, tl.frame(time_s), kind, prev.name, seg.name))
    return points


def _transition_times(tl: LoadedTimeline) -> dict[int, float]:
    """Boundary frame → transition midpoint (seconds) over every video track, nested ones too."""
    found: dict[int, float] = {}

    def walk(stack: otio.schema.Stack, offset_s: float) -> None:
        for track in _video_tracks(stack):
            layer = _layer(track, tl, offset_s)
            found.update(layer.transitions)
            for _a, _b, item, item_start_s in layer.items:
                if isinstance(item, otio.schema.Stack):
                    walk(item, item_start_s - item.trimmed_range().start_time.to_seconds())

    walk(tl.timeline.tracks, 0.0)
    return found


def markers(
    tl: LoadedTimeline, *, start_s: float = 0.0, end_s: float | None = None
) -> list[TimelineMarker]:
    """Editor markers inside ``start_s`` .. ``end_s``: on the timeline, on tracks, and on the
    clips that are visible where the marker sits. Markers v2m wrote are left out."""
    end_s = tl.duration_s if end_s is None else end_s
    top = tl.timeline.tracks
    found: list[TimelineMarker] = []

    def add(owner_item, marker, owner: str) -> None:
        if marker.name.startswith(V2M_MARKER_PREFIX):
            return
        try:
            t = owner_item.transformed_time(marker.marked_range.start_time, top).to_seconds()
        except Exception:  # noqa: BLE001 — a marker OTIO cannot place is skipped
            return
        if start_s <= t <= end_s:
            frame = tl.frame(t)
            found.append(
                TimelineMarker(tl.seconds(frame), frame, marker.name, str(marker.color), owner)
            )

    for marker in top.markers:
        add(top, marker, "timeline")
    for track in top:
        for marker in track.markers:
            add(track, marker, f"track {track.name}")
    visible = {id(s.clip): s for s in visible_segments(tl) if s.clip is not None}
    for clip in top.find_clips():
        if not clip.markers or id(clip) not in visible:
            continue
        for marker in clip.markers:
            add(clip, marker, f"clip {clip.name}")
    found.sort(key=lambda m: m.time_s)
    return found


def selection(
    tl: LoadedTimeline,
    *,
    in_point: str | None = None,
    out_point: str | None = None,
    between_markers: tuple[str, str] | None = None,
) -> tuple[float, float]:
    """``(start_s, end_s)`` of a selection: in/out (timecode or seconds; either may be left
    out), the range between two markers named in ``between_markers`` (``("", "")``: the first
    two markers), or the whole timeline.

    Raises:
        SelectionError: unknown markers, an empty or reversed range, a range off the timeline.
    """
    if between_markers is not None:
        if in_point or out_point:
            raise SelectionError("give either in/out points or between_markers, not both")
        start, end = _marker_range(tl, between_markers)
    else:
        start = 0.0 if not in_point else tl.parse_time(in_point)
        end = tl.duration_s if not out_point else tl.parse_time(out_point)
    if not (0 <= start < end <= tl.duration_s + 0.5 / tl.rate_hz):
        raise SelectionError(
            f"selection {tl.timecode(start)} .. {tl.timecode(end)} is empty or outside the "
            f"timeline ({tl.timecode(0)} .. {tl.timecode(tl.duration_s)})"
        )
    return start, min(end, tl.duration_s)


def _marker_range(tl: LoadedTimeline, names: tuple[str, str]) -> tuple[float, float]:
    found = markers(tl)
    if not any(names):
        if len(found) < 2:
            raise SelectionError(
                f"between_markers needs two markers; {Path(tl.path).name!r} has {len(found)}"
            )
        return found[0].time_s, found[1].time_s
    times = []
    for name in names:
        hits = [m.time_s for m in found if m.name == name]
        if not hits:
            known = ", ".join(sorted({repr(m.name) for m in found})) or "none"
            raise SelectionError(f"no marker named {name!r}; markers: {known}")
        times.append(hits[0])
    return min(times), max(times)
