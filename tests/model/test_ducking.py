"""Ducking the music under dialogue in the video's own soundtrack."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from v2m.model.ducking import dialogue_duck, find_speech
from v2m.model.errors import InvalidInputError
from v2m.model.media import AudioSignal
from v2m.model.options import ScoreOptions
from v2m.model.pipeline import score
from v2m.model.sample_clip import ClipSpec, render_clip

SR = 16000


def speechlike(duration_s: float, regions) -> np.ndarray:
    """float32[1, n]: quiet room tone, plus voice-band noise pulsing at syllable rate."""
    rng = np.random.default_rng(0)
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    y = 0.001 * rng.standard_normal(n)
    voice = sosfilt(
        butter(4, [300, 3000], btype="band", fs=SR, output="sos"), rng.standard_normal(n)
    )
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 2
    for a, b in regions:
        on = (t >= a) & (t < b)
        y[on] += 0.3 * voice[on] * syllables[on]
    return y[None].astype(np.float32)


def test_speech_regions_are_found_and_ducked():
    audio = AudioSignal(speechlike(8.0, [(2.0, 4.0), (6.0, 7.0)]), SR)
    speech = find_speech(audio)
    assert speech.any()
    duck = dialogue_duck(audio, n_samples=8 * 48000, sample_rate_hz=48000)
    assert len(duck.regions_s) == 2
    for (a, b), (ta, tb) in zip(duck.regions_s, [(2.0, 4.0), (6.0, 7.0)], strict=True):
        assert a == pytest.approx(ta, abs=0.3) and b == pytest.approx(tb, abs=0.3)
    g = duck.gain
    assert g[int(3.0 * 48000)] == pytest.approx(10 ** (-10 / 20), rel=0.01)
    assert g[int(1.0 * 48000)] == 1.0 and g[int(5.2 * 48000)] == 1.0


def test_music_only_room_tone_is_not_ducked():
    audio = AudioSignal(speechlike(5.0, []), SR)
    duck = dialogue_duck(audio, n_samples=5 * 48000, sample_rate_hz=48000)
    assert duck.regions_s == () and np.all(duck.gain == 1.0)
    with pytest.raises(InvalidInputError, match="duck depth"):
        dialogue_duck(audio, n_samples=10, sample_rate_hz=48000, depth_db=-80)


def test_score_ducks_under_the_clips_dialogue(tmp_path):
    clip = tmp_path / "talk.mp4"
    voice = speechlike(6.0, [(2.0, 4.0)])
    render_clip(clip, ClipSpec(duration_s=6, cut_times_s=(3.0,)), audio=AudioSignal(voice, SR))
    plain = score(clip, ScoreOptions(seed=0), follow_motion=False).result
    ducked = score(clip, ScoreOptions(seed=0, duck_dialogue=True), follow_motion=False).result
    assert len(ducked.metadata["dialogue_ducking"]["regions_s"]) == 1
    sr = ducked.sample_rate
    inside = slice(int(2.3 * sr), int(3.7 * sr))
    ratio = np.abs(ducked.mix[:, inside]).sum() / np.abs(plain.mix[:, inside]).sum()
    assert ratio == pytest.approx(10 ** (-10 / 20), rel=0.05)
    outside = slice(0, int(1.5 * sr))
    np.testing.assert_array_equal(ducked.mix[:, outside], plain.mix[:, outside])
