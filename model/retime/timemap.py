"""The time map: where in the recording each moment of the selection plays from.

Piecewise linear between knots ``(target_s[i], source_s[i])``. Target times never decrease;
two knots at one target time are a *bar edit*: the playback jumps from one bar line of the
recording to another (forward: bars dropped; back: bars repeated). Source times increase
within each piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BarEdit:
    """At ``target_s`` the playback jumps from ``from_source_s`` to ``to_source_s``."""

    target_s: float
    from_source_s: float
    to_source_s: float
    bars: int
    """Bars skipped (> 0) or repeated (< 0)."""

    def to_json(self) -> dict:
        return {
            "target_s": round(self.target_s, 4),
            "from_source_s": round(self.from_source_s, 4),
            "to_source_s": round(self.to_source_s, 4),
            "kind": "drop" if self.bars > 0 else "repeat",
            "bars": abs(self.bars),
        }


@dataclass(frozen=True)
class TimeMap:
    """Knots (target_s[i] → source_s[i]); linear between, and beyond the ends at the end
    pieces' speeds. ``speed`` = source seconds per target second. ``bars`` holds the bar count
    of each edit (jump) in order."""

    target_s: np.ndarray
    source_s: np.ndarray
    bars: tuple[int, ...] = ()

    @property
    def _moving(self) -> np.ndarray:
        """int[k]: indices of knots that start a piece of positive length."""
        return np.flatnonzero(np.diff(self.target_s) > 0)

    @property
    def speeds(self) -> np.ndarray:
        """float64[pieces] — source seconds per target second of each piece (edits aside)."""
        k = self._moving
        return (self.source_s[k + 1] - self.source_s[k]) / (self.target_s[k + 1] - self.target_s[k])

    def to_source(self, target_s) -> np.ndarray:
        """Source time playing at each target time (after an edit at exactly that time)."""
        t = np.asarray(target_s, np.float64)
        k = self._moving
        starts = self.target_s[k]
        piece = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(k) - 1)
        knot = k[piece]
        return self.source_s[knot] + (t - self.target_s[knot]) * self.speeds[piece]

    def played(self, source_s) -> np.ndarray:
        """float64[m], sorted: every target time at which one of ``source_s`` plays (none for
        a dropped moment, two for a repeated one), within the knots."""
        s = np.asarray(source_s, np.float64).ravel()
        moving = self._moving
        out = [np.zeros(0)]
        for piece, k in enumerate(moving):
            s0, s1 = self.source_s[k], self.source_s[k + 1]
            end = s <= s1 if piece == len(moving) - 1 else s < s1
            inside = s[(s >= s0) & end]
            out.append(self.target_s[k] + (inside - s0) / self.speeds[piece])
        return np.sort(np.concatenate(out))

    def pieces(self) -> list[tuple[float, float, float, float, bool]]:
        """Per piece of positive length: (target start, target end, source start, source
        end, whether an edit jumps into it)."""
        t, s = self.target_s, self.source_s
        return [
            (
                float(t[k]),
                float(t[k + 1]),
                float(s[k]),
                float(s[k + 1]),
                bool(k and t[k - 1] == t[k]),
            )
            for k in self._moving
        ]

    def segments(self) -> list[dict]:
        """Per piece: target span, source span and speed (JSON-ready)."""
        return [
            {
                "target_s": [round(t0, 4), round(t1, 4)],
                "source_s": [round(s0, 4), round(s1, 4)],
                "speed": round((s1 - s0) / (t1 - t0), 5),
            }
            for t0, t1, s0, s1, _ in self.pieces()
        ]

    def edits(self) -> list[BarEdit]:
        """The jumps, in order."""
        at = np.flatnonzero(np.diff(self.target_s) == 0)
        return [
            BarEdit(
                float(self.target_s[k]), float(self.source_s[k]), float(self.source_s[k + 1]), n
            )
            for k, n in zip(at, self.bars, strict=True)
        ]
