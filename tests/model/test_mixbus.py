"""The mix bus: strips, the room and the glue keep timing, are deterministic, and stems still
sum to the mix."""

import numpy as np
import pytest

from v2m.model.mixbus import ROOMS, compressor_gain, impulse_response, mix_stems

SR = 48000


def _click(at_s: float, seconds: float = 2.0) -> np.ndarray:
    audio = np.zeros((2, int(seconds * SR)), np.float32)
    i = int(at_s * SR)
    audio[:, i : i + 64] = np.hanning(64)[None, :] * 0.8
    return audio


def test_the_room_adds_a_tail_after_an_onset_never_before_it():
    stems = {"harmony": _click(0.5)}
    out, described = mix_stems(stems, sample_rate_hz=SR, style="orchestral", seed=1)
    wet = out["harmony"]
    onset = int(0.5 * SR)
    assert np.abs(wet[:, : onset - 200]).max() < 1e-4  # nothing before the hit
    assert np.abs(wet[:, onset + SR // 2 :]).max() > 1e-4  # a hall's tail after it
    assert described["room"]["decay_s"] == ROOMS["orchestral"].decay_s


def test_the_mix_bus_is_deterministic_for_a_seed_and_stems_sum_to_the_mix():
    rng = np.random.default_rng(0)
    stems = {
        name: (0.1 * rng.standard_normal((2, SR))).astype(np.float32)
        for name in ("drums", "bass", "harmony")
    }
    a, _ = mix_stems(stems, sample_rate_hz=SR, style="rock", seed=4)
    b, _ = mix_stems(stems, sample_rate_hz=SR, style="rock", seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in stems)
    assert set(a) == set(stems) and all(v.dtype == np.float32 for v in a.values())
    harmony = a["harmony"]
    assert np.abs(harmony[0]).sum() > np.abs(harmony[1]).sum()  # panned left of centre


def test_the_compressor_reacts_at_once_and_releases_slowly():
    audio = np.concatenate([np.full(SR // 2, 0.05), np.full(SR // 2, 0.8)])[None, :]
    gain = compressor_gain(np.repeat(audio, 2, 0), SR, threshold_db=-6, ratio=4)
    loud = SR // 2
    assert gain[loud] < 0.99 and gain[loud - 1] == pytest.approx(1.0)  # no look-back, no lag
    assert compressor_gain(np.zeros((2, 100)), SR, threshold_db=-6, ratio=4).min() == 1.0


def test_impulse_responses_differ_per_channel_and_have_unit_energy():
    ir = impulse_response(ROOMS["cinematic"], seed=3)
    assert ir.shape[0] == 2 and not np.allclose(ir[0], ir[1])
    assert float((ir**2).sum() / 2) == pytest.approx(1.0, rel=1e-3)


def test_lofi_gets_a_darker_tone_and_a_quiet_record_surface():
    from v2m.model.mixbus import vinyl_noise

    rng = np.random.default_rng(1)
    stems = {
        name: (0.2 * rng.standard_normal((2, SR))).astype(np.float32) for name in ("harmony", "fx")
    }
    lofi, described = mix_stems(stems, sample_rate_hz=SR, style="lofi", seed=2)
    rock, _ = mix_stems(stems, sample_rate_hz=SR, style="rock", seed=2)
    spectrum = np.abs(np.fft.rfft(lofi["harmony"][0]))
    bright = np.abs(np.fft.rfft(rock["harmony"][0]))
    top = slice(int(len(spectrum) * 10000 / 24000), None)  # above 10 kHz
    assert spectrum[top].mean() < 0.3 * bright[top].mean()
    assert described["tone"]["noise_db"] == -46.0
    noise = vinyl_noise(SR, SR, level_db=-46.0, seed=0)
    assert 20 * np.log10(np.abs(noise).max()) < -20  # far below any beat


def test_the_gap_before_a_hit_dips_only_the_moments_before_it():
    from v2m.model.mixbus import GAP_DB, GAP_S, gap_before_hits

    rate = 48000
    tone = np.tile(np.sin(np.arange(rate) / 7.0).astype(np.float32), (2, 1))
    out = gap_before_hits({"harmony": tone.copy()}, [0.5], sample_rate_hz=rate)["harmony"]
    at = lambda t: int(t * rate)  # noqa: E731
    inside = slice(at(0.5 - GAP_S[0]), at(0.5 - GAP_S[1] - 0.016))
    ratio = np.abs(out[:, inside]).max() / np.abs(tone[:, inside]).max()
    assert 20 * np.log10(ratio) == pytest.approx(-GAP_DB, abs=0.1)
    np.testing.assert_array_equal(out[:, at(0.5) :], tone[:, at(0.5) :])  # the hit untouched
    np.testing.assert_array_equal(out[:, : at(0.3)], tone[:, : at(0.3)])
    assert gap_before_hits({}, [0.5], sample_rate_hz=rate) == {}
