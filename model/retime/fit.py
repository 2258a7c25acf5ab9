"""Fitting the time map: a musical landmark onto every cut with the smallest, smoothest stretch.

Each must-hit cut gets a landmark — a downbeat where one fits, else a beat, else a strong
onset — chosen by dynamic programming over the cuts so that every piece's speed stays within
``1 ± max_stretch`` and changes little from piece to piece. Where no landmark is in reach by
stretching, the map may edit at bar lines between two cuts: jump forward (drop bars) or back
(repeat bars) by up to :data:`MAX_EDIT_BARS` whole bars, just before a downbeat, so the bar
structure stays intact. A cut no landmark can reach even so is reported, with the distance to
the nearest one, and the map runs on through it at the neighbouring speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from v2m.model.errors import InvalidInputError
from v2m.model.retime.music import ENVELOPE_RATE_HZ, MusicAnalysis
from v2m.model.retime.timemap import TimeMap

DEFAULT_MAX_STRETCH = 0.08
_W_SPEED = 20.0
_W_CHANGE = 200.0
_KIND_COST = {"downbeat": 0.0, "beat": 0.5, "onset": 6.0}
_MISS_COST = 25.0
_EDIT_COST = 10.0
"""An edit costs more than any stretch within the bound, less than a missed cut."""
MAX_EDIT_BARS = 4
EDIT_LEAD_S = 0.05
"""An edit jumps this long before the two downbeats, so each downbeat's attack is whole."""
_MIN_PIECE_S = 0.04


@dataclass(frozen=True)
class Landmark:
    source_s: float
    kind: str
    """downbeat, beat or onset."""


@dataclass(frozen=True)
class Fit:
    time_map: TimeMap
    cuts_s: tuple[float, ...]
    """The cuts fitted (inside the selection), in time order."""
    landmarks: tuple[Landmark | None, ...]
    """Per cut (in time order): the landmark moved onto it, or None when none could be."""
    missed_by_s: tuple[float, ...]
    """Per cut: 0 when hit, else how far (target seconds) the nearest landmark would land."""


ACCENT_WINDOW_S = 0.3
"""A landmark is an accent: the strongest onset within this distance either side, so once it
sits on a cut nothing within the heard window (0.25 s) sounds stronger, even after a stretch
and with the finer onset resolution the output is measured at."""
ACCENT_MARGIN = 0.85
"""Nothing else within the window may reach this share of an accent's strength: a near tie
could flip once stretched, mastered and measured at another resolution."""
_OWN = 2
"""Envelope frames either side of an onset that belong to it (the picked frame can sit a
frame before the envelope's peak)."""
BEAT_MATCH_S = 0.07
"""An accent this close to a tracked beat (downbeat) is that beat."""


def candidates(music: MusicAnalysis, *, exclude_s=()) -> list[Landmark]:
    """The recording's accents: onsets at least as strong as the onset envelope anywhere
    within :data:`ACCENT_WINDOW_S` (so no rise nearby, picked as an onset or not, sounds
    stronger), each a downbeat, beat or plain onset; plain onsets only when strong (≥ half
    the loudest). Onsets within 5 ms of a time in ``exclude_s`` (accents that were not heard
    as the strongest once rendered) are left out."""
    onsets, strength = music.onsets_s, music.onset_strength
    if len(exclude_s):
        keep = np.abs(onsets[:, None] - np.asarray(exclude_s)[None, :]).min(axis=1) > 0.005
        onsets, strength = onsets[keep], strength[keep]
    envelope = music.envelope
    reach = int(round(ACCENT_WINDOW_S * ENVELOPE_RATE_HZ))
    out = []
    for t, s in zip(onsets, strength, strict=True):
        frame = int(round(t * ENVELOPE_RATE_HZ))
        own = envelope[max(0, frame - _OWN) : frame + _OWN + 1].max(initial=s)
        before = envelope[max(0, frame - reach) : max(0, frame - _OWN)]
        after = envelope[frame + _OWN + 1 : frame + reach + 1]
        if max(before.max(initial=0.0), after.max(initial=0.0)) > ACCENT_MARGIN * own:
            continue
        kind = "onset"
        if len(music.downbeats_s) and np.abs(music.downbeats_s - t).min() <= BEAT_MATCH_S:
            kind = "downbeat"
        elif len(music.beats_s) and np.abs(music.beats_s - t).min() <= BEAT_MATCH_S:
            kind = "beat"
        if kind != "onset" or s >= 0.5:
            out.append(Landmark(float(t), kind))
    return out


