"""The time map: one continuous, piecewise-linear map from the selection's time to the
recording's, moving a musical landmark onto every cut with the smallest, smoothest stretch.

Each must-hit cut gets a landmark — a downbeat where one fits, else a beat, else a strong
onset — chosen by dynamic programming over the cuts so that every segment's speed stays
within ``1 ± max_stretch`` and changes little from segment to segment. A cut that no landmark
can reach within the bound is reported, with the distance to the nearest one, and the map
runs on through it at the neighbouring speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from v2m.model.errors import InvalidInputError
from v2m.model.retime.music import MusicAnalysis

DEFAULT_MAX_STRETCH = 0.08
_W_SPEED = 100.0
_W_CHANGE = 40.0
_KIND_COST = {"downbeat": 0.0, "beat": 0.5, "onset": 6.0}
_MISS_COST = 25.0


@dataclass(frozen=True)
class Landmark:
    source_s: float
    kind: str
    """downbeat, beat or onset."""


@dataclass(frozen=True)
class TimeMap:
    """Knots (target_s[i] → source_s[i]), both increasing; linear between, and beyond the
    ends at the end segments' speeds. ``speed`` = source seconds per target second."""

    target_s: np.ndarray
    source_s: np.ndarray

    def to_source(self, target_s) -> np.ndarray:
        t = np.asarray(target_s, np.float64)
        inside = np.interp(t, self.target_s, self.source_s)
        first, last = self.speeds[0], self.speeds[-1]
        before = self.source_s[0] + (t - self.target_s[0]) * first
        after = self.source_s[-1] + (t - self.target_s[-1]) * last
        return np.where(
            t < self.target_s[0], before, np.where(t > self.target_s[-1], after, inside)
        )

    def to_target(self, source_s) -> np.ndarray:
        s = np.asarray(source_s, np.float64)
        return np.interp(s, self.source_s, self.target_s)

    @property
    def speeds(self) -> np.ndarray:
        """float64[k-1] — source seconds per target second of each segment."""
        return np.diff(self.source_s) / np.diff(self.target_s)

    def segments(self) -> list[dict]:
        """Per segment: target span, source span and speed (JSON-ready)."""
        return [
            {
                "target_s": [round(float(a), 4), round(float(b), 4)],
                "source_s": [round(float(c), 4), round(float(d), 4)],
                "speed": round(float((d - c) / (b - a)), 5),
            }
            for a, b, c, d in zip(
                self.target_s[:-1],
                self.target_s[1:],
                self.source_s[:-1],
                self.source_s[1:],
                strict=True,
            )
        ]


@dataclass(frozen=True)
class Fit:
    time_map: TimeMap
    landmarks: tuple[Landmark | None, ...]
    """Per cut (in time order): the landmark moved onto it, or None when none could be."""
    missed_by_s: tuple[float, ...]
    """Per cut: 0 when hit, else how far (target seconds) the nearest landmark would land."""


ACCENT_WINDOW_S = 0.25
"""A landmark is an accent: the strongest onset within this distance either side, so once it
sits on a cut nothing nearby sounds stronger."""
BEAT_MATCH_S = 0.07
"""An accent this close to a tracked beat (downbeat) is that beat."""


def candidates(music: MusicAnalysis) -> list[Landmark]:
    """The recording's accents (onsets stronger than any other within
    :data:`ACCENT_WINDOW_S`), each a downbeat, beat or plain onset; plain onsets only when
    strong (≥ half the loudest)."""
    onsets, strength = music.onsets_s, music.onset_strength
    out = []
    for t, s in zip(onsets, strength, strict=True):
        near = np.abs(onsets - t) <= ACCENT_WINDOW_S
        if s < strength[near].max():
            continue
        kind = "onset"
        if len(music.downbeats_s) and np.abs(music.downbeats_s - t).min() <= BEAT_MATCH_S:
            kind = "downbeat"
        elif len(music.beats_s) and np.abs(music.beats_s - t).min() <= BEAT_MATCH_S:
            kind = "beat"
        if kind != "onset" or s >= 0.5:
            out.append(Landmark(float(t), kind))
    return out


def fit_time_map(
    music: MusicAnalysis,
    cuts_s,
    *,
    duration_s: float,
    offset_s: float,
    max_stretch: float = DEFAULT_MAX_STRETCH,
) -> Fit:
    """The map for a selection of ``duration_s`` whose start plays the recording from
    ``offset_s``, landing ``cuts_s`` (seconds from the selection's start) on landmarks."""
    if not 0 < max_stretch < 0.5:
        raise InvalidInputError(f"max_stretch must be in (0, 0.5), got {max_stretch}")
    if duration_s <= 0:
        raise InvalidInputError(f"duration must be > 0 s, got {duration_s}")
    cuts = sorted(float(c) for c in cuts_s if 0 < c < duration_s)
    marks = candidates(music)
    times = np.array([m.source_s for m in marks])
    lo, hi = math.log(1 / (1 + max_stretch)), math.log(1 + max_stretch)
    # DP over cuts: state = index into marks (or -1: missed); start anchor (0 → offset).
    prev: dict[int, tuple[float, float, float, float, tuple]] = {-1: (0.0, 0.0, offset_s, 0.0, ())}
    # value: (cost, anchor target, anchor source, last log-speed, path)
    for cut in cuts:
        cur: dict[int, tuple[float, float, float, float, tuple]] = {}
        for cost, at_t, at_s, last, path in prev.values():
            dt = cut - at_t
            reach = (at_s + dt * math.exp(lo), at_s + dt * math.exp(hi))
            window = np.flatnonzero((times >= reach[0] - 1e-9) & (times <= reach[1] + 1e-9))
            for j in window:
                log_speed = math.log((times[j] - at_s) / dt) if dt > 0 else 0.0
                c = cost + _W_SPEED * log_speed**2 + _W_CHANGE * (log_speed - last) ** 2
                c += _KIND_COST[marks[j].kind]
                if j not in cur or c < cur[j][0]:
                    cur[j] = (c, cut, float(times[j]), log_speed, (*path, j))
            # Missing this cut: the anchor stays, the speed carries on.
            c = cost + _MISS_COST
            if -1 not in cur or c < cur[-1][0]:
                cur[-1] = (c, at_t, at_s, last, (*path, -1))
        prev = {k: v for k, v in sorted(cur.items(), key=lambda kv: kv[1][0])[:64]}
    best = min(prev.values(), key=lambda v: v[0])
    path = best[4]
    knots_t, knots_s = [0.0], [offset_s]
    landmarks: list[Landmark | None] = []
    for cut, j in zip(cuts, path, strict=True):
        if j < 0:
            landmarks.append(None)
            continue
        landmarks.append(marks[j])
        knots_t.append(cut)
        knots_s.append(marks[j].source_s)
    last_speed = (
        (knots_s[-1] - knots_s[-2]) / (knots_t[-1] - knots_t[-2]) if len(knots_t) > 1 else 1.0
    )
    knots_t.append(duration_s)
    knots_s.append(knots_s[-1] + (duration_s - knots_t[-2]) * last_speed)
    time_map = TimeMap(np.array(knots_t), np.array(knots_s))
    missed = []
    for cut, mark in zip(cuts, landmarks, strict=True):
        if mark is not None:
            missed.append(0.0)
            continue
        at = float(time_map.to_source(cut))
        nearest = float(times[np.argmin(np.abs(times - at))]) if len(times) else at
        missed.append(abs(float(time_map.to_target(nearest)) - cut))
    return Fit(time_map, tuple(landmarks), tuple(missed))
