"""Curve maths against direct NumPy evaluations of the paper's formulas (Eqs. 2–4)."""

import numpy as np
import pytest

from v2m.model import curves as C
from v2m.model.errors import InvalidInputError


def test_dissimilarity_is_one_minus_cosine_of_consecutive_vectors():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((50, 7))
    expected = [
        1 - f[k] @ f[k + 1] / (np.linalg.norm(f[k]) * np.linalg.norm(f[k + 1]))
        for k in range(len(f) - 1)
    ]
    np.testing.assert_allclose(C.dissimilarity(f), expected, rtol=1e-12, atol=1e-12)


def test_dissimilarity_range_and_zero_vectors():
    f = np.array([[1.0, 0], [1, 0], [-1, 0], [0, 0], [0, 0]])
    np.testing.assert_allclose(C.dissimilarity(f), [0.0, 2.0, 1.0, 1.0])


def test_midpoints_stamp_each_pair_between_its_two_times():
    t = np.array([0.0, 0.1, 0.3, 0.35])  # irregular, like a VFR stream
    np.testing.assert_allclose(C.midpoints(t), [0.05, 0.2, 0.325])
    with pytest.raises(InvalidInputError, match="strictly increasing"):
        C.midpoints(np.array([0.0, 0.2, 0.1]))


def test_standardize_matches_formula_and_constant_gives_zeros():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 2, 100)
    np.testing.assert_allclose(C.standardize(a), (a - a.mean()) / a.std())
    z = C.standardize(np.full(10, 0.37))
    assert np.all(z == 0) and not np.any(np.isnan(z))


def test_resample_upsampling_is_linear_interpolation():
    t = np.arange(0, 2.01, 0.25)
    v = np.sin(3 * t)
    rate, start, n = 40.0, 0.3, 40
    grid = start + np.arange(n) / rate
    # The bin mean of a linear segment is its value at the bin centre.
    expected = np.interp(grid, t, v)
    got = C.resample(v, t, rate_hz=rate, start_s=start, n_samples=n)
    inside = np.array([not np.any(np.abs(t - g) < 0.5 / rate) for g in grid])  # no knot in bin
    np.testing.assert_allclose(got[inside], expected[inside], atol=1e-12)


def test_resample_downsampling_is_the_bin_mean_and_keeps_a_spike():
    fine_rate = 30.0
    t = np.arange(300) / fine_rate
    v = np.zeros(300)
    v[137] = 10.0  # a one-frame spike
    got = C.resample(v, t, rate_hz=3.0, start_s=0.5 / 3.0, n_samples=30)
    # Numerical integration of the piecewise-linear function over each bin.
    x = np.linspace(0, 10, 200001)
    y = np.interp(x, t, v)
    edges = np.arange(31) / 3.0
    expected = [y[(x >= a) & (x < b)].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(got, expected, atol=2e-4)
    assert got.sum() / 3.0 == pytest.approx(10.0 / fine_rate, rel=1e-6)  # area preserved


def test_hann_kernel_is_normalized_hann_without_zero_taps():
    k = C.hann_kernel(31)
    n = np.arange(1, 32)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * n / 32)  # Hann of length 33 without its zero ends
    np.testing.assert_allclose(k, w / w.sum())
    assert k.sum() == pytest.approx(1.0) and np.all(k > 0)
    for bad in (0, 4, -3, 2.5):
        with pytest.raises(InvalidInputError, match="odd"):
            C.hann_kernel(bad)


def test_hann_smooth_is_zero_padded_convolution():
    rng = np.random.default_rng(3)
    v = rng.standard_normal(64)
    k = C.hann_kernel(9)
    padded = np.concatenate([np.zeros(4), v, np.zeros(4)])
    expected = [padded[i : i + 9] @ k[::-1] for i in range(64)]
    np.testing.assert_allclose(C.hann_smooth(v, kernel_size=9), expected)
    np.testing.assert_allclose(C.hann_smooth(v, kernel_size=1), v)


def test_event_curve_chains_the_recipe():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((120, 16))
    t = np.arange(120) / 24.0
    cs = C.event_curve(f, t, rate_hz=10.0, kernel_size=5, duration_s=5.0, source="test")
    a = 1 - np.einsum("ij,ij->i", f[:-1], f[1:]) / (
        np.linalg.norm(f[:-1], axis=1) * np.linalg.norm(f[1:], axis=1)
    )
    raw = (a - a.mean()) / a.std()
    np.testing.assert_allclose(cs.raw, raw)
    np.testing.assert_allclose(cs.raw_times_s, (t[:-1] + t[1:]) / 2)
    uniform = C.resample(raw, cs.raw_times_s, rate_hz=10.0, start_s=0.05, n_samples=50)
    np.testing.assert_allclose(cs.resampled.values, uniform, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        cs.smoothed.values, np.convolve(uniform, C.hann_kernel(5), "same"), rtol=1e-5, atol=1e-6
    )
    assert cs.smoothed.rate_hz == 10.0 and cs.smoothed.source == "test"
    assert len(cs.smoothed.values) == 50


def test_pick_peaks_respects_spacing_and_height():
    t = np.arange(100) * 0.1
    v = np.zeros(100)
    v[[10, 12, 40, 70, 71]] = [5, 4, 3, 1, 2]
    idx = C.pick_peaks(v, t, min_spacing_s=0.5)
    assert list(idx) == [10, 40, 71]  # 12 is within 0.5 s of the stronger 10
    assert list(C.pick_peaks(v, t, min_spacing_s=0.5, min_height=2.5)) == [10, 40]
    assert list(C.pick_peaks(v, t, min_spacing_s=0.1, max_peaks=2)) == [10, 12]


def test_kernel_size_for_seconds():
    assert C.kernel_size_for(2.5, rate_hz=12.5) == 31
    assert C.kernel_size_for(0.0, rate_hz=12.5) == 1
    assert C.kernel_size_for(1.0, rate_hz=10) == 11