def _bar_pairs(downbeats: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(bars, jump-from, jump-to) source times for every edit of 1..MAX_EDIT_BARS bars either
    way: from just before one downbeat to just before the downbeat ``bars`` later (or
    earlier)."""
    marks = downbeats - EDIT_LEAD_S
    out = []
    for n in range(1, min(MAX_EDIT_BARS, len(marks) - 1) + 1):
        out.append((n, marks[:-n], marks[n:]))  # drop n bars
        out.append((-n, marks[n:], marks[:-n]))  # repeat n bars
    return out


@dataclass(frozen=True)
class _Step:
    """How the map reaches one cut: landmark index (-1: missed) and the edit on the way."""

    mark: int
    edit: tuple[float, float, int] | None = None
    """(jump-from source s, jump-to source s, bars) or None."""


def fit_time_map(
    music: MusicAnalysis,
    cuts_s,
    *,
    duration_s: float,
    offset_s: float,
    max_stretch: float = DEFAULT_MAX_STRETCH,
    exclude_s=(),
) -> Fit:
    """The map for a selection of ``duration_s`` whose start plays the recording from
    ``offset_s``, landing ``cuts_s`` (seconds from the selection's start) on landmarks (never
    on the onsets at ``exclude_s``).

    Raises:
        InvalidInputError: for a bad bound or length, or when the recording runs out before
            the selection ends on every path.
    """
    if not 0 < max_stretch < 0.5:
        raise InvalidInputError(f"max_stretch must be in (0, 0.5), got {max_stretch}")
    if duration_s <= 0:
        raise InvalidInputError(f"duration must be > 0 s, got {duration_s}")
    cuts = sorted(float(c) for c in cuts_s if 0 < c < duration_s)
    marks = candidates(music, exclude_s=exclude_s)
    times = np.array([m.source_s for m in marks])
    lo, hi = math.log(1 / (1 + max_stretch)), math.log(1 + max_stretch)
    pairs = _bar_pairs(music.downbeats_s)
    bar_s = float(np.median(np.diff(music.downbeats_s))) if len(music.downbeats_s) > 1 else 0.0
    # DP over cuts. State per landmark (or -1: missed):
    # (cost, anchor target, anchor source, last log-speed, path of _Step).
    prev: dict[int, tuple] = {-1: (0.0, 0.0, offset_s, 0.0, ())}
    for cut in cuts:
        cur: dict[int, tuple] = {}
        for cost, at_t, at_s, last, path in prev.values():
            dt = cut - at_t
            if dt <= 0:
                continue
            for j in _in_reach(times, at_s, dt, lo, hi):
                ls = math.log((times[j] - at_s) / dt)
                c = cost + _step_cost(ls, last) + _KIND_COST[marks[j].kind]
                _offer(cur, j, (c, cut, float(times[j]), ls, (*path, _Step(j))))
            for n, jump_from, jump_to in pairs:
                shift = n * bar_s
                for j in _in_reach(times, at_s + shift, dt, lo, hi):
                    edit = _best_edit(jump_from, jump_to, at_s, float(times[j]), dt, last)
                    if edit is None:
                        continue
                    ls, a, b = edit
                    c = cost + _step_cost(ls, last) + _KIND_COST[marks[j].kind] + _EDIT_COST
                    _offer(cur, j, (c, cut, float(times[j]), ls, (*path, _Step(j, (a, b, n)))))
            # Missing this cut: the anchor stays, the speed carries on.
            _offer(cur, -1, (cost + _MISS_COST, at_t, at_s, last, (*path, _Step(-1))))
        prev = dict(sorted(cur.items(), key=lambda kv: kv[1][0])[:64])
    ending = [
        v for v in prev.values() if v[2] + (duration_s - v[1]) * math.exp(v[3]) <= music.duration_s
    ]
    if not ending:
        raise InvalidInputError(
            f"{music.path!r} runs out before the selection ends when played from {offset_s:.2f} s"
        )
    best = min(ending, key=lambda v: v[0])
    return _build(best[4], cuts, marks, times, offset_s=offset_s, duration_s=duration_s)


def _offer(states: dict[int, tuple], j: int, entry: tuple) -> None:
    """Keep ``entry`` as the state for landmark ``j`` when it is the cheapest so far."""
    if j not in states or entry[0] < states[j][0]:
        states[j] = entry


def _in_reach(times: np.ndarray, at_s: float, dt: float, lo: float, hi: float) -> np.ndarray:
    """Indices of landmarks reachable from ``at_s`` in ``dt`` target seconds within the bound."""
    return np.flatnonzero(
        (times >= at_s + dt * math.exp(lo) - 1e-9) & (times <= at_s + dt * math.exp(hi) + 1e-9)
    )


def _step_cost(log_speed: float, last: float) -> float:
    return _W_SPEED * log_speed**2 + _W_CHANGE * (log_speed - last) ** 2


def _best_edit(jump_from, jump_to, at_s: float, mark_s: float, dt: float, last: float):
    """(log-speed, from, to) of the edit among these bar pairs that keeps the speed nearest
    the last one, with some of the recording played on either side of the jump; None if no
    pair fits between ``at_s`` and the landmark at ``mark_s``."""
    ok = (jump_from - at_s >= _MIN_PIECE_S) & (mark_s - jump_to >= _MIN_PIECE_S)
    if not ok.any():
        return None
    spans = (jump_from[ok] - at_s) + (mark_s - jump_to[ok])
    i = int(np.argmin(np.abs(np.log(spans / dt) - last)))
    return math.log(spans[i] / dt), float(jump_from[ok][i]), float(jump_to[ok][i])


def _build(path, cuts, marks, times, *, offset_s: float, duration_s: float) -> Fit:
    knots_t, knots_s, bars = [0.0], [offset_s], []
    landmarks: list[Landmark | None] = []
    speed = 1.0
    for cut, step in zip(cuts, path, strict=True):
        if step.mark < 0:
            landmarks.append(None)
            continue
        mark_s = float(times[step.mark])
        landmarks.append(marks[step.mark])
        if step.edit is not None:
            a, b, n = step.edit
            speed = ((a - knots_s[-1]) + (mark_s - b)) / (cut - knots_t[-1])
            at = knots_t[-1] + (a - knots_s[-1]) / speed
            knots_t += [at, at]
            knots_s += [a, b]
            bars.append(n)
        else:
            speed = (mark_s - knots_s[-1]) / (cut - knots_t[-1])
        knots_t.append(cut)
        knots_s.append(mark_s)
    knots_s.append(knots_s[-1] + (duration_s - knots_t[-1]) * speed)
    knots_t.append(duration_s)
    time_map = TimeMap(np.array(knots_t), np.array(knots_s), tuple(bars))
    missed = []
    for cut, mark in zip(cuts, landmarks, strict=True):
        if mark is not None:
            missed.append(0.0)
            continue
        heard = time_map.played(times)
        missed.append(float(np.abs(heard - cut).min()) if len(heard) else float("inf"))
    return Fit(time_map, tuple(cuts), tuple(landmarks), tuple(missed))
