"""Music event curves with the built-in ``spectral`` encoder."""

import numpy as np
import pytest

from tests.helpers import click_track, shared_media_path, write_audio
from v2m.model.analysis import AnalysisSettings, analyze
from v2m.model.media import decode_audio
from v2m.model.metrics import beat_f1

HOP_S = 512 / 22050


def test_click_track_peaks_land_on_the_clicks(tmp_path):
    clicks = np.array([0.5, 1.1, 1.6, 2.3, 3.0, 3.5, 4.05])  # irregular, >= 0.35 s apart
    path = write_audio(tmp_path / "clicks.flac", click_track(clicks, duration_s=5.0), 22050)
    analysis = analyze(path)
    assert analysis.encoder == "spectral" and analysis.modality == "music"
    peaks = analysis.peaks_s
    scores = beat_f1(clicks, peaks, tolerance_s=2 * HOP_S)
    assert scores.recall == 1.0 and scores.precision == 1.0, (peaks, clicks)


@pytest.mark.parametrize(
    "name,min_precision",
    [
        ("loop_amen_full.flac", 0.9),
        ("admiralbob77_-_Choice_-_Drum-bass.hq.ogg", 0.85),
        ("Kevin_MacLeod_-_Vibe_Ace.hq.ogg", 0.9),
        ("brahms_hungarian_dance_5.hq.ogg", 0.55),  # legato strings: soft, smeared attacks
    ],
)
def test_shared_music_curve_peaks_are_onsets(name, min_precision):
    import librosa

    path = shared_media_path(f"music/{name}")
    analysis = analyze(path, settings=AnalysisSettings(min_peak_spacing_s=0.1))
    y = decode_audio(path, sample_rate_hz=22050).mono
    onsets = librosa.onset.onset_detect(y=y, sr=22050, units="time")
    scores = beat_f1(onsets, analysis.peaks_s, tolerance_s=0.07)
    # The curve's strong peaks are real onsets.
    assert scores.precision >= min_precision, scores
    assert scores.recall >= 0.5, scores
    assert analysis.curves.smoothed.duration_s == pytest.approx(analysis.duration_s, abs=0.1)


def test_silence_gives_a_flat_curve_not_nan(tmp_path):
    path = write_audio(tmp_path / "silence.flac", np.zeros((1, 22050 * 3), np.float32), 22050)
    analysis = analyze(path)
    assert np.all(np.isfinite(analysis.curves.smoothed.values))
    assert np.allclose(analysis.curves.raw, 0.0)
    assert len(analysis.peaks_s) == 0
