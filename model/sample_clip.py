"""Render sample clips with known cuts: the built-in demo, test media and benchmark media.

Each shot is a procedurally painted scene (a smooth random landscape in its own palette, with a
bright disc moving across it) seen by a slowly panning camera, so shots differ the way real
shots do and there is motion inside each shot. Cut times are exact: a cut at ``t`` means the
first frame at or after ``t`` is the first frame of the new shot.

The optional traps mirror real files: a non-zero start time, variable frame rate (dropped
frames keep their timestamps), a display-matrix rotation and non-square pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from v2m.model.errors import InvalidInputError
from v2m.model.media import AudioSignal

_TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class ClipSpec:
    """What to render. Times in seconds on the clip's own clock (first frame at 0)."""

    duration_s: float = 12.0
    cut_times_s: tuple[float, ...] = (2.5, 5.0, 8.2, 10.0)
    fps: Fraction = Fraction(30)
    width: int = 640
    height: int = 360
    seed: int = 0
    start_offset_s: float = 0.0
    """Presentation time of the first frame in the container (a non-zero start)."""
    drop_every: int = 0
    """Drop every n-th frame (variable frame rate); 0 keeps all."""
    rotation_deg: int = 0
    """Display-matrix rotation written to the stream (counter-clockwise degrees)."""
    sample_aspect_ratio: Fraction = Fraction(1)
    crf: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.duration_s <= 3600:
            raise InvalidInputError(f"duration_s must be in (0, 3600], got {self.duration_s}")
        if self.width % 2 or self.height % 2 or min(self.width, self.height) < 16:
            raise InvalidInputError(f"size must be even and >= 16, got {self.width}x{self.height}")
        if any(not 0 < t < self.duration_s for t in self.cut_times_s):
            raise InvalidInputError(
                f"cut times must lie inside (0, {self.duration_s}), got {self.cut_times_s}"
            )

    @property
    def frame_count(self) -> int:
        return int(round(self.duration_s * self.fps))

    def frame_time_s(self, index: int) -> float:
        return float(index / self.fps)

    def first_frames_of_shots(self) -> list[int]:
        """Index of the first frame of every shot after the first (one per cut)."""
        return [int(np.ceil(t * self.fps - 1e-9)) for t in self.cut_times_s]

    def is_kept(self, index: int) -> bool:
        """False for frames dropped to make the clip variable-rate."""
        return not (self.drop_every and index % self.drop_every == self.drop_every - 1)

    def cut_frame_times_s(self) -> list[float]:
        """Presentation time of the first *kept* frame of each new shot: the true cut times."""
        out = []
        for first in self.first_frames_of_shots():
            while not self.is_kept(first):
                first += 1
            out.append(self.frame_time_s(first))
        return out

    def shot_of(self, index: int) -> int:
        return int(np.searchsorted(self.first_frames_of_shots(), index, side="right"))


