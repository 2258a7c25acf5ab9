"""Scene Cut Hit (paper Algorithm 1), beat F1, curve correlation and timing errors."""

import numpy as np
import pytest

from tests.helpers import click_track, write_audio
from v2m.model.errors import InvalidInputError
from v2m.model.metrics import (
    beat_f1,
    curve_correlation,
    librosa_beat_times,
    pyscenedetect_cut_times,
    scene_cut_hit,
    scene_cut_hit_for_media,
    timing_errors,
)
from v2m.model.sample_clip import ClipSpec
from v2m.model.types import EventCurve


def test_sch_counts_cuts_with_a_beat_within_a_tenth_of_a_second():
    cuts = [1.0, 2.0, 3.0, 4.0]
    beats = [0.5, 1.09, 2.11, 2.95, 5.0]
    assert scene_cut_hit(cuts, beats) == pytest.approx(0.5)  # 1.0 and 3.0 hit; 2.0 off by 0.11
    assert scene_cut_hit(cuts, beats, tolerance_s=0.12) == pytest.approx(0.75)
    assert scene_cut_hit(cuts, [1.1]) == pytest.approx(0.25)  # exactly at the tolerance
    assert scene_cut_hit([], beats) is None  # Algorithm 1 returns None without cuts
    assert scene_cut_hit(cuts, []) == 0.0
    # One beat may serve two cuts (Algorithm 1 breaks per cut, not per beat).
    assert scene_cut_hit([1.0, 1.05], [1.02]) == 1.0


@pytest.fixture(scope="module")
def steady_clicks(tmp_path_factory):
    """A 120 bpm click track (beats every 0.5 s), 8 s long."""
    path = tmp_path_factory.mktemp("sch") / "clicks.flac"
    return write_audio(path, click_track(np.arange(0.5, 8.0, 0.5), duration_s=8.0), 22050)


def test_sch_algorithm_1_on_files_hits_and_misses(make_clip, steady_clicks):
    on_beat = make_clip(ClipSpec(duration_s=8, cut_times_s=(2.0, 4.0, 6.0), seed=21))
    off_beat = make_clip(ClipSpec(duration_s=8, cut_times_s=(2.25, 4.25, 6.25), seed=22))
    assert pyscenedetect_cut_times(on_beat) == pytest.approx([2.0, 4.0, 6.0], abs=0.04)
    beats = librosa_beat_times(steady_clicks)
    assert len(beats) >= 10 and np.median(np.diff(beats)) == pytest.approx(0.5, abs=0.02)
    assert scene_cut_hit_for_media(on_beat, steady_clicks) == 1.0
    assert scene_cut_hit_for_media(off_beat, steady_clicks) == 0.0


def test_beat_f1_matches_one_to_one():
    ref = [1.0, 2.0, 3.0, 4.0]
    est = [1.02, 1.04, 2.5, 3.96]
    s = beat_f1(ref, est, tolerance_s=0.07)
    assert s.matched == 2  # 1.02 takes 1.0; 1.04 has nothing left; 3.96 takes 4.0
    assert (s.precision, s.recall) == (0.5, 0.5) and s.f1 == pytest.approx(0.5)
    assert beat_f1(ref, ref).f1 == 1.0
    assert beat_f1(ref, []).f1 == 0.0


def test_curve_correlation_resamples_to_a_common_grid():
    t = np.arange(0, 10, 1 / 30)
    x = np.sin(2 * np.pi * 0.3 * t)
    a = EventCurve(x.astype(np.float32), 30.0, 0.0)
    t2 = np.arange(0, 10, 1 / 12.5)
    b = EventCurve(np.sin(2 * np.pi * 0.3 * t2).astype(np.float32), 12.5, 0.0)
    assert curve_correlation(a, b) == pytest.approx(1.0, abs=0.01)
    neg = EventCurve(-b.values, 12.5, 0.0)
    assert curve_correlation(a, neg) == pytest.approx(-1.0, abs=0.01)
    flat = EventCurve(np.zeros(100, np.float32), 10.0)
    assert curve_correlation(a, flat) == 0.0
    with pytest.raises(InvalidInputError, match="overlap"):
        curve_correlation(a, EventCurve(np.zeros(10, np.float32), 10.0, start_s=50.0))


def test_timing_errors_in_ms_and_frames():
    errs = timing_errors([1.0, 2.0], [1.02, 1.98, 5.0], frame_rate_hz=25)
    assert errs[0].error_ms == pytest.approx(20.0) and errs[0].error_frames == pytest.approx(0.5)
    assert errs[1].error_ms == pytest.approx(-20.0) and errs[1].achieved_s == 1.98
    assert timing_errors([1.0], [], frame_rate_hz=25)[0].error_ms is None
    with pytest.raises(InvalidInputError):
        timing_errors([1.0], [1.0], frame_rate_hz=0)
