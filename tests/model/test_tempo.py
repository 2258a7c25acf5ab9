"""Hit-point tempo solver."""

import numpy as np
import pytest

from v2m.model.errors import InvalidInputError
from v2m.model.tempo import RANGE_STRETCH, SUBDIVISION, constant_tempo_map, solve_tempo
from v2m.model.types import Hit


def _solve(
    times,
    *,
    duration=30.0,
    fps=24.0,
    bpm_range=(84, 132),
    bpm=100,
    meter=4,
    kinds=None,
    strengths=None,
):
    kinds = kinds or ["cut"] * len(times)
    strengths = strengths or [0.9] * len(times)
    hits = [Hit(t, s, k) for t, s, k in zip(times, strengths, kinds, strict=True)]
    return solve_tempo(
        hits, duration_s=duration, bpm_range=bpm_range, bpm=bpm, meter=meter, frame_rate_hz=fps
    )


def test_cuts_on_a_constant_tempo_give_that_tempo():
    beat = 60 / 96
    plan = _solve([2 * beat + 1.0, 10 * beat + 1.0, 18 * beat + 1.0, 34 * beat + 1.0])
    assert plan.tempo_map.constant
    assert plan.bpm_min == pytest.approx(96, abs=0.05) and plan.bpm_max == pytest.approx(
        96, abs=0.05
    )
    assert all(p.on_downbeat for p in plan.placements)
    assert all(abs(p.error_frames) < 1e-6 for p in plan.placements)


def test_irregular_cuts_all_land_exactly_with_smooth_tempo():
    times = [0.7, 1.9, 3.1, 5.3, 6.6, 9.05, 11.2, 14.9, 15.6, 19.95]
    plan = _solve(times, duration=22.0)
    grid = plan.tempo_map
    assert [p.achieved_s for p in plan.placements] == pytest.approx(times, abs=1e-9)
    beats = grid.beat_times_s
    assert np.all(np.diff(beats) > 0)
    bpm = 60 / np.diff(beats[(beats > 0) & (beats < 22)])
    assert bpm.min() > 84 * 0.85 and bpm.max() < 132 * 1.15
    # Smooth: neighbouring beats mostly within 3 %; steps only where hits are a beat apart.
    steps = np.abs(np.diff(np.log(bpm)))
    assert np.median(steps) < 0.03 and steps.max() < 0.15
    # The grid covers the whole clip, from before 0 to past the end.
    assert beats[0] <= 0 and beats[-1] >= 22.0


def test_strong_hits_prefer_downbeats():
    times = [2.0, 4.4, 6.8, 9.2, 11.6]  # 2.4 s apart: 4 beats at 100 bpm
    plan = _solve(times, duration=14)
    assert all(p.on_downbeat for p in plan.placements)


def test_close_hits_fall_on_half_beats():
    plan = _solve([4.0, 4.3, 8.0], duration=12)
    got = {round(p.time_s, 3): p for p in plan.placements}
    assert got[4.3].achieved_s == pytest.approx(4.3, abs=1e-9)
    assert got[4.3].beat % 1 == 0.5 and not got[4.3].on_beat


def test_peaks_do_not_bend_the_grid():
    base = _solve([2.0, 8.0], duration=12)
    with_peak = _solve([2.0, 8.0, 5.123], duration=12, kinds=["cut", "cut", "peak"])
    np.testing.assert_allclose(base.tempo_map.tick_times_s, with_peak.tempo_map.tick_times_s)
    peak = [p for p in with_peak.placements if p.kind == "peak"][0]
    assert abs(peak.beat * SUBDIVISION - round(peak.beat * SUBDIVISION)) < 1e-9


def test_no_hits_gives_the_preferred_tempo_and_one_hit_its_phase():
    plan = _solve([], duration=10, bpm=90, bpm_range=(80, 100))
    assert plan.bpm_min == pytest.approx(90)
    one = _solve([3.33], duration=10, bpm=90, bpm_range=(80, 100))
    assert one.placements[0].error_ms == pytest.approx(0, abs=1e-6)


def test_tempo_map_round_trips_between_beats_and_seconds():
    grid = constant_tempo_map(beat_s=0.5, phase_s=0.2, meter=3, duration_s=5)
    beats = grid.beat_of([0.2, 0.7, 1.45])
    np.testing.assert_allclose(grid.time_of(beats), [0.2, 0.7, 1.45])
    assert grid.meter == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bpm": 5, "bpm_range": (4, 6)},
        {"meter": 0},
        {"duration": -1},
        {"bpm": 200, "bpm_range": (80, 120)},
    ],
)
def test_bad_tempo_arguments(kwargs):
    with pytest.raises(InvalidInputError):
        _solve([1.0], **kwargs)


def test_cuts_prefer_whole_beats_when_a_ramp_in_range_allows_it():
    """Beat trackers hear beats, not half-beats: 1.77 → 3.5 s is 2.5 beats at the cinematic
    style's 86 bpm, but a ramp to 125 bpm (inside its 84..132 range) makes it 3 whole beats."""
    plan = _solve([1.77, 3.5, 4.5, 5.2], duration=6.5, bpm=100, bpm_range=(84, 132))
    assert all(p.on_beat for p in plan.placements), [p.beat for p in plan.placements]
    assert 84 * 0.98 <= plan.bpm_min and plan.bpm_max <= 132 * 1.02
    assert max(abs(p.error_frames) for p in plan.placements) < 1e-6


def test_a_cut_takes_a_whole_beat_slightly_outside_the_range_over_a_half_beat():
    """1.02 s between two cuts is 1.5 beats anywhere in 60..90 bpm; one beat at 58.8 bpm is
    2 % slower than the range allows — within the stretch — so the cut stays on a beat."""
    plan = _solve([2.0, 5.0, 6.02, 9.0], duration=11, bpm=72, bpm_range=(60, 90))
    assert all(p.on_beat for p in plan.placements), [p.beat for p in plan.placements]
    assert plan.bpm_min >= 60 / RANGE_STRETCH and plan.bpm_max <= 90 * RANGE_STRETCH
    # 0.55 s: one beat would be 109 bpm, beyond the stretch (99): that cut takes a half-beat.
    far = _solve([2.0, 5.0, 5.55, 9.0], duration=11, bpm=72, bpm_range=(60, 90))
    assert any(not p.on_beat for p in far.placements)
