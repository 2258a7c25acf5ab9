"""Where a recording already fits an edit: rank tracks and start offsets before stretching.

For each track, every start that puts a downbeat (or a beat) on the edit's first cut is a
candidate; a candidate scores by how many cuts already sit near a landmark unstretched and by
how well the music's event curve follows the video's over the selection. The best few are
fitted (:func:`~v2m.model.retime.fit.fit_time_map`) and ranked by cuts hit, then fewest bar
edits, cuts on beats, smallest stretch and the curves' correlation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2m.model.errors import InvalidInputError
from v2m.model.retime.fit import Fit, candidates, fit_time_map
from v2m.model.retime.music import MusicAnalysis
from v2m.model.types import EventCurve

NEAR_S = 0.15
"""Unstretched, a cut this close to a landmark already fits."""
FITTED_PER_TRACK = 6


@dataclass(frozen=True)
class Match:
    music: MusicAnalysis
    offset_s: float
    fit: Fit
    hits: int
    """Cuts landed on a landmark."""
    largest_stretch: float
    """Largest |speed - 1| over the map."""
    curve_r: float
    """Correlation of the music's event curve with the video's over the selection."""

    @property
    def on_beat(self) -> int:
        """Cuts landed on a beat or downbeat (what beat trackers hear), not a plain onset."""
        return sum(m is not None and m.kind != "onset" for m in self.fit.landmarks)

    @property
    def rank_key(self) -> tuple:
        edits = len(self.fit.time_map.edits())
        return (-self.hits, edits, -self.on_beat, round(self.largest_stretch, 3), -self.curve_r)


def _curve_r(music: EventCurve, video: EventCurve, offset_s: float, duration_s: float) -> float:
    t = np.arange(0.0, duration_s, 0.1)
    a = np.interp(t, video.times_s, video.values)
    b = np.interp(t + offset_s, music.times_s, music.values)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _prefit_score(marks: np.ndarray, cuts: np.ndarray, offset_s: float) -> float:
    if not len(cuts):
        return 0.0
    near = np.abs(marks[None, :] - (cuts[:, None] + offset_s)).min(axis=1)
    return float(np.exp(-((near / NEAR_S) ** 2)).sum())


def matched(music: MusicAnalysis, offset_s: float, fit: Fit, *, curve_r: float) -> Match:
    """The Match a fit makes (its hits and largest stretch counted)."""
    speeds = fit.time_map.speeds
    return Match(
        music=music,
        offset_s=offset_s,
        fit=fit,
        hits=sum(m is not None for m in fit.landmarks),
        largest_stretch=float(np.abs(speeds - 1).max()) if len(speeds) else 0.0,
        curve_r=curve_r,
    )


def match_track(
    music: MusicAnalysis,
    cuts_s,
    *,
    video_curve: EventCurve,
    duration_s: float,
    max_stretch: float,
) -> list[Match]:
    """The fitted candidates for one track, best first (empty when the track is too short)."""
    cuts = np.array(sorted(c for c in cuts_s if 0 < c < duration_s), np.float64)
    need = duration_s * (1 + max_stretch)
    marks = np.array([m.source_s for m in candidates(music)])
    starts = music.downbeats_s if len(music.downbeats_s) else music.beats_s
    if not len(starts):
        starts = music.onsets_s
    first = float(cuts[0]) if len(cuts) else 0.0
    offsets = {round(float(s) - first, 3) for s in starts}
    offsets = sorted(o for o in offsets if o >= 0 and o + need <= music.duration_s)
    if not offsets and music.duration_s >= need:
        offsets = [0.0]
    scored = sorted(offsets, key=lambda o: -_prefit_score(marks, cuts, o))[:FITTED_PER_TRACK]
    out = []
    for offset in scored:
        try:
            fit = fit_time_map(
                music, cuts, duration_s=duration_s, offset_s=offset, max_stretch=max_stretch
            )
        except InvalidInputError:  # the recording runs out on every path from this start
            continue
        out.append(
            matched(
                music, offset, fit, curve_r=_curve_r(music.curve, video_curve, offset, duration_s)
            )
        )
    return sorted(out, key=lambda m: m.rank_key)


def match_library(
    tracks: list[MusicAnalysis],
    cuts_s,
    *,
    video_curve: EventCurve,
    duration_s: float,
    max_stretch: float,
) -> list[list[Match]]:
    """Every track's fitted starts (best first), best track first; tracks too short for the
    selection left out.

    Raises:
        InvalidInputError: when no track is long enough for the selection.
    """
    found = []
    for music in tracks:
        starts = match_track(
            music, cuts_s, video_curve=video_curve, duration_s=duration_s, max_stretch=max_stretch
        )
        if starts:
            found.append(starts)
    if not found:
        longest = max((t.duration_s for t in tracks), default=0.0)
        raise InvalidInputError(
            f"the selection lasts {duration_s:.1f} s but the longest recording offered lasts "
            f"{longest:.1f} s; choose a longer track or a shorter selection"
        )
    return sorted(found, key=lambda starts: starts[0].rank_key)


def rank_matches(tracks: list[MusicAnalysis], cuts_s, **fit) -> list[Match]:
    """The best start of every track long enough, best track first (see
    :func:`match_library` for the options and errors)."""
    return [starts[0] for starts in match_library(tracks, cuts_s, **fit)]
