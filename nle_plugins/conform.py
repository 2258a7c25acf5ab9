"""Conform: the selection's picture decoded from the clips' source media, with no render.

Each visible segment (:func:`v2m.nle_plugins.timeline.visible_segments`) is decoded from its
source file — seeking to the clip's source in point, following a simple speed change — and
sampled on the timeline's frame grid, so the event curve describes the edit as the viewer sees
it. Gaps are black. Sources of another shape are fitted inside the first source's frame
(letterboxed), as an NLE shows them. A transition switches at its edit point (no blend).

Source files are found by their URL or path, then by name under the search paths (moved or
relative media); every missing file is listed in one :class:`MissingMediaError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from v2m.model.analysis import Analysis, AnalysisSettings, analyze_frames
from v2m.model.media import (
    DEFAULT_ANALYSIS_SIDE,
    MediaInfo,
    VideoFrame,
    VideoStreamInfo,
    analysis_size,
    iter_video_frames,
    probe,
)
from v2m.model.prefetch import prefetch
from v2m.model.types import Cut
from v2m.nle_plugins.errors import MissingMediaError, SelectionError
from v2m.nle_plugins.timeline import LoadedTimeline, Segment, edit_points, visible_segments


@dataclass(frozen=True)
class Conform:
    """What a selection shows and where its media lies."""

    timeline: LoadedTimeline
    start_s: float
    end_s: float
    segments: tuple[Segment, ...]
    media: dict[int, Path]
    """``id(segment.clip)`` → source file, for every segment that shows a clip."""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def media_path(url: str, *, timeline_dir: Path, search_paths: Sequence[Path] = ()) -> Path | None:
    """The file a media reference names: as given (``file://`` URL, absolute, or relative to
    the timeline's folder), else a file of that name under a search path."""
    parsed = urlparse(url)
    raw = unquote(parsed.path) if parsed.scheme == "file" else url
    raw = raw.replace("\\", "/")
    candidates = [Path(raw)] if Path(raw).is_absolute() else [timeline_dir / raw]
    name = Path(raw).name
    for root in search_paths:
        candidates += [Path(root) / raw.lstrip("/"), Path(root) / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    for root in search_paths:  # moved media: anywhere below a search path
        for found in Path(root).rglob(name):
            if found.is_file():
                return found.resolve()
    return None


def plan_conform(
    tl: LoadedTimeline,
    *,
    start_s: float,
    end_s: float,
    search_paths: Sequence[str | os.PathLike] = (),
    media_check: Callable[[Path], object] | None = None,
) -> Conform:
    """Segments of the selection and the source file of each; MissingMediaError lists every
    file that cannot be found. ``media_check(path)`` may refuse a found file by raising."""
    segments = tuple(visible_segments(tl, start_s=start_s, end_s=end_s))
    if not segments:
        raise SelectionError(f"selection {start_s:.3f} .. {end_s:.3f} s shows nothing")
    roots = [Path(p) for p in search_paths]
    timeline_dir = Path(tl.path).resolve().parent
    media: dict[int, Path] = {}
    missing: dict[str, str] = {}
    for seg in segments:
        if seg.clip is None or id(seg.clip) in media:
            continue
        url = getattr(seg.clip.media_reference, "target_url", None)
        found = url and media_path(url, timeline_dir=timeline_dir, search_paths=roots)
        if found:
            if media_check is not None:
                media_check(found)
            media[id(seg.clip)] = found
        else:
            missing.setdefault(url or f"(clip {seg.clip.name!r} has no media reference)", "")
    if missing:
        names = sorted(missing)
        raise MissingMediaError(
            f"{len(names)} source file(s) of the selection not found "
            f"(looked beside the timeline and under {[str(r) for r in roots] or 'no search paths'}"
            f"): " + "; ".join(names),
            names,
        )
    return Conform(tl, start_s, end_s, segments, media)


def conformed_media_info(conform: Conform) -> MediaInfo:
    """A MediaInfo describing the conformed picture: timeline rate, selection length, the
    first source's display shape."""
    first = next(iter(conform.media.values()), None)
    shape = probe(first).video if first is not None else None
    width, height = (shape.display_width, shape.display_height) if shape else (1920, 1080)
    rate = conform.timeline.rate_hz
    video = VideoStreamInfo(
        index=0,
        codec="conform",
        width=width,
        height=height,
        frame_rate_hz=rate,
        average_rate_hz=rate,
        rotation_deg=0,
        sample_aspect_ratio=Fraction(1),  # display shape: square pixels
        start_s=0.0,
        frame_count=conform.timeline.frame(conform.end_s) - conform.timeline.frame(conform.start_s),
    )
    return MediaInfo(
        path=conform.timeline.path,
        container="timeline",
        duration_s=conform.duration_s,
        origin_s=0.0,
        video=video,
        audio=(),
    )


def iter_conformed_frames(
    conform: Conform, *, max_side: int = DEFAULT_ANALYSIS_SIDE
) -> Iterator[VideoFrame]:
    """Every frame of the selection on the timeline's grid, ``time_s`` from the in point."""
    tl = conform.timeline
    info = conformed_media_info(conform)
    out_w, out_h = analysis_size(info.video, max_side=max_side)
    first_frame = tl.frame(conform.start_s)
    index = 0
    for seg in conform.segments:
        n = seg.end_frame - seg.start_frame
        if seg.clip is None:
            pictures = (np.zeros((out_h, out_w, 3), np.uint8) for _ in range(n))
        else:
            pictures = _segment_pictures(conform, seg, n, out_w, out_h)
        for rgb in pictures:
            time_s = tl.seconds(first_frame + index) - conform.start_s
            yield VideoFrame(index=index, time_s=time_s, rgb=rgb)
            index += 1


def _segment_pictures(conform: Conform, seg: Segment, n: int, out_w: int, out_h: int):
    """``n`` frames of one clip, sampled at its source times (sample and hold)."""
    tl = conform.timeline
    path = conform.media[id(seg.clip)]
    info = probe(path)
    ref = seg.clip.media_reference
    origin = ref.available_range.start_time.to_seconds() if ref.available_range else 0.0
    speed = max(seg.speed, 0.0)
    times = [seg.source_start_s - origin + k / tl.rate_hz * speed for k in range(n)]
    last_needed = times[-1] + 1.0 / info.video.frame_rate_hz
    frames = iter_video_frames(
        path, max_side=max(out_w, out_h), info=info, start_s=max(times[0], 0.0), end_s=last_needed
    )
    current = None
    half = 0.5 / info.video.frame_rate_hz
    for t in times:
        for frame in frames:
            current = frame
            if frame.time_s + half >= t:
                break
        yield _fit(current.rgb if current is not None else None, out_w, out_h)


def _fit(rgb: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """``rgb`` letterboxed into a black (height, width, 3) frame."""
    canvas = np.zeros((height, width, 3), np.uint8)
    if rgb is None:
        return canvas
    if rgb.shape[:2] == (height, width):
        return rgb
    import cv2

    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    w, h = max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))
    x, y = (width - w) // 2, (height - h) // 2
    canvas[y : y + h, x : x + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def analyze_selection(
    tl: LoadedTimeline,
    *,
    start_s: float,
    end_s: float,
    search_paths: Sequence[str | os.PathLike] = (),
    settings: AnalysisSettings | None = None,
    media_check: Callable[[Path], object] | None = None,
    progress: Callable[[float, str], None] | None = None,
    on_event: Callable[[str, object], None] | None = None,
) -> Analysis:
    """The selection's Analysis: curves from its conformed frames, cuts from its edit points
    (exact, confidence 1), on a clock that starts at the in point."""
    conform = plan_conform(
        tl, start_s=start_s, end_s=end_s, search_paths=search_paths, media_check=media_check
    )
    s = settings or AnalysisSettings()
    cuts = [
        Cut(time_s=p.time_s - start_s, confidence=1.0)
        for p in edit_points(tl, start_s=start_s, end_s=end_s)
    ]
    frames = prefetch(iter_conformed_frames(conform, max_side=s.frame_side_px))
    return analyze_frames(
        frames,
        media=conformed_media_info(conform),
        settings=s,
        progress=progress,
        on_event=on_event,
        cuts=cuts,
    )
