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
