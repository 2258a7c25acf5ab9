"""Hit-point tempo solver: a beat grid that puts the must-hit moments on beats.

What a film composer's click calculator does:

1. Try one constant tempo: search tempo and phase over the style's range for a grid that lands
   every must-hit within the tolerance (default ±1 frame). If one exists, use it.
2. Otherwise anchor the grid at the must-hits: between consecutive anchors choose a whole
   number of beats (or half-beats, for hits closer than a beat) so that the segment tempo stays
   in range, close to the style's tempo and to its neighbours, and strong hits fall on
   downbeats — a small dynamic programme. Inside a segment the beat length ramps linearly from
   the previous segment's tempo towards the next one's, keeping the sum exact, so tempo changes
   are smooth and each anchor lands exactly on its beat.

Lead-in before the first anchor and the tail after the last continue the neighbouring tempo;
the first anchor sits on a downbeat (the music starts with a pickup if it comes late).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2m.model.errors import InvalidInputError
from v2m.model.hits import is_must_hit
from v2m.model.styles import MAX_BPM, MIN_BPM
from v2m.model.types import Hit, PlacedHit

SUBDIVISION = 2
"""Grid ticks per beat (eighth notes): anchors may sit on a half beat when hits are close."""

_W_PREFERRED = 4.0
_W_CHANGE = 30.0
_W_OFF_DOWNBEAT = 1.5
_W_OFF_BEAT = 20.0
"""A strong must-hit on a half-beat costs more than any tempo change inside a style's range: beat
trackers (and listeners) hear beats, so a ramp that puts the cut on a whole beat wins."""
_W_OUT_OF_RANGE = 400.0
"""Cost per squared log-ratio outside the style's tempo range (10 % out: 3.6)."""
RANGE_STRETCH = 1.1
"""How far (ratio) a segment may leave the style's range to put a cut on a whole beat."""


