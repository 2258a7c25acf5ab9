"""Master chain: loudness normalization (ITU-R BS.1770 via pyloudnorm) and a true-peak limiter.

``master(mix)`` returns the mix at the target integrated loudness (default -16 LUFS) with true
peaks (4× oversampled) at or below the ceiling (default -1 dBTP), and the gain it applied, so
stems can be written at the same gain as the mix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import lfilter, resample_poly

from v2m.model.errors import InvalidInputError

_OVERSAMPLE = 4
_LOOKAHEAD_S = 0.003
_RELEASE_S = 0.08
_SILENCE_LUFS = -70.0


@dataclass(frozen=True)
class MasterReport:
    gain_db: float
    """Loudness gain applied before the limiter."""
    integrated_lufs: float
    true_peak_dbtp: float
    limiter_max_reduction_db: float


def true_peak_dbtp(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Maximum 4×-oversampled absolute sample of float[channels, n], in dB."""
    up = resample_poly(audio, _OVERSAMPLE, 1, axis=1)
    peak = float(np.max(np.abs(up))) if up.size else 0.0
    return 20 * np.log10(max(peak, 1e-12))


def integrated_lufs(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Integrated loudness of float[channels, n]; -70 for silence or clips under 0.4 s."""
    if audio.shape[1] < int(0.4 * sample_rate_hz):
        return _SILENCE_LUFS
    value = pyloudnorm.Meter(sample_rate_hz).integrated_loudness(audio.T.astype(np.float64))
    return float(value) if np.isfinite(value) else _SILENCE_LUFS


def _peak_envelope(audio: np.ndarray) -> np.ndarray:
    """float32[n]: per sample, the largest 4×-oversampled magnitude over all channels."""
    up = np.abs(resample_poly(audio.astype(np.float32), _OVERSAMPLE, 1, axis=1)).max(axis=0)
    return up[: audio.shape[1] * _OVERSAMPLE].reshape(-1, _OVERSAMPLE).max(axis=1)


def _limiter_gain(peak: np.ndarray, ceiling: float, sample_rate_hz: int) -> np.ndarray:
    """Gain envelope (float[n], <= 1) of a look-ahead brick-wall limiter for a peak envelope:
    the reduction starts ``_LOOKAHEAD_S`` before each over and releases over ``_RELEASE_S``."""
    reduction = 1.0 - np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if not reduction.any():
        return np.ones_like(peak)
    look = max(1, int(_LOOKAHEAD_S * sample_rate_hz))
    held = maximum_filter1d(reduction, size=2 * look + 1)
    smooth = np.maximum(uniform_filter1d(held, size=look), reduction)
    a = np.exp(-1.0 / (_RELEASE_S * sample_rate_hz))
    released = np.maximum(smooth, lfilter([1 - a], [1, -a], smooth))
    return 1.0 - np.clip(released, 0, 1)


def master(
    mix: np.ndarray,
    sample_rate_hz: int,
    *,
    target_lufs: float = -16.0,
    ceiling_dbtp: float = -1.0,
) -> tuple[np.ndarray, MasterReport]:
    """Normalize ``mix`` (float[channels, n]) to ``target_lufs`` under ``ceiling_dbtp``."""
    if not -40.0 <= target_lufs <= -5.0:
        raise InvalidInputError(f"target loudness must be -40..-5 LUFS, got {target_lufs}")
    if not -12.0 <= ceiling_dbtp <= 0.0:
        raise InvalidInputError(f"true-peak ceiling must be -12..0 dBTP, got {ceiling_dbtp}")
    loudness = integrated_lufs(mix, sample_rate_hz)
    if loudness <= _SILENCE_LUFS + 1:
        return mix.astype(np.float32), MasterReport(
            0.0, loudness, true_peak_dbtp(mix, sample_rate_hz), 0.0
        )
    ceiling = 10 ** ((ceiling_dbtp - 0.1) / 20)  # 0.1 dB margin for inter-sample overs
    peak = _peak_envelope(mix)  # scales linearly with the gain: computed once
    gain_db = target_lufs - loudness
    for _ in range(3):  # limiting lowers loudness a little: re-aim and limit again
        g = 10 ** (gain_db / 20)
        envelope = _limiter_gain(peak * g, ceiling, sample_rate_hz)
        out = (mix * (g * envelope)[None, :]).astype(np.float32)
        measured = integrated_lufs(out, sample_rate_hz)
        if abs(target_lufs - measured) < 0.2:
            break
        gain_db += target_lufs - measured
    report = MasterReport(
        gain_db=float(gain_db),
        integrated_lufs=measured,
        true_peak_dbtp=float(20 * np.log10(max(float((peak * g * envelope).max()), 1e-12))),
        limiter_max_reduction_db=float(-20 * np.log10(max(float(envelope.min()), 1e-12))),
    )
    return out, report


def master_stems(
    stems: dict[str, np.ndarray],
    sample_rate_hz: int,
    *,
    n_samples: int,
    target_lufs: float = -16.0,
    ceiling_dbtp: float = -1.0,
) -> tuple[np.ndarray, dict[str, np.ndarray], MasterReport]:
    """Master the sum of ``stems`` ({name: float32[2, n]}); returns (mix, the stems at the
    mix's gain — they sum to the mix before its limiter —, the report)."""
    premaster = sum(stems.values()) if stems else np.zeros((2, n_samples), np.float32)
    mix, report = master(
        premaster, sample_rate_hz, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp
    )
    gain = np.float32(10 ** (report.gain_db / 20))
    return mix, {k: (v * gain).astype(np.float32) for k, v in stems.items()}, report
