"""V2M-Zero event curves (paper §3.2, Eqs. 2–4; DESIGN §4).

The recipe is the same for video frames and music hops:

1. ``a[k] = 1 - cos(f[k], f[k+1])``, stamped at the midpoint of the two feature times;
2. standardize over the clip, ``(a - mean) / std`` (a constant curve becomes zeros);
3. resample onto a uniform grid at ``rate_hz``;
4. smooth with a normalized Hann window of ``kernel_size`` samples.

The *raw* curve (after step 2, at the midpoint times) keeps every frame-accurate spike; peaks
and hits are picked on it. The smoothed curve is what a generator is conditioned on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from v2m.model.errors import InvalidInputError
from v2m.model.types import EventCurve

DEFAULT_RATE_HZ = 12.5
"""Default curve rate for previews and the composer (the paper's latent rate is ~12.3 Hz)."""
DEFAULT_KERNEL_SIZE = 31
"""Paper default Hann kernel: 31 samples (about 2.5 s at 12.5 Hz)."""

_EPS = 1e-12


def dissimilarity(features: np.ndarray) -> np.ndarray:
    """``1 - cos`` between consecutive feature vectors (paper Eq. 2).

    Args:
        features: float[n, d], one row per frame or audio hop.

    Returns:
        float64[n - 1]: ``a[k] = 1 - <f[k], f[k+1]> / (|f[k]| |f[k+1]|)``; a pair with a zero
        vector has cosine 0 (dissimilarity 1).
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise InvalidInputError(f"features must be 2-D [frames, dims], got shape {f.shape}")
    if len(f) < 2:
        raise InvalidInputError(f"need at least 2 feature vectors for a curve, got {len(f)}")
    norms = np.linalg.norm(f, axis=1)
    dots = np.einsum("ij,ij->i", f[:-1], f[1:])
    cos = dots / np.maximum(norms[:-1] * norms[1:], _EPS)
    return 1.0 - np.clip(cos, -1.0, 1.0)


def midpoints(times_s: np.ndarray) -> np.ndarray:
    """float64[n - 1]: the midpoint time of each consecutive pair of ``times_s`` (float[n])."""
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2:
        raise InvalidInputError(f"times must be 1-D with at least 2 entries, got shape {t.shape}")
    if np.any(np.diff(t) <= 0):
        raise InvalidInputError("times must be strictly increasing")
    return 0.5 * (t[:-1] + t[1:])


def standardize(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the clip (Eq. 3); a constant input gives zeros, not NaN."""
    a = np.asarray(values, dtype=np.float64)
    std = a.std()
    if not np.isfinite(std) or std < 1e-9 * max(1.0, float(np.abs(a).max(initial=0.0))):
        return np.zeros_like(a)
    return (a - a.mean()) / std


def resample(
    values: np.ndarray,
    times_s: np.ndarray,
    *,
    rate_hz: float,
    start_s: float,
    n_samples: int,
) -> np.ndarray:
    """Resample a curve given at (possibly irregular) times onto a uniform grid.

    The input is read as the piecewise-linear function through ``(times_s, values)``, held
    constant beyond its ends. Output sample ``j`` is that function's *mean* over the bin
    ``start_s + j / rate_hz ± 1 / (2 rate_hz)``. Upsampling this is linear interpolation; when
    downsampling it is an anti-aliasing box filter, so a one-frame spike (a cut) keeps its area
    instead of falling between grid points.

    Args:
        values: float[n]; times_s: float[n], strictly increasing.
        rate_hz: output rate; start_s: time of output sample 0; n_samples: output length.

    Returns:
        float64[n_samples].
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if v.shape != t.shape or v.ndim != 1 or len(v) == 0:
        raise InvalidInputError(f"values {v.shape} and times {t.shape} must be equal 1-D shapes")
    if not rate_hz > 0:
        raise InvalidInputError(f"rate_hz must be > 0, got {rate_hz}")
    if n_samples < 1:
        raise InvalidInputError(f"n_samples must be >= 1, got {n_samples}")
    centres = start_s + np.arange(n_samples) / rate_hz
    if len(v) == 1:
        return np.full(n_samples, v[0])
    half = 0.5 / rate_hz
    # Cumulative integral of the piecewise-linear function at its knots, extended by constant
    # segments so that every bin edge lies inside the knot range.
    lo, hi = min(t[0], centres[0] - half) - 1.0, max(t[-1], centres[-1] + half) + 1.0
    knots_t = np.concatenate([[lo], t, [hi]])
    knots_v = np.concatenate([[v[0]], v, [v[-1]]])
    cum = np.concatenate([[0.0], np.cumsum(np.diff(knots_t) * 0.5 * (knots_v[1:] + knots_v[:-1]))])

    def integral(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(knots_t, x, side="right") - 1, 0, len(knots_t) - 2)
        dt = x - knots_t[i]
        slope = (knots_v[i + 1] - knots_v[i]) / (knots_t[i + 1] - knots_t[i])
        return cum[i] + dt * (knots_v[i] + 0.5 * slope * dt)

    return (integral(centres + half) - integral(centres - half)) / (2 * half)


def hann_kernel(kernel_size: int) -> np.ndarray:
    """float64[kernel_size]: a Hann window with no zero end taps, normalized to sum 1."""
    if not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1 or kernel_size % 2 == 0:
        raise InvalidInputError(f"kernel_size must be a positive odd integer, got {kernel_size!r}")
    w = np.hanning(kernel_size + 2)[1:-1]
    return w / w.sum()


def hann_smooth(values: np.ndarray, *, kernel_size: int = DEFAULT_KERNEL_SIZE) -> np.ndarray:
    """Normalized Hann smoothing (Eq. 4's Smooth), same length, zero padding.

    Zero is the clip mean of a standardized curve, so padding with zeros fades the edges
    towards "average activity". ``kernel_size`` 1 returns the input.
    """
    v = np.asarray(values, dtype=np.float64)
    return np.convolve(v, hann_kernel(kernel_size), mode="same")


@dataclass(frozen=True)
class CurveSet:
    """The three views of one event curve.

    Attributes:
        raw_times_s: float64[n-1] — midpoint times of consecutive features.
        raw: float64[n-1] — standardized dissimilarity at those times (Eqs. 2–3).
        resampled: the raw curve on the uniform grid (Resample of Eq. 4), unsmoothed.
        smoothed: ``e`` of Eq. 4.
        kernel_size: Hann kernel length in samples of ``smoothed``.
    """

    raw_times_s: np.ndarray
    raw: np.ndarray
    resampled: EventCurve
    smoothed: EventCurve
    kernel_size: int


def event_curve(
    features: np.ndarray,
    times_s: np.ndarray,
    *,
    rate_hz: float = DEFAULT_RATE_HZ,
    kernel_size: int = DEFAULT_KERNEL_SIZE,
    start_s: float = 0.0,
    duration_s: float | None = None,
    source: str = "",
) -> CurveSet:
    """Features → event curves, the paper's recipe end to end.

    Args:
        features: float[n, d]; times_s: float64[n] — time of each feature vector.
        rate_hz: rate of the uniform curves; kernel_size: odd Hann length in those samples.
        start_s, duration_s: the span the uniform curves cover (default: 0 to the last time).
        source: label stored in the curves, e.g. ``"video:pixels"``.
    """
    a = dissimilarity(features)
    t = midpoints(times_s)
    raw = standardize(a)
    if duration_s is None:
        duration_s = float(np.asarray(times_s)[-1]) - start_s
    n = max(1, int(round(duration_s * rate_hz)))
    # Grid samples sit at bin centres so that sample j covers [start + j/r, start + (j+1)/r).
    grid_start = start_s + 0.5 / rate_hz
    uniform = resample(raw, t, rate_hz=rate_hz, start_s=grid_start, n_samples=n)
    smooth = hann_smooth(uniform, kernel_size=kernel_size)
    return CurveSet(
        raw_times_s=t,
        raw=raw,
        resampled=EventCurve(uniform.astype(np.float32), rate_hz, grid_start, source),
        smoothed=EventCurve(smooth.astype(np.float32), rate_hz, grid_start, source),
        kernel_size=kernel_size,
    )


def kernel_size_for(seconds: float, *, rate_hz: float) -> int:
    """The odd kernel length closest to ``seconds`` at ``rate_hz`` (at least 1)."""
    if seconds < 0:
        raise InvalidInputError(f"smoothing length must be >= 0 seconds, got {seconds}")
    n = int(round(seconds * rate_hz))
    return max(1, n if n % 2 else n + 1)


def pick_peaks(
    values: np.ndarray,
    times_s: np.ndarray,
    *,
    min_spacing_s: float,
    min_height: float | None = None,
    max_peaks: int | None = None,
) -> np.ndarray:
    """Local maxima (not at the ends), no two closer than ``min_spacing_s``.

    Greedy non-maximum suppression on (possibly irregular) times: take the highest remaining
    local maximum, drop every candidate within ``min_spacing_s`` of it, repeat.

    Args:
        values, times_s: float[n] each.
        min_height: ignore maxima below this value.
        max_peaks: stop after this many.

    Returns:
        int64[k]: indices into ``values``, sorted by time.
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if v.shape != t.shape or v.ndim != 1:
        raise InvalidInputError(f"values {v.shape} and times {t.shape} must be equal 1-D shapes")
    if min_spacing_s < 0:
        raise InvalidInputError(f"min_spacing_s must be >= 0, got {min_spacing_s}")
    if len(v) == 0:
        return np.zeros(0, dtype=np.int64)
    candidates, _ = find_peaks(v)  # strict local maxima; a plateau counts once, at its middle
    if min_height is not None:
        candidates = candidates[v[candidates] >= min_height]
    order = candidates[np.argsort(-v[candidates], kind="stable")]
    taken: list[int] = []
    taken_t = np.empty(0)
    for i in order:
        if taken and np.min(np.abs(taken_t - t[i])) < min_spacing_s:
            continue
        taken.append(int(i))
        taken_t = np.append(taken_t, t[i])
        if max_peaks is not None and len(taken) >= max_peaks:
            break
    return np.array(sorted(taken), dtype=np.int64)