@dataclass(frozen=True)
class TempoMap:
    """A beat grid.

    Attributes:
        tick_times_s: float64[n] — times of the eighth-note grid (``SUBDIVISION`` per beat),
            strictly increasing, from at or before 0 to past the end.
        origin_tick: index of a downbeat tick; beat ``b`` (float) is tick
            ``origin_tick + b * SUBDIVISION``.
        meter: beats per bar.
        constant: True when one tempo runs throughout.
    """

    tick_times_s: np.ndarray
    origin_tick: int
    meter: int
    constant: bool

    def time_of(self, beat) -> np.ndarray:
        """Times of beat positions (beats from the origin downbeat, may be fractional)."""
        ticks = self.origin_tick + np.asarray(beat, dtype=np.float64) * SUBDIVISION
        idx = np.arange(len(self.tick_times_s))
        inside = np.interp(ticks, idx, self.tick_times_s)
        first = (self.tick_times_s[1] - self.tick_times_s[0]) * (ticks - 0) + self.tick_times_s[0]
        last_step = self.tick_times_s[-1] - self.tick_times_s[-2]
        last = self.tick_times_s[-1] + last_step * (ticks - idx[-1])
        return np.where(ticks < 0, first, np.where(ticks > idx[-1], last, inside))

    def beat_of(self, time_s) -> np.ndarray:
        """Beat positions (from the origin downbeat) of times."""
        idx = np.arange(len(self.tick_times_s), dtype=np.float64)
        ticks = np.interp(np.asarray(time_s, np.float64), self.tick_times_s, idx)
        return (ticks - self.origin_tick) / SUBDIVISION

    @property
    def beat_times_s(self) -> np.ndarray:
        """float64[b] — every beat (quarter note) of the grid."""
        start = self.origin_tick % SUBDIVISION
        return self.tick_times_s[start::SUBDIVISION]

    @property
    def first_beat(self) -> int:
        """Beat number (relative to the origin downbeat) of ``beat_times_s[0]``."""
        return -(self.origin_tick // SUBDIVISION)

    def bpm_at(self, beat) -> np.ndarray:
        """Local tempo (beats per minute) around beat positions."""
        b = np.asarray(beat, np.float64)
        return 60.0 / (self.time_of(b + 0.5) - self.time_of(b - 0.5))

    def is_downbeat(self, beat: float) -> bool:
        return abs(beat - round(beat)) < 1e-6 and round(beat) % self.meter == 0


@dataclass(frozen=True)
class TempoPlan:
    tempo_map: TempoMap
    placements: tuple[PlacedHit, ...]
    bpm_min: float
    bpm_max: float

    @classmethod
    def for_grid(cls, grid: TempoMap, hits: Sequence[Hit], *, frame_rate_hz: float) -> TempoPlan:
        """Placements of ``hits`` on a given grid (e.g. one following dance beats)."""
        placements = tuple(
            _place(h, grid, frame_rate_hz) for h in sorted(hits, key=lambda h: h.time_s)
        )
        bpm = float(np.median(grid.bpm_at(np.arange(0, 8))))
        return cls(grid, placements, bpm, bpm)

    @property
    def median_error_frames(self) -> float:
        return median_error_frames(self.placements)


def median_error_frames(placements: Sequence[PlacedHit]) -> float:
    """Median |error| in frames over the must-hits (cuts, markers); 0 when there are none."""
    must = [abs(p.error_frames) for p in placements if p.kind in ("cut", "marker")]
    return float(np.median(must)) if must else 0.0


def _constant_fit(
    anchors: np.ndarray, *, bpm_range, bpm_pref: float, tol_s: float
) -> tuple[float, float] | None:
    """(beat_s, phase_s) of a constant grid that lands every anchor within tol_s, or None.

    Tempo is scanned finely enough that consecutive grids differ by less than tol/2 at the
    last anchor; among fits, the one nearest the preferred tempo wins.
    """
    if len(anchors) == 0:
        return 60.0 / bpm_pref, 0.0
    span = max(anchors[-1] - anchors[0], 1e-3)
    lo, hi = 60.0 / bpm_range[1], 60.0 / bpm_range[0]
    step = tol_s / 2 * lo / span
    periods = np.arange(lo, hi + step, step)
    rel = anchors - anchors[0]
    # Phase fixed by the first anchor, then refined to centre the residuals.
    resid = (rel[None, :] / periods[:, None] + 0.5) % 1.0 - 0.5  # in beats
    shift = (resid.max(axis=1) + resid.min(axis=1)) / 2
    err_s = np.abs(resid - shift[:, None]).max(axis=1) * periods
    ok = np.flatnonzero(err_s <= tol_s)
    if len(ok) == 0:
        return None
    best = ok[np.argmin(np.abs(np.log(periods[ok] * bpm_pref / 60.0)) + err_s[ok] / tol_s * 0.01)]
    period = float(periods[best])
    return period, float(anchors[0] + shift[best] * period)


def _segment_options(dt: float, lo: float, hi: float) -> list[int]:
    """Candidate tick counts (eighths) for a gap of dt seconds: every count whose beat length
    lies in [lo, hi], and the whole-beat counts just outside, within :data:`RANGE_STRETCH` (a
    slightly faster or slower beat may beat a half-beat; the range penalty decides)."""
    k_min = max(1, math.ceil(dt / hi * SUBDIVISION - 1e-9))
    k_max = math.floor(dt / lo * SUBDIVISION + 1e-9)
    options = set(range(k_min, k_max + 1))
    below = (k_min - 1) // SUBDIVISION * SUBDIVISION  # whole beats, slower than the range
    above = -(-(k_max + 1) // SUBDIVISION) * SUBDIVISION  # whole beats, faster
    stretch = RANGE_STRETCH
    options |= {
        k for k in (below, above) if k >= 1 and lo / stretch <= dt / k * SUBDIVISION <= hi * stretch
    }
    if not options:  # the gap fits nothing near the range: the nearest count, penalised
        options = {max(1, round(dt / ((lo + hi) / 2) * SUBDIVISION))}
    return sorted(options)


def _anchored_ticks(
    anchors: np.ndarray,
    strengths: np.ndarray,
    *,
    bpm_range,
    bpm_pref: float,
    meter: int,
) -> list[int]:
    """Ticks per inter-anchor segment, by dynamic programming over (ticks, bar phase)."""
    lo, hi = 60.0 / bpm_range[1], 60.0 / bpm_range[0]
    pref = 60.0 / bpm_pref
    bar_ticks = meter * SUBDIVISION
    gaps = np.diff(anchors)
    options = [_segment_options(dt, lo, hi) for dt in gaps]
    # state: (option index of previous segment, tick phase at its end anchor) → cost, back-ptr
    costs: list[dict[tuple[int, int], tuple[float, tuple | None]]] = []
    prev: dict[tuple[int, int], tuple[float, tuple | None]] = {(-1, 0): (0.0, None)}
    for i, (dt, opts) in enumerate(zip(gaps, options, strict=True)):
        cur: dict[tuple[int, int], tuple[float, tuple | None]] = {}
        for j, k in enumerate(opts):
            beat = dt / k * SUBDIVISION
            c_local = _W_PREFERRED * math.log(beat / pref) ** 2
            if not lo - 1e-9 <= beat <= hi + 1e-9:
                c_local += _W_OUT_OF_RANGE * math.log(beat / min(max(beat, lo), hi)) ** 2
            for (pj, phase), (pc, _) in prev.items():
                c = pc + c_local
                if pj >= 0:
                    pbeat = gaps[i - 1] / options[i - 1][pj] * SUBDIVISION
                    c += _W_CHANGE * math.log(beat / pbeat) ** 2
                new_phase = (phase + k) % bar_ticks
                s = strengths[i + 1]
                if new_phase % SUBDIVISION:
                    c += _W_OFF_BEAT * s
                elif new_phase:
                    c += _W_OFF_DOWNBEAT * s
                key = (j, new_phase)
                if key not in cur or c < cur[key][0]:
                    cur[key] = (c, (pj, phase))
        costs.append(cur)
        prev = cur
    # Trace back the cheapest path.
    state = min(prev, key=lambda s: prev[s][0])
    ticks: list[int] = []
    for i in range(len(gaps) - 1, -1, -1):
        j, _phase = state
        ticks.append(options[i][j])
        state = costs[i][state][1]
    return ticks[::-1]


def _ramped_ticks(dt: float, k: int, before: float, after: float) -> np.ndarray:
    """k tick lengths summing to dt, ramping linearly between the neighbouring tick lengths.

    The mean is fixed (dt / k); the slope minimises the squared mismatch of the first and last
    ticks with the boundary targets (before + mean) / 2 and (mean + after) / 2.
    """
    mean = dt / k
    if k < 3:
        return np.full(k, mean)
    slope = ((mean + after) / 2 - (before + mean) / 2) / (k - 1)
    slope = float(np.clip(slope, -0.5 * mean / k, 0.5 * mean / k))  # never near zero length
    j = np.arange(k) - (k - 1) / 2
    return mean + slope * j


def _build_grid(anchors: np.ndarray, ticks: list[int], duration_s: float) -> tuple[np.ndarray, int]:
    lengths = [dt / k for dt, k in zip(np.diff(anchors), ticks, strict=True)]
    parts = [np.array([anchors[0]])]
    for i, (dt, k) in enumerate(zip(np.diff(anchors), ticks, strict=True)):
        before = lengths[i - 1] if i > 0 else lengths[i]
        after = lengths[i + 1] if i + 1 < len(lengths) else lengths[i]
        steps = _ramped_ticks(dt, k, before, after)
        parts.append(anchors[i] + np.cumsum(steps))
        parts[-1][-1] = anchors[i + 1]  # exact, whatever the rounding
    body = np.concatenate(parts)
    head_step, tail_step = lengths[0], lengths[-1]
    n_head = int(math.ceil(anchors[0] / head_step)) + 1
    head = anchors[0] - head_step * np.arange(n_head, 0, -1)
    n_tail = int(math.ceil(max(0.0, duration_s - anchors[-1]) / tail_step)) + 2 * SUBDIVISION
    tail = anchors[-1] + tail_step * np.arange(1, n_tail + 1)
    return np.concatenate([head, body, tail]), n_head


def _constant_grid(period: float, phase: float, duration_s: float) -> tuple[np.ndarray, int]:
    tick = period / SUBDIVISION
    n_head = int(math.ceil(max(0.0, phase) / tick)) + 1
    start = phase - n_head * tick
    n = n_head + int(math.ceil((duration_s - phase) / tick)) + 2 * SUBDIVISION + 1
    return start + tick * np.arange(n), n_head


def constant_tempo_map(*, beat_s: float, phase_s: float, meter: int, duration_s: float) -> TempoMap:
    """A constant grid with a beat at ``phase_s`` every ``beat_s`` seconds, covering the clip."""
    if not beat_s > 0:
        raise InvalidInputError(f"beat length must be > 0 s, got {beat_s}")
    phase = phase_s % beat_s
    ticks, origin = _constant_grid(beat_s, phase, duration_s)
    return TempoMap(ticks, origin, meter, constant=True)


def _best_downbeat_origin(grid: TempoMap, anchors, strengths) -> int:
    """Origin tick (among the meter's beats) that puts the most hit strength on downbeats."""
    best, best_score = grid.origin_tick, -1.0
    for shift in range(grid.meter):
        origin = grid.origin_tick + shift * SUBDIVISION
        trial = TempoMap(grid.tick_times_s, origin, grid.meter, grid.constant)
        beats = trial.beat_of(anchors)
        score = sum(
            s for b, s in zip(beats, strengths, strict=True) if trial.is_downbeat(round(b, 3))
        )
        if score > best_score + 1e-9:
            best, best_score = origin, score
    return best


def solve_tempo(
    hits: Sequence[Hit],
    *,
    duration_s: float,
    bpm_range: tuple[float, float],
    bpm: float,
    meter: int,
    frame_rate_hz: float,
    tolerance_frames: float = 1.0,
    constant_only: bool = False,
) -> TempoPlan:
    """Tempo map for ``duration_s`` seconds that lands the must-hits (cuts, markers) on beats.

    Args:
        hits: the hit plan (times from 0); peaks are reported but do not bend the grid.
        bpm_range, bpm: the style's tempo range and preferred tempo.
        meter: beats per bar.
        frame_rate_hz: the video's rate, for the tolerance and the errors in frames.
        tolerance_frames: how far a must-hit may sit from its beat with a constant tempo.
        constant_only: never bend the tempo (e.g. when it follows dance beats).
    """
    lo_bpm, hi_bpm = bpm_range
    if not (MIN_BPM <= lo_bpm <= bpm <= hi_bpm <= MAX_BPM):
        raise InvalidInputError(
            f"tempo {bpm:g} bpm must lie in its range {bpm_range}, inside the playable "
            f"{MIN_BPM:g}..{MAX_BPM:g} bpm"
        )
    if not 1 <= meter <= 12:
        raise InvalidInputError(f"meter must be 1..12 beats per bar, got {meter}")
    if not duration_s > 0:
        raise InvalidInputError(f"duration must be > 0 s, got {duration_s}")
    if not frame_rate_hz > 0 or tolerance_frames < 0:
        raise InvalidInputError("frame rate must be > 0 and the tolerance >= 0")
    tol_s = tolerance_frames / frame_rate_hz
    must = sorted((h for h in hits if is_must_hit(h)), key=lambda h: h.time_s)
    anchors = np.array([h.time_s for h in must])
    strengths = np.array([h.strength for h in must])
    fit = _constant_fit(anchors, bpm_range=bpm_range, bpm_pref=bpm, tol_s=tol_s)
    if fit is None and constant_only:
        fit = _constant_fit(anchors[:1], bpm_range=bpm_range, bpm_pref=bpm, tol_s=tol_s)
    if len(anchors) < 2:
        period, phase = fit if fit is not None else (60.0 / bpm, float(anchors[0]))
        ticks, origin = _constant_grid(period, phase, duration_s)
        grid = TempoMap(ticks, origin, meter, constant=True)
    elif fit is not None:
        # One tempo fits within the tolerance: keep its beat counts but pin every anchor
        # exactly (each segment's tempo moves by at most the tolerance — inaudible), so the
        # hits land where the picture says whatever the style's tempo range.
        seg = [round(dt / fit[0] * SUBDIVISION) for dt in np.diff(anchors)]
        ticks, origin = _build_grid(anchors, seg, duration_s)
        grid = TempoMap(ticks, origin, meter, constant=True)
    else:
        seg = _anchored_ticks(anchors, strengths, bpm_range=bpm_range, bpm_pref=bpm, meter=meter)
        ticks, origin = _build_grid(anchors, seg, duration_s)
        grid = TempoMap(ticks, origin, meter, constant=False)
    grid = TempoMap(
        grid.tick_times_s, _best_downbeat_origin(grid, anchors, strengths), meter, grid.constant
    )
    placements = tuple(_place(h, grid, frame_rate_hz) for h in sorted(hits, key=lambda h: h.time_s))
    bpms = grid.bpm_at(grid.beat_of(np.linspace(0, duration_s, 64)))
    return TempoPlan(grid, placements, float(bpms.min()), float(bpms.max()))


def _place(hit: Hit, grid: TempoMap, fps: float) -> PlacedHit:
    beat = round(float(grid.beat_of(hit.time_s)) * SUBDIVISION) / SUBDIVISION
    return placed_hit(hit, grid, beat=beat, achieved_s=float(grid.time_of(beat)), fps=fps)


def placed_hit(hit: Hit, grid: TempoMap, *, beat: float, achieved_s: float, fps: float):
    """The report of ``hit`` landing at ``achieved_s``, on ``beat`` of ``grid``."""
    err = achieved_s - hit.time_s
    return PlacedHit(
        time_s=hit.time_s,
        kind=hit.kind,
        strength=hit.strength,
        beat=beat,
        achieved_s=achieved_s,
        error_ms=err * 1000.0,
        error_frames=err * fps,
        on_beat=abs(beat - round(beat)) < 1e-9,
        on_downbeat=grid.is_downbeat(beat),
    )
