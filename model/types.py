"""Core value types shared by every stage (DESIGN §3). Times are float seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from v2m.model.errors import InvalidInputError

if TYPE_CHECKING:
    from v2m.model.options import ScoreOptions
    from v2m.model.tempo import TempoMap


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
        prompt: text describing the music (the user's, or described from the video).
        options: the user's settings (style, key, meter, stems, seed, backend options...).
        bpm: the tempo to take: the user's override, else a periodic movement's, else ``None``.
        tempo_hint: (beat_s, phase_s) of periodic motion to follow, or ``None``.
    """

    duration_s: float
    curve: EventCurve
    hits: tuple[Hit, ...]
    frame_rate_hz: float
    options: ScoreOptions
    prompt: str = ""
    bpm: float | None = None
    tempo_hint: tuple[float, float] | None = None


@dataclass(frozen=True)
class PlacedHit:
    """Where a hit landed: its planned time, where the music's accent is, the error.

    Times are seconds from the in point; ``beat`` counts from the first downbeat (.5 is the
    'and' of a beat)."""

    time_s: float
    kind: str
    strength: float
    beat: float
    achieved_s: float
    error_ms: float
    error_frames: float
    on_beat: bool
    on_downbeat: bool


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """A backend's output.

    Attributes:
        sample_rate: Hz of every audio array.
        stems: ``{name: float32[2, n]}`` at the mix's gain (they sum to the mix before the
            limiter).
        mix: float32[2, n], mastered.
        midi: a standard MIDI file, or ``None`` for audio-only backends.
        tempo_map: the beat grid.
        hit_report: per hit, where it landed.
        metadata: style, tempo, loudness, settings — JSON-ready.
    """

    sample_rate: int
    stems: dict[str, np.ndarray]
    mix: np.ndarray
    midi: bytes | None
    tempo_map: TempoMap
    hit_report: tuple[PlacedHit, ...]
    metadata: dict
