"""The hit plan: the moments the music must (or may) accent.

* ``cut`` — an edit point; strength from the size of the event-curve jump at the cut;
* ``marker`` — placed by the editor; always must hit, full strength;
* ``peak`` — a strong curve peak away from any cut (a flash, an impact); optional, weaker;
* ``motion_beat`` — a beat of periodic movement (dance); see :mod:`v2m.model.rhythm`.

Hits closer than a musical minimum are merged: markers beat cuts beat peaks, then strength.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from v2m.model.analysis import Analysis
from v2m.model.errors import InvalidInputError
from v2m.model.types import Hit

MUST_HIT_KINDS = ("marker", "cut")
_PRIORITY = {"marker": 3, "cut": 2, "motion_beat": 1, "peak": 0}
DEFAULT_MIN_GAP_S = 0.3
"""Hits closer than this merge (about a sixteenth at 50 bpm, an eighth at 100)."""
PEAK_MIN_SIGMA = 3.0
"""A curve peak must stand this many standard deviations above the clip mean to count."""


def is_must_hit(hit: Hit) -> bool:
    return hit.kind in MUST_HIT_KINDS


def _jump_at(analysis: Analysis, time_s: float, window_s: float) -> float:
    c = analysis.curves
    near = np.abs(c.raw_times_s - time_s) <= window_s
    return float(c.raw[near].max()) if near.any() else 0.0


def plan_hits(
    analysis: Analysis,
    *,
    markers_s: Iterable[float] = (),
    include_peaks: bool = True,
    min_gap_s: float = DEFAULT_MIN_GAP_S,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> list[Hit]:
    """Hits inside ``[start_s, end_s)``, in time order, times relative to ``start_s``.

    Args:
        analysis: a video (or music) analysis — cuts and the raw event curve.
        markers_s: editor markers (media time), all must-hit.
        include_peaks: add strong curve peaks away from cuts as optional hits.
        min_gap_s: hits closer than this are merged.
    """
    if min_gap_s < 0:
        raise InvalidInputError(f"min_gap_s must be >= 0, got {min_gap_s}")
    end = analysis.duration_s if end_s is None else end_s
    if not 0 <= start_s < end:
        raise InvalidInputError(f"selection {start_s:g}..{end:g} s is empty or negative")
    frame_s = 1.0 / analysis.frame_rate_hz if analysis.frame_rate_hz else 0.05
    candidates: list[Hit] = []
    jumps = [_jump_at(analysis, c.time_s, 1.5 * frame_s) for c in analysis.cuts]
    top = max(jumps, default=1.0) or 1.0
    for cut, jump in zip(analysis.cuts, jumps, strict=True):
        strength = float(np.clip(0.4 + 0.6 * jump / top, 0.4, 1.0) * (0.5 + 0.5 * cut.confidence))
        candidates.append(Hit(cut.time_s, round(strength, 4), "cut"))
    for t in markers_s:
        candidates.append(Hit(float(t), 1.0, "marker"))
    if include_peaks:
        c = analysis.curves
        values = np.interp(analysis.peaks_s, c.raw_times_s, c.raw)
        vmax = max(float(values.max(initial=0.0)), PEAK_MIN_SIGMA)
        for t, v in zip(analysis.peaks_s, values, strict=True):
            if v >= PEAK_MIN_SIGMA:
                candidates.append(Hit(float(t), round(float(0.15 + 0.35 * v / vmax), 4), "peak"))
    inside = [h for h in candidates if start_s <= h.time_s < end]
    merged = merge_hits(inside, min_gap_s=min_gap_s)
    return [Hit(h.time_s - start_s, h.strength, h.kind) for h in merged]


def merge_hits(hits: Iterable[Hit], *, min_gap_s: float) -> list[Hit]:
    """Keep the most important of any hits closer than ``min_gap_s``; time order out."""
    ranked = sorted(hits, key=lambda h: (-_PRIORITY.get(h.kind, 0), -h.strength, h.time_s))
    kept: list[Hit] = []
    for h in ranked:
        if all(abs(h.time_s - k.time_s) >= min_gap_s for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: h.time_s)