class _Shot:
    """A painted scene larger than the frame, panned across while a disc moves over it."""

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.w, self.h = width, height
        cw, ch = int(width * 1.3), int(height * 1.3)
        palette = rng.uniform(0, 255, size=(3, 3))
        coarse = rng.uniform(0, 1, size=(rng.integers(3, 7), rng.integers(4, 9), 3))
        base = cv2.resize(coarse.astype(np.float32), (cw, ch), interpolation=cv2.INTER_CUBIC)
        detail = cv2.resize(
            rng.uniform(0, 1, size=(ch // 8, cw // 8, 3)).astype(np.float32),
            (cw, ch),
            interpolation=cv2.INTER_LINEAR,
        )
        weights = np.clip(0.75 * base + 0.25 * detail, 0, 1)
        canvas = weights @ (palette / max(1.0, palette.sum(axis=0).max() / 255.0))
        self.canvas = np.clip(canvas, 0, 255).astype(np.uint8)
        for _ in range(rng.integers(3, 7)):  # a few hard-edged objects
            c = tuple(int(v) for v in rng.uniform(0, 255, 3))
            x, y = int(rng.integers(0, cw)), int(rng.integers(0, ch))
            r = int(rng.integers(min(cw, ch) // 20, min(cw, ch) // 5))
            cv2.circle(self.canvas, (x, y), r, c, -1)
        self.pan = rng.uniform(-1, 1, size=2) * np.array([cw - width, ch - height]) * 0.8
        self.disc_colour = tuple(int(v) for v in rng.uniform(150, 255, 3))
        self.disc_path = rng.uniform(0.15, 0.85, size=(2, 2))

    def frame(self, progress: float) -> np.ndarray:
        cw, ch = self.canvas.shape[1], self.canvas.shape[0]
        ox = int(np.clip((cw - self.w) / 2 + self.pan[0] * (progress - 0.5), 0, cw - self.w))
        oy = int(np.clip((ch - self.h) / 2 + self.pan[1] * (progress - 0.5), 0, ch - self.h))
        img = self.canvas[oy : oy + self.h, ox : ox + self.w].copy()
        p = self.disc_path[0] + (self.disc_path[1] - self.disc_path[0]) * progress
        centre = (int(p[0] * self.w), int(p[1] * self.h))
        cv2.circle(img, centre, max(2, self.h // 12), self.disc_colour, -1, lineType=cv2.LINE_AA)
        return img


def render_clip(
    path: str | os.PathLike, spec: ClipSpec | None = None, *, audio: AudioSignal | None = None
) -> ClipSpec:
    """Render ``spec`` as H.264 in an MP4 (or any container PyAV infers from ``path``).

    Args:
        audio: optional soundtrack, muxed as AAC; its ``start_s`` is on the clip's clock
            (0 = first frame), so a negative or positive start tests A/V alignment.

    Returns the spec, whose ``cut_frame_times_s()`` are the ground truth.
    """
    spec = spec or ClipSpec()
    rng = np.random.default_rng(spec.seed)
    shots = [_Shot(rng, spec.width, spec.height) for _ in range(len(spec.cut_times_s) + 1)]
    bounds = [0, *spec.first_frames_of_shots(), spec.frame_count]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height = spec.width, spec.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = _TIME_BASE
        stream.options = {"crf": str(spec.crf), "preset": "veryfast"}
        stream.codec_context.time_base = _TIME_BASE
        if spec.sample_aspect_ratio != 1:
            stream.codec_context.sample_aspect_ratio = spec.sample_aspect_ratio
        if spec.rotation_deg:
            stream.set_display_rotation(spec.rotation_deg)
        offset = round(spec.start_offset_s / _TIME_BASE)
        audio_stream = _add_audio(out, audio, spec.start_offset_s) if audio is not None else None
        for index in range(spec.frame_count):
            if not spec.is_kept(index):
                continue
            shot = spec.shot_of(index)
            first, last = bounds[shot], bounds[shot + 1]
            img = shots[shot].frame((index - first) / max(1, last - first - 1))
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = offset + round(Fraction(index) / spec.fps / _TIME_BASE)
            frame.time_base = _TIME_BASE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if audio_stream is not None:
            _write_audio(out, audio_stream, audio, spec.start_offset_s)
    return spec


def _add_audio(out, audio: AudioSignal, start_offset_s: float):
    stream = out.add_stream("aac", rate=audio.sample_rate_hz)
    stream.layout = "mono" if audio.samples.shape[0] == 1 else "stereo"
    stream.time_base = Fraction(1, audio.sample_rate_hz)
    return stream


def _write_audio(out, stream, audio: AudioSignal, start_offset_s: float) -> None:
    sr = audio.sample_rate_hz
    first = round((start_offset_s + audio.start_s) * sr)
    planar = np.ascontiguousarray(np.clip(audio.samples, -1, 1).astype(np.float32))
    for i in range(0, planar.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, i : i + 1024]), format="fltp", layout=stream.layout.name
        )
        frame.sample_rate = sr
        frame.pts = first + i
        frame.time_base = stream.time_base
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
