"""Media analysis: one decode pass → features, cuts and event curves.

``analyze(path)`` is the first stage of every door (CLI, server, watch folder): for video it
decodes once, hands every frame to the cut detector and the frames on the analysis grid to the
encoder (in batches, so heavy encoders can use a GPU); for audio it decodes the music and runs a
music encoder. Both end in the same event-curve recipe.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from v2m.model import curves as C
from v2m.model.cuts import CutDetector, CutSettings
from v2m.model.encoders import MusicEncoder, VideoEncoder, create_encoder, encoder_entry
from v2m.model.errors import CorruptMediaError, InvalidInputError, NoStreamError
from v2m.model.media import (
    DEFAULT_ANALYSIS_SIDE,
    MediaInfo,
    VideoFrame,
    decode_audio,
    iter_video_frames,
    probe,
)
from v2m.model.prefetch import prefetch
from v2m.model.types import Cut

ProgressFn = Callable[[float, str], None]
"""Progress callback: (fraction done in [0, 1], stage name)."""
EventFn = Callable[[str, object], None]
"""Streaming callback while decoding: ``("curve", (times_s, dissimilarity))`` per batch of
frames (1 - cos, not yet standardized) and ``("cut", Cut)`` as cuts are found."""

_BATCH = 16
_THUMBNAILS = 10
_THUMB_HEIGHT = 48


@dataclass(frozen=True)
class AnalysisSettings:
    """How to analyse. Units are in the names; ``None`` means "decide from the media"."""

    encoder: str | None = None
    """Encoder name; default ``pixels`` for video, ``spectral`` for audio-only files."""
    weights_dir: str | None = None
    rate_hz: float = C.DEFAULT_RATE_HZ
    kernel_size: int = C.DEFAULT_KERNEL_SIZE
    analysis_fps: float | None = None
    """Encode frames at this rate (``None``: every frame). Cuts always use every frame."""
    frame_side_px: int = DEFAULT_ANALYSIS_SIDE
    min_peak_spacing_s: float = 0.25
    cuts: CutSettings = field(default_factory=CutSettings)

    def __post_init__(self) -> None:
        if not 0.5 <= self.rate_hz <= 200:
            raise InvalidInputError(f"curve rate must be 0.5..200 Hz, got {self.rate_hz}")
        if self.analysis_fps is not None and not 0.5 <= self.analysis_fps <= 240:
            raise InvalidInputError(
                f"analysis fps must be 0.5..240 frames per second, got {self.analysis_fps}"
            )
        C.hann_kernel(self.kernel_size)  # validates
        if self.encoder is not None:
            encoder_entry(self.encoder)  # validates the name early, before any decoding


@dataclass(frozen=True)
class Analysis:
    """Everything the later stages need from one media file.

    Attributes:
        media: probe result.
        modality: ``"video"`` or ``"music"`` — what the curve was computed from.
        encoder: encoder name.
        feature_times_s: float64[n] — time of each feature vector.
        curves: raw, resampled and smoothed event curves.
        peaks_s: float64[k] — times of raw-curve peaks, strongest events.
        cuts: hard cuts (video only).
        frame_rate_hz: nominal frame rate (video) — for errors in frames and timecode.
        thumbnails: (time_s, uint8[h, w, 3]) pairs, evenly spaced, for plots.
        settings: the settings used.
    """

    media: MediaInfo
    modality: str
    encoder: str
    feature_times_s: np.ndarray
    curves: C.CurveSet
    peaks_s: np.ndarray
    cuts: tuple[Cut, ...]
    frame_rate_hz: float | None
    thumbnails: tuple[tuple[float, np.ndarray], ...]
    settings: AnalysisSettings

    @property
    def duration_s(self) -> float:
        return self.media.duration_s


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    size = (max(1, round(w * _THUMB_HEIGHT / h)), _THUMB_HEIGHT)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _analyze_video(
    frames: Iterable[VideoFrame],
    info: MediaInfo,
    s: AnalysisSettings,
    encoder: VideoEncoder,
    progress: ProgressFn,
    on_event: EventFn,
    known_cuts: Sequence[Cut] | None,
) -> tuple[np.ndarray, np.ndarray, list[Cut], list]:
    v = info.video
    detector = CutDetector(frame_rate_hz=v.frame_rate_hz, settings=s.cuts)
    known = sorted(known_cuts or (), key=lambda c: c.time_s)
    pending = list(known)

    def is_known(cut: Cut) -> bool:
        return any(abs(cut.time_s - k.time_s) <= 1.5 / v.frame_rate_hz for k in known)

    feats: list[np.ndarray] = []
    times: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    batch_t: list[float] = []
    thumbs: list = []
    thumb_every = max(info.duration_s / _THUMBNAILS, 1e-6)
    next_thumb = 0.0
    next_tick = 0.0
    step = None if s.analysis_fps is None else 1.0 / s.analysis_fps
    half_frame = 0.5 / v.frame_rate_hz
    duration = max(info.duration_s, 1e-6)

    def flush() -> None:
        if batch:
            f, t = encoder.encode(np.stack(batch), np.asarray(batch_t))
            if feats:  # join the previous batch's last frame to this batch
                f_pair, t_pair = (
                    np.concatenate([feats[-1][-1:], f]),
                    np.concatenate([times[-1][-1:], t]),
                )
            else:
                f_pair, t_pair = f, t
            if len(f_pair) >= 2:
                on_event("curve", (C.midpoints(t_pair), C.dissimilarity(f_pair)))
            feats.append(f)
            times.append(t)
            batch.clear()
            batch_t.clear()

    for frame in frames:
        for cut in detector.push(frame.rgb, frame.time_s):
            if not is_known(cut):
                on_event("cut", cut)
        while pending and pending[0].time_s <= frame.time_s + half_frame:
            on_event("cut", pending.pop(0))
        if step is None or frame.time_s + half_frame >= next_tick:
            if step is not None:
                next_tick = (np.floor(frame.time_s / step + 0.5) + 1) * step
            batch.append(frame.rgb)
            batch_t.append(frame.time_s)
            if len(batch) >= _BATCH:
                flush()
        if frame.time_s >= next_thumb:
            thumbs.append((frame.time_s, _thumbnail(frame.rgb)))
            next_thumb += thumb_every
        if frame.index % 8 == 0:
            progress(min(frame.time_s / duration, 1.0), "analysing video")
    flush()
    if not feats:
        raise CorruptMediaError(f"{info.path!r}: no video frames to analyse")
    found = [c for c in detector.finish() if not is_known(c)]
    cuts = sorted([*known, *found], key=lambda c: c.time_s)
    return np.concatenate(feats), np.concatenate(times), cuts, thumbs


def analyze(
    path: str | os.PathLike,
    *,
    settings: AnalysisSettings | None = None,
    progress: ProgressFn | None = None,
    on_event: EventFn | None = None,
) -> Analysis:
    """Analyse a video or audio file into event curves, peaks and (for video) cuts.

    Args:
        path: video (curve from frames) or audio file (curve from the music).
        settings: see :class:`AnalysisSettings`; defaults suit an editor's preview.
        progress: called with (fraction, stage) as decoding advances.
        on_event: called with curve chunks and cuts while decoding (see :data:`EventFn`).

    Raises:
        MediaError subclasses for unreadable media; NoStreamError when a video encoder is asked
        for on an audio-only file (or the reverse); UnknownNameError for an unknown encoder.
    """
    s = settings or AnalysisSettings()
    progress = progress or (lambda fraction, stage: None)
    path = str(path)
    info = probe(path)
    name = s.encoder or ("pixels" if info.has_video else "spectral")
    entry = encoder_entry(name)
    if entry.modality == "video" and not info.has_video:
        raise NoStreamError(
            f"encoder {name!r} reads video, but {path!r} has no video stream; "
            "use a music encoder (spectral, mert) for audio files"
        )
    if entry.modality == "music" and not info.has_audio:
        raise NoStreamError(f"encoder {name!r} reads music, but {path!r} has no audio stream")
    if entry.modality == "video":
        frames = prefetch(iter_video_frames(path, max_side=s.frame_side_px, info=info))
        return analyze_frames(frames, media=info, settings=s, progress=progress, on_event=on_event)
    encoder = create_encoder(name, weights_dir=s.weights_dir)
    assert isinstance(encoder, MusicEncoder)
    progress(0.0, "decoding audio")
    audio = decode_audio(path, sample_rate_hz=encoder.sample_rate_hz, info=info)
    progress(0.3, "encoding music")
    features, times = encoder.encode(audio)
    return _finish(info, "music", name, features, times, [], [], s, progress)


def analyze_frames(
    frames: Iterable[VideoFrame],
    *,
    media: MediaInfo,
    settings: AnalysisSettings | None = None,
    progress: ProgressFn | None = None,
    on_event: EventFn | None = None,
    cuts: Sequence[Cut] | None = None,
) -> Analysis:
    """Analyse a stream of video frames (``media`` describes them: rate, duration, size).

    The door for pictures that are not one file: a conformed timeline selection, say. Frames
    must share one size and come in time order. ``cuts`` known beforehand (a timeline's edit
    points) are reported exactly; detection still finds the cuts inside the clips.
    """
    s = settings or AnalysisSettings()
    progress = progress or (lambda fraction, stage: None)
    name = s.encoder or "pixels"
    entry = encoder_entry(name)
    if entry.modality != "video":
        raise InvalidInputError(f"encoder {name!r} reads music; frames need a video encoder")
    encoder = create_encoder(name, weights_dir=s.weights_dir)
    assert isinstance(encoder, VideoEncoder)
    features, times, found, thumbs = _analyze_video(
        frames, media, s, encoder, progress, on_event or (lambda kind, data: None), cuts
    )
    return _finish(media, "video", name, features, times, found, thumbs, s, progress)


def _finish(
    info: MediaInfo,
    modality: str,
    name: str,
    features: np.ndarray,
    times: np.ndarray,
    cuts: list[Cut],
    thumbs: list,
    s: AnalysisSettings,
    progress: ProgressFn,
) -> Analysis:
    """Features → event curves, peaks and the Analysis record (both modalities)."""
    path = info.path
    if len(features) < 2:
        raise CorruptMediaError(
            f"{path!r} is too short to analyse: {len(features)} feature frame(s) "
            f"({info.duration_s:.3f} s); need at least 2"
        )
    progress(0.95, "event curve")
    curve_set = C.event_curve(
        features,
        times,
        rate_hz=s.rate_hz,
        kernel_size=s.kernel_size,
        start_s=0.0,
        duration_s=max(info.duration_s, float(times[-1])),
        source=f"{modality}:{name}",
    )
    peaks = C.pick_peaks(
        curve_set.raw, curve_set.raw_times_s, min_spacing_s=s.min_peak_spacing_s, min_height=1.0
    )
    progress(1.0, "done")
    return Analysis(
        media=info,
        modality=modality,
        encoder=name,
        feature_times_s=times,
        curves=curve_set,
        peaks_s=curve_set.raw_times_s[peaks],
        cuts=tuple(cuts),
        frame_rate_hz=info.video.frame_rate_hz if info.video else None,
        thumbnails=tuple(thumbs),
        settings=s,
    )
