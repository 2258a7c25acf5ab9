"""Media probing and decoding with PyAV.

One clock for everything: a media file's time 0 is the presentation time of its first video
frame (or, for audio-only files, of its first audio sample). Frame times are the frames' own
presentation timestamps on that clock, so variable frame rate, non-zero start times and dropped
frames come out right. Frames are yielded upright (the display-matrix rotation is applied) and
at the display aspect ratio (non-square pixels are resampled square).

Decoding is threaded (``thread_type = "AUTO"``) and streaming: frames are scaled to the small
analysis size inside FFmpeg and handed out one at a time, so a long video never sits in memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from v2m.model.errors import (
    CorruptMediaError,
    InvalidInputError,
    MediaNotFoundError,
    NoStreamError,
    UnsupportedMediaError,
)

MAX_FRAME_PIXELS = 8192 * 8192
"""Largest coded frame we accept (8K is 7680x4320); bigger headers are refused, not decoded."""

DEFAULT_ANALYSIS_SIDE = 256
"""Longer side of analysis frames in pixels (PySceneDetect's own default working width)."""

_TRUNCATION_SLACK_S = 0.5
_INTERPOLATION = "AREA"


@dataclass(frozen=True)
class VideoStreamInfo:
    """The first real video stream (cover-art images are not video).

    ``width``/``height`` are the coded size; ``display_width``/``display_height`` what a player
    shows after the sample aspect ratio and the rotation are applied.
    """

    index: int
    codec: str
    width: int
    height: int
    frame_rate_hz: float
    """Nominal frame rate (the rate a timeline would use; for VFR files the nominal grid)."""
    average_rate_hz: float
    """Frames actually coded per second (lower than nominal when frames were dropped)."""
    rotation_deg: int
    """Counter-clockwise rotation a player applies to show the frame upright (-90, 0, 90, 180)."""
    sample_aspect_ratio: Fraction
    start_s: float
    """First presentation time on the container clock."""
    frame_count: int | None

    @property
    def display_width(self) -> int:
        w = round(self.width * float(self.sample_aspect_ratio))
        return self.height if self.rotation_deg % 180 else w

    @property
    def display_height(self) -> int:
        w = round(self.width * float(self.sample_aspect_ratio))
        return w if self.rotation_deg % 180 else self.height

    @property
    def is_variable_rate(self) -> bool:
        return abs(self.average_rate_hz - self.frame_rate_hz) > 0.01 * self.frame_rate_hz


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate_hz: int
    channels: int
    start_s: float


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` learns about a file without decoding it all."""

    path: str
    container: str
    duration_s: float
    """Length on the media clock (from time 0 to the end of the longest stream)."""
    origin_s: float
    """Container time that the media clock calls 0 (the first video frame, else first audio)."""
    video: VideoStreamInfo | None
    audio: tuple[AudioStreamInfo, ...]

    @property
    def has_video(self) -> bool:
        return self.video is not None

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)


@dataclass(frozen=True)
class VideoFrame:
    """One decoded analysis frame.

    Attributes:
        index: position among all decoded frames (0-based).
        time_s: presentation time on the media clock.
        rgb: uint8[h, w, 3], upright, square pixels.
    """

    index: int
    time_s: float
    rgb: np.ndarray


@dataclass(frozen=True)
class AudioSignal:
    """Decoded audio. ``samples``: float32[channels, n] in [-1, 1], sample 0 at ``start_s``."""

    samples: np.ndarray
    sample_rate_hz: int
    start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz

    @property
    def mono(self) -> np.ndarray:
        """float32[n] — the channel mean."""
        return self.samples.mean(axis=0)


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise MediaNotFoundError(f"media file not found: {str(p)!r}")
    if p.is_dir():
        raise InvalidInputError(f"expected a media file, got a directory: {str(p)!r}")
    if p.stat().st_size == 0:
        raise CorruptMediaError(f"media file is empty (0 bytes): {str(p)!r}")
    try:
        return av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(
            f"cannot read {str(p)!r} as media ({exc.strerror or exc}); "
            "is it a truncated or non-media file?"
        ) from exc


def _real_video_streams(container) -> list:
    """Video streams that are moving pictures, not attached cover art."""
    return [
        s
        for s in container.streams.video
        if not (s.disposition & av.stream.Disposition.attached_pic)
    ]


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _first_rotation(container, stream) -> int:
    """Rotation of the first decodable frame (the display matrix lives in frame side data)."""
    try:
        for frame in container.decode(stream):
            return int(round(frame.rotation / 90.0)) * 90 % 360 if frame.rotation else 0
    except av.error.FFmpegError:
        return 0
    return 0


def _normalise_rotation(deg: int) -> int:
    """Map 270 → -90 so the value reads as PyAV reports it."""
    return deg - 360 if deg > 180 else deg


def probe(path: str | os.PathLike) -> MediaInfo:
    """Describe a media file: duration, streams, rate, rotation, pixel aspect, start offset.

    Raises:
        MediaNotFoundError: the path does not exist.
        CorruptMediaError: the file is empty or not media FFmpeg can parse.
        UnsupportedMediaError: the video codec has no decoder, or the frame is too large.
    """
    with _open(path) as container:
        videos = _real_video_streams(container)
        video = None
        if videos:
            s = videos[0]
            cc = s.codec_context
            if cc is None or not cc.name:
                raise UnsupportedMediaError(
                    f"{str(path)!r}: video stream {s.index} uses a codec this FFmpeg cannot decode"
                )
            if cc.width <= 0 or cc.height <= 0:
                raise CorruptMediaError(f"{str(path)!r}: video stream has no frame size")
            if cc.width * cc.height > MAX_FRAME_PIXELS:
                raise UnsupportedMediaError(
                    f"{str(path)!r}: frame size {cc.width}x{cc.height} is larger than the "
                    f"supported maximum of {MAX_FRAME_PIXELS} pixels (8192x8192)"
                )
            nominal = s.guessed_rate or s.base_rate or s.average_rate
            average = s.average_rate or nominal
            if not nominal:
                raise CorruptMediaError(f"{str(path)!r}: video stream has no frame rate")
            sar = s.sample_aspect_ratio or cc.sample_aspect_ratio
            sar = Fraction(sar) if sar and sar > 0 else Fraction(1)
            video = VideoStreamInfo(
                index=s.index,
                codec=cc.name,
                width=cc.width,
                height=cc.height,
                frame_rate_hz=float(nominal),
                average_rate_hz=float(average),
                rotation_deg=_normalise_rotation(_first_rotation(container, s)),
                sample_aspect_ratio=sar,
                start_s=_seconds(s.start_time, s.time_base) or 0.0,
                frame_count=s.frames or None,
            )
        audio = tuple(
            AudioStreamInfo(
                index=s.index,
                codec=s.codec_context.name if s.codec_context else "unknown",
                sample_rate_hz=s.codec_context.sample_rate if s.codec_context else 0,
                channels=s.codec_context.channels if s.codec_context else 0,
                start_s=_seconds(s.start_time, s.time_base) or 0.0,
            )
            for s in container.streams.audio
        )
        if video is None and not audio:
            raise NoStreamError(f"{str(path)!r} has neither a video nor an audio stream")
        origin = video.start_s if video else audio[0].start_s
        container_end = (
            container.duration / av.time_base + (container.start_time or 0) / av.time_base
            if container.duration
            else None
        )
        stream_ends = []
        for s in ([videos[0]] if videos else []) + list(container.streams.audio):
            start, dur = _seconds(s.start_time, s.time_base), _seconds(s.duration, s.time_base)
            if dur:
                stream_ends.append((start or 0.0) + dur)
        end = max(stream_ends) if stream_ends else container_end
        if end is None:
            raise CorruptMediaError(f"{str(path)!r}: duration is unknown")
        return MediaInfo(
            path=str(path),
            container=container.format.name,
            duration_s=max(0.0, end - origin),
            origin_s=origin,
            video=video,
            audio=audio,
        )


def analysis_size(
    video: VideoStreamInfo, *, max_side: int = DEFAULT_ANALYSIS_SIDE
) -> tuple[int, int]:
    """(width, height) of upright analysis frames: longer side ``max_side``, display aspect."""
    if not 16 <= max_side <= 4096:
        raise InvalidInputError(f"analysis size must be 16..4096 pixels, got {max_side}")
    dw, dh = video.display_width, video.display_height
    if dw >= dh:
        return max_side, max(2, 2 * round(max_side * dh / dw / 2))
    return max(2, 2 * round(max_side * dw / dh / 2)), max_side


def iter_video_frames(
    path: str | os.PathLike,
    *,
    max_side: int = DEFAULT_ANALYSIS_SIDE,
    rate_hz: float | None = None,
    info: MediaInfo | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> Iterator[VideoFrame]:
    """Decode the first video stream as small upright RGB frames, in presentation order.

    Args:
        max_side: longer side of the analysis frames in pixels; the other follows the display
            aspect ratio.
        rate_hz: keep only the frame nearest each tick of a ``rate_hz`` grid (frames between
            ticks are decoded, as codecs require, but not converted). ``None`` keeps every frame.
        info: a :func:`probe` result for ``path``, to skip probing twice.
        start_s, end_s: decode only the frames showing in this range of the media clock (the
            frame on screen at ``start_s`` first; a seek, not a decode from the start).

    Yields:
        :class:`VideoFrame` with ``rgb`` uint8[h, w, 3] and ``time_s`` on the media clock.

    Raises:
        NoStreamError: the file has no video stream (audio-only, or only cover art).
        CorruptMediaError: nothing decodes, or the stream ends well before its declared length.
    """
    info = info or probe(path)
    if info.video is None:
        raise NoStreamError(
            f"{str(path)!r} has no video stream (streams: "
            f"{', '.join(a.codec + ' audio' for a in info.audio) or 'none'}); "
            "use a music encoder such as 'spectral' for audio files"
        )
    if rate_hz is not None and not (0 < rate_hz <= 1000):
        raise InvalidInputError(f"rate_hz must be in (0, 1000] frames per second, got {rate_hz}")
    v = info.video
    out_w, out_h = analysis_size(v, max_side=max_side)
    coded_w, coded_h = (out_h, out_w) if v.rotation_deg % 180 else (out_w, out_h)
    turns = (v.rotation_deg // 90) % 4  # np.rot90 turns counter-clockwise, like the matrix
    next_tick = 0.0
    index = -1
    last_time = None
    ranged = start_s > 0 or end_s is not None
    half_frame_s = 0.5 / v.frame_rate_hz
    with _open(path) as container:
        stream = container.streams[v.index]
        stream.thread_type = "AUTO"
        if start_s > 0:
            target = int((start_s + info.origin_s) / stream.time_base)
            container.seek(target, stream=stream, backward=True)
        try:
            held = None  # the frame on screen at start_s (last one before it)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                index += 1
                time_s = float(frame.pts * frame.time_base) - info.origin_s
                if ranged:
                    if end_s is not None and time_s >= end_s - half_frame_s:
                        break
                    if time_s < start_s - half_frame_s:
                        held = (index, time_s, frame)
                        continue
                    if held is not None and time_s > start_s + half_frame_s:
                        # start_s falls between frames: the earlier one is on screen.
                        yield _video_frame(held[2], held[0], held[1], coded_w, coded_h, turns)
                    held = None
                if rate_hz is not None:
                    if time_s + 0.5 / v.frame_rate_hz < next_tick:
                        continue
                    next_tick = (math.floor(time_s * rate_hz + 0.5) + 1) / rate_hz
                last_time = time_s
                yield _video_frame(frame, index, time_s, coded_w, coded_h, turns)
            if held is not None:  # start_s lies after the last frame: it stays on screen
                last_time = held[1]
                yield _video_frame(held[2], held[0], held[1], coded_w, coded_h, turns)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(
                f"{str(path)!r}: video decoding failed after {index + 1} frames "
                f"({exc.strerror or exc}); the file is probably truncated or damaged"
            ) from exc
    if last_time is None:
        raise CorruptMediaError(f"{str(path)!r}: the video stream holds no decodable frames")
    if ranged:
        return
    declared = info.duration_s
    frame_s = 1.0 / v.frame_rate_hz
    if last_time + frame_s < 0.9 * declared - _TRUNCATION_SLACK_S:
        raise CorruptMediaError(
            f"{str(path)!r} is truncated: video frames end at {last_time:.2f} s but the file "
            f"declares {declared:.2f} s"
        )


def _video_frame(frame, index: int, time_s: float, width: int, height: int, turns: int):
    rgb = frame.to_ndarray(width=width, height=height, format="rgb24", interpolation=_INTERPOLATION)
    if turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
    return VideoFrame(index=index, time_s=time_s, rgb=rgb)


def decode_audio(
    path: str | os.PathLike,
    *,
    sample_rate_hz: int = 22050,
    channels: int = 1,
    info: MediaInfo | None = None,
) -> AudioSignal:
    """Decode the first audio stream to float32 at ``sample_rate_hz``, aligned to the media clock.

    Sample 0 is media time 0: audio that starts later is padded with silence, audio that starts
    before the first video frame is trimmed.

    Returns:
        :class:`AudioSignal` with ``samples`` float32[channels, n].

    Raises:
        NoStreamError: the file has no audio stream.
        InvalidInputError: ``channels`` is not 1 or 2, or the rate is out of range.
    """
    if channels not in (1, 2):
        raise InvalidInputError(f"channels must be 1 (mono) or 2 (stereo), got {channels}")
    if not (1000 <= sample_rate_hz <= 384000):
        raise InvalidInputError(
            f"sample_rate_hz must be between 1000 and 384000 Hz, got {sample_rate_hz}"
        )
    info = info or probe(path)
    if not info.audio:
        raise NoStreamError(f"{str(path)!r} has no audio stream")
    chunks: list[np.ndarray] = []
    first_time = None
    resampler = av.AudioResampler(
        format="fltp", layout="mono" if channels == 1 else "stereo", rate=sample_rate_hz
    )
    with _open(path) as container:
        stream = container.streams[info.audio[0].index]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.pts is not None:
                    first_time = float(frame.pts * frame.time_base) - info.origin_s
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(
                f"{str(path)!r}: audio decoding failed ({exc.strerror or exc}); "
                "the file is probably truncated or damaged"
            ) from exc
    if not chunks:
        raise CorruptMediaError(f"{str(path)!r}: the audio stream holds no decodable samples")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    offset = round((first_time or 0.0) * sample_rate_hz)
    if offset > 0:
        samples = np.pad(samples, ((0, 0), (offset, 0)))
    elif offset < 0:
        samples = samples[:, -offset:]
    return AudioSignal(samples=np.ascontiguousarray(samples), sample_rate_hz=sample_rate_hz)
