"""Timing metrics: Scene Cut Hit (paper Algorithm 1), beat P/R/F1, curve correlation, errors.

``scene_cut_hit`` is the paper's score on lists of times; ``scene_cut_hit_for_media`` runs the
whole of Algorithm 1 on files: cuts from ``scenedetect.detect(video, AdaptiveDetector())``,
beats from ``librosa.beat.beat_track`` on the channel mean of the music at its own sample rate,
a hit when a beat lies within ±0.1 s of a cut, score = hits / cuts (``None`` with no cuts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from v2m.model import curves as C
from v2m.model.errors import InvalidInputError
from v2m.model.media import decode_audio, probe
from v2m.model.types import EventCurve

SCH_TOLERANCE_S = 0.1


def _times(name: str, values) -> np.ndarray:
    t = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(t)):
        raise InvalidInputError(f"{name} must be finite times in seconds")
    return np.sort(t)


def scene_cut_hit(
    cut_times_s, beat_times_s, *, tolerance_s: float = SCH_TOLERANCE_S
) -> float | None:
    """Fraction of cuts with at least one beat within ``±tolerance_s`` (``None`` if no cuts).

    Args:
        cut_times_s: float[c] scene-cut times; beat_times_s: float[b] beat times.
    """
    cuts, beats = _times("cut times", cut_times_s), _times("beat times", beat_times_s)
    if tolerance_s < 0:
        raise InvalidInputError(f"tolerance_s must be >= 0, got {tolerance_s}")
    if len(cuts) == 0:
        return None
    if len(beats) == 0:
        return 0.0
    return float(np.mean(nearest_offsets(cuts, beats) <= tolerance_s + 1e-9))


def nearest_offsets(targets_s, candidates_s) -> np.ndarray:
    """float64[len(targets)]: |distance| from each target to its nearest candidate (inf if none)."""
    t, c = _times("targets", targets_s), _times("candidates", candidates_s)
    if len(c) == 0:
        return np.full(len(t), np.inf)
    i = np.clip(np.searchsorted(c, t), 1, len(c) - 1) if len(c) > 1 else np.zeros(len(t), int)
    left = np.abs(t - c[np.maximum(i - 1, 0)])
    right = np.abs(c[i] - t)
    return np.minimum(left, right)


def pyscenedetect_cut_times(video_path: str | os.PathLike) -> list[float]:
    """Scene-cut times as Algorithm 1 finds them: ``detect(video, AdaptiveDetector())``."""
    from scenedetect import AdaptiveDetector, detect

    scenes = detect(str(video_path), AdaptiveDetector())
    return [end.seconds for _start, end in scenes[:-1]]


def librosa_beat_times(audio_path: str | os.PathLike) -> np.ndarray:
    """Beat times as Algorithm 1 finds them: channel mean at the file's rate, ``beat_track``."""

    info = probe(audio_path)
    if not info.audio:
        raise InvalidInputError(f"{str(audio_path)!r} has no audio stream to track beats in")
    sr = info.audio[0].sample_rate_hz
    return beat_times(decode_audio(audio_path, sample_rate_hz=sr, channels=1, info=info).mono, sr)


def beat_times(mono: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """float64[k]: beats of ``mono`` (float32[n]) as Algorithm 1 tracks them (``beat_track``
    with librosa's defaults)."""
    import librosa

    _tempo, beats = librosa.beat.beat_track(y=mono, sr=sample_rate_hz)
    return librosa.frames_to_time(beats, sr=sample_rate_hz)


def scene_cut_hit_for_media(
    video_path: str | os.PathLike,
    music_path: str | os.PathLike,
    *,
    tolerance_s: float = SCH_TOLERANCE_S,
) -> float | None:
    """Algorithm 1 end to end: cuts detected on the video, beats tracked on the music."""
    return scene_cut_hit(
        pyscenedetect_cut_times(video_path), librosa_beat_times(music_path), tolerance_s=tolerance_s
    )


@dataclass(frozen=True)
class BeatScores:
    precision: float
    recall: float
    f1: float
    matched: int


def beat_f1(reference_s, estimated_s, *, tolerance_s: float = 0.07) -> BeatScores:
    """Precision, recall and F1 of estimated beats against reference beats, one-to-one.

    Each reference beat matches at most one estimated beat within ``±tolerance_s`` (the
    mir_eval convention; greedy matching in time order is optimal for one tolerance in 1-D).
    """
    ref, est = _times("reference beats", reference_s), _times("estimated beats", estimated_s)
    if tolerance_s < 0:
        raise InvalidInputError(f"tolerance_s must be >= 0, got {tolerance_s}")
    i = j = matched = 0
    while i < len(ref) and j < len(est):
        d = est[j] - ref[i]
        if abs(d) <= tolerance_s + 1e-9:
            matched += 1
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    precision = matched / len(est) if len(est) else 0.0
    recall = matched / len(ref) if len(ref) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return BeatScores(precision, recall, f1, matched)


def curve_correlation(a: EventCurve, b: EventCurve, *, rate_hz: float | None = None) -> float:
    """Pearson r of two curves over their common time span, both resampled to one grid.

    ``rate_hz`` defaults to the lower of the two rates. Returns 0.0 when either is constant.
    """
    rate = rate_hz or min(a.rate_hz, b.rate_hz)
    start = max(a.start_s, b.start_s)
    end = min(a.start_s + a.duration_s, b.start_s + b.duration_s)
    n = int(np.floor((end - start) * rate))
    if n < 3:
        raise InvalidInputError(
            f"curves overlap for only {max(end - start, 0.0):.3f} s; need at least 3 samples"
        )
    grid_start = start + 0.5 / rate
    x = C.resample(a.values, a.times_s, rate_hz=rate, start_s=grid_start, n_samples=n)
    y = C.resample(b.values, b.times_s, rate_hz=rate, start_s=grid_start, n_samples=n)
    if x.std() < 1e-12 or y.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class TimingError:
    """Signed offset of the nearest achieved event from a target (achieved − target)."""

    target_s: float
    achieved_s: float | None
    error_ms: float | None
    error_frames: float | None


def timing_errors(targets_s, achieved_s, *, frame_rate_hz: float) -> list[TimingError]:
    """For each target (e.g. a cut), the nearest achieved event (e.g. a beat) and the error.

    Errors are signed (positive: the beat is late), in milliseconds and in frames at
    ``frame_rate_hz``.
    """
    if not frame_rate_hz > 0:
        raise InvalidInputError(f"frame_rate_hz must be > 0, got {frame_rate_hz}")
    targets, achieved = _times("targets", targets_s), _times("achieved times", achieved_s)
    out = []
    for t in targets:
        if len(achieved) == 0:
            out.append(TimingError(float(t), None, None, None))
            continue
        a = float(achieved[np.argmin(np.abs(achieved - t))])
        out.append(TimingError(float(t), a, (a - t) * 1000.0, (a - t) * frame_rate_hz))
    return out
