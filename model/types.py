"""Core value types shared by every stage (DESIGN §3). Times are float seconds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m.model.errors import InvalidInputError


@dataclass(frozen=True, eq=False)
class EventCurve:
    """A uniformly sampled event curve.

    Attributes:
        values: float32[n] — curve value per sample (standardized units).
        rate_hz: samples per second.
        start_s: time of ``values[0]``.
        source: what produced it, e.g. ``"video:pixels"`` or ``"music:spectral"``.
    """

    values: np.ndarray
    rate_hz: float
    start_s: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if self.values.ndim != 1:
            raise InvalidInputError(f"EventCurve values must be 1-D, got shape {self.values.shape}")
        if not self.rate_hz > 0:
            raise InvalidInputError(f"EventCurve rate_hz must be > 0, got {self.rate_hz}")

    @property
    def times_s(self) -> np.ndarray:
        """float64[n] — time of each sample."""
        return self.start_s + np.arange(len(self.values)) / self.rate_hz

    @property
    def duration_s(self) -> float:
        return len(self.values) / self.rate_hz


@dataclass(frozen=True)
class Cut:
    """A hard cut: ``time_s`` is the presentation time of the first frame of the new shot."""

    time_s: float
    confidence: float


@dataclass(frozen=True)
class Hit:
    """A moment the music must accent. ``kind``: cut, marker, peak or motion_beat."""

    time_s: float
    strength: float
    kind: str


@dataclass(frozen=True)
class ScoreRequest:
    """What a backend is asked to score. Times are seconds from the selection's in point.

    Attributes:
        duration_s: length of the music.
        curve: smoothed video event curve over the selection.
        hits: the hit plan.
        frame_rate_hz: the picture's rate (tolerances and errors in frames).
        prompt: text describing the music (user's, or described from the video).
        style: preset name to force (``None``: chosen from the prompt).
        bpm, key, meter, stems: explicit overrides (``None``: from the prompt or style).
        seed: the only source of randomness.
        tempo_hint: (beat_s, phase_s) of periodic motion to follow, or ``None``.
    """

    duration_s: float
    curve: EventCurve
    hits: tuple[Hit, ...]
    frame_rate_hz: float
    prompt: str = ""
    style: str | None = None
    bpm: float | None = None
    key: str | None = None
    meter: int | None = None
    stems: tuple[str, ...] | None = None
    seed: int = 0
    tempo_hint: tuple[float, float] | None = None


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """A backend's output.

    Attributes:
        sample_rate: Hz of every audio array.
        stems: ``{name: float32[2, n]}`` at the mix's gain (they sum to the mix before the
            limiter).
        mix: float32[2, n], mastered.
        midi: a standard MIDI file, or ``None`` for audio-only backends.
        tempo_map: the beat grid (``v2m.model.tempo.TempoMap``), or ``None``.
        hit_report: per hit: planned time, achieved time, error (ms, frames), beat, downbeat.
        metadata: style, tempo, loudness, settings — JSON-ready.
    """

    sample_rate: int
    stems: dict
    mix: np.ndarray
    midi: bytes | None
    tempo_map: object
    hit_report: tuple
    metadata: dict
