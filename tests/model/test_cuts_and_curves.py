"""Cuts and curve peaks on synthetic clips (exact ground truth) and on the shared videos."""

from fractions import Fraction

import numpy as np
import pytest

from tests.helpers import HARD_CUT_VIDEOS, shared_media_path
from v2m.model.analysis import AnalysisSettings, analyze
from v2m.model.sample_clip import ClipSpec

SYNTHETIC = {
    "cfr": ClipSpec(),
    "ntsc": ClipSpec(fps=Fraction(30000, 1001), seed=5),
    "film-vfr": ClipSpec(fps=Fraction(24000, 1001), drop_every=3, seed=2),
    "offset": ClipSpec(start_offset_s=10.0, seed=1),
    "rotated": ClipSpec(rotation_deg=-90, seed=3),
    "anamorphic": ClipSpec(width=480, sample_aspect_ratio=Fraction(4, 3), seed=4),
    "60p": ClipSpec(fps=Fraction(60), duration_s=6, cut_times_s=(1.5, 3.1, 4.5), seed=6),
}


def _top_peak_times(analysis, k: int) -> np.ndarray:
    c = analysis.curves
    return np.sort(c.raw_times_s[np.argsort(-c.raw)[:k]])


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_synthetic_cuts_are_detected_exactly(make_clip, name):
    spec = SYNTHETIC[name]
    analysis = analyze(make_clip(spec))
    truth = spec.cut_frame_times_s()
    got = [c.time_s for c in analysis.cuts]
    assert len(got) == len(truth), (got, truth)
    np.testing.assert_allclose(got, truth, atol=1e-4)  # the exact frame
    assert all(0.5 <= c.confidence <= 1.0 for c in analysis.cuts)
    # The curve's largest raw peaks sit between the last frame of a shot and the first of the next.
    frame_s = 1.0 / float(spec.fps)
    peaks = _top_peak_times(analysis, len(truth))
    assert np.all(np.abs(peaks - np.array(truth)) <= (1 + (spec.drop_every > 0)) * frame_s)


def test_analysis_fps_subsamples_features_but_not_cuts(make_clip):
    spec = SYNTHETIC["cfr"]
    analysis = analyze(make_clip(spec), settings=AnalysisSettings(analysis_fps=10))
    assert len(analysis.feature_times_s) == pytest.approx(spec.duration_s * 10, abs=1)
    np.testing.assert_allclose(
        [c.time_s for c in analysis.cuts], spec.cut_frame_times_s(), atol=1e-4
    )


@pytest.mark.parametrize("relative", HARD_CUT_VIDEOS)
def test_shared_videos_cuts_and_peaks_match_the_index(media_index, relative):
    path = shared_media_path(relative)
    entry = media_index[relative]
    truth = np.array(entry["true_hard_cuts_s"])
    analysis = analyze(path)
    one_frame = 1.0 / analysis.frame_rate_hz + 0.0005  # the index rounds times to the ms
    got = np.array([c.time_s for c in analysis.cuts])
    for t in truth:  # every true hard cut is found within one frame
        assert np.min(np.abs(got - t)) <= one_frame, (t, got)
    # ... and the curve's largest raw peaks are those cuts (within one frame; the VFR file's
    # cuts follow a dropped frame, so their midpoint stamp is a whole frame early).
    peaks = _top_peak_times(analysis, len(truth))
    np.testing.assert_allclose(peaks, np.sort(truth), atol=one_frame)


def test_testvideo_cuts_at_one_and_six_seconds(media_index):
    analysis = analyze(shared_media_path("video/pyscenedetect_testvideo.mp4"))
    frame_s = 1001 / 30000
    got = [c.time_s for c in analysis.cuts]
    for t in (1.00, 6.01):
        assert min(abs(g - t) for g in got) <= frame_s


def test_vfr_and_rotated_copies_give_the_same_cuts():
    vfr = analyze(shared_media_path("video/goldeneye-vfr-drop3.mp4"))
    rot = analyze(shared_media_path("video/issue-134-rotate.mp4"))
    np.testing.assert_allclose(
        [c.time_s for c in vfr.cuts], [c.time_s for c in rot.cuts], atol=1e-6
    )


@pytest.mark.parametrize("relative", HARD_CUT_VIDEOS)
def test_every_cut_pyscenedetect_reports_is_found(relative):
    """The one-pass detector finds every cut of ``detect(video, AdaptiveDetector())`` (what the
    SCH metric counts), soft ones included, within one frame."""
    from v2m.model.metrics import pyscenedetect_cut_times

    path = shared_media_path(relative)
    analysis = analyze(path)
    ours = np.array([c.time_s for c in analysis.cuts])
    for t in pyscenedetect_cut_times(path):
        assert np.min(np.abs(ours - t)) <= 1.0 / analysis.frame_rate_hz + 1e-6, (t, ours)
