"""Rhythmic motion without cuts (dance, sport): tempo and beat phase from the ``motion`` curve.

The motion encoder's curve peaks where movement starts, stops or turns. When those accents
repeat, the curve's autocorrelation has a clear peak at the beat length; folding the curve at
that length gives the phase. The music then takes that tempo and phase, so its beats coincide
with the movement's beats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from v2m.model import curves as C
from v2m.model.analysis import AnalysisSettings, analyze

MIN_BPM, MAX_BPM = 60.0, 180.0
PERIODIC_MIN = 0.3
"""Normalized autocorrelation at the beat lag above which motion counts as periodic."""
_GRID_HZ = 100.0


@dataclass(frozen=True)
class MotionTempo:
    """Periodicity of movement in a clip (times from the selection's in point)."""

    periodic: bool
    strength: float
    """Normalized autocorrelation at ``beat_s`` (0..1)."""
    beat_s: float
    phase_s: float
    motion_beats_s: tuple[float, ...]
    """Peaks of the motion curve: the movement's own accents."""

    @property
    def bpm(self) -> float:
        return 60.0 / self.beat_s


def tempo_from_curve(values: np.ndarray, rate_hz: float) -> tuple[float, float, float]:
    """(beat_s, phase_s, strength) of a uniformly sampled curve's strongest beat-range period."""
    x = values - values.mean()
    n = len(x)
    lags = np.arange(int(rate_hz * 60 / MAX_BPM), min(n - 1, int(rate_hz * 60 / MIN_BPM)) + 1)
    if len(lags) == 0 or not np.any(x):
        return 60.0 / 120.0, 0.0, 0.0
    denom = float(np.dot(x, x))
    ac = np.array([np.dot(x[:-lag], x[lag:]) / denom * n / (n - lag) for lag in lags])
    # Prefer a tempo near 120 bpm among near-equal peaks (as beat trackers do).
    prior = np.exp(-0.5 * (np.log2(rate_hz * 60 / lags / 120.0) / 1.0) ** 2)
    best = int(np.argmax(ac * (0.8 + 0.2 * prior)))
    lag = lags[best]
    # Parabolic refinement of the lag.
    if 0 < best < len(ac) - 1:
        a, b, c = ac[best - 1], ac[best], ac[best + 1]
        denom2 = a - 2 * b + c
        lag = lag + (0.5 * (a - c) / denom2 if abs(denom2) > 1e-12 else 0.0)
    beat_s = float(lag / rate_hz)
    phases = np.arange(0, beat_s, 1 / rate_hz)
    t = np.arange(n) / rate_hz
    fold = [np.interp(np.arange(p, t[-1], beat_s), t, values).mean() for p in phases]
    return beat_s, float(phases[int(np.argmax(fold))]), float(np.clip(ac[best], 0, 1))


def find_motion_tempo(
    video_path: str | os.PathLike, *, start_s: float = 0.0, end_s: float | None = None
) -> MotionTempo:
    """Tempo, phase and motion beats of the movement in ``video_path`` (selection times)."""
    analysis = analyze(video_path, settings=AnalysisSettings(encoder="motion", kernel_size=1))
    end = analysis.duration_s if end_s is None else end_s
    c = analysis.curves
    inside = (c.raw_times_s >= start_s) & (c.raw_times_s < end)
    times, raw = c.raw_times_s[inside] - start_s, c.raw[inside]
    if len(raw) < 8:
        return MotionTempo(False, 0.0, 0.5, 0.0, ())
    n = int((end - start_s) * _GRID_HZ)
    grid = C.resample(raw, times, rate_hz=_GRID_HZ, start_s=0.5 / _GRID_HZ, n_samples=n)
    smooth = C.hann_smooth(grid, kernel_size=C.kernel_size_for(0.08, rate_hz=_GRID_HZ))
    beat_s, phase_s, strength = tempo_from_curve(smooth, _GRID_HZ)
    periodic = strength >= PERIODIC_MIN and (end - start_s) >= 3 * beat_s
    peaks = times[C.pick_peaks(raw, times, min_spacing_s=0.6 * beat_s, min_height=0.5)]
    if len(peaks) >= 2:  # the movement's own accents fix the phase best
        angles = np.exp(2j * np.pi * peaks / beat_s).mean()
        phase_s = float(np.angle(angles) % (2 * np.pi) / (2 * np.pi) * beat_s)
    else:
        phase_s += 0.5 / _GRID_HZ
    return MotionTempo(periodic, strength, beat_s, phase_s, tuple(float(t) for t in peaks))
