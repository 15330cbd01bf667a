"""The spectral kernels behind the primitives (running medians, REPET-SIM, harmonic salience,
comb masks, whitening) against their numpy twins, on rendered music and on random input."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.harmonic import (
    comb_mask,
    comb_mask_ref,
    harmonic_salience,
    harmonic_salience_ref,
    whiten,
    whiten_ref,
)
from kernels.hpss import hpss_combine, hpss_combine_ref
from kernels.medians import (
    freq_median,
    freq_median_ref,
    time_median_ref,
    time_median_step,
)
from kernels.repet import (
    band_edges,
    compress_frame,
    compress_frame_ref,
    repet_step,
    repet_step_ref,
)
from rtsep.config import geometry_for
from rtsep.core.stft import stft_offline

from .music import song

TOL = dict(rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def music_mags() -> np.ndarray:
    """``(frames, bins)`` magnitudes of 3 s of the rendered song at 44.1 kHz."""
    g = geometry_for(44100, "default")
    x = song(3.0, channels=1)
    return np.ascontiguousarray(np.abs(stft_offline(x, g)[0]).T)


# -- running medians (HPSS) ---------------------------------------------------------------------
@pytest.mark.parametrize("length", [1, 4, 17])
def test_time_median_matches_twin(length, music_mags):
    rng = np.random.default_rng(length)
    n_bins = music_mags.shape[1]
    ring = np.zeros((length, n_bins))
    sorted_win = np.zeros((n_bins, length))
    twin_ring = np.zeros((length, n_bins))
    out = np.empty(n_bins)
    frames = np.concatenate([music_mags[:60], np.round(rng.random((40, n_bins)), 1)])
    for t, frame in enumerate(frames):  # rounded frames make ties, which removal must handle
        time_median_step(frame, ring, sorted_win, t % length, out)
        twin_ring[t % length] = frame
        np.testing.assert_array_equal(out, time_median_ref(twin_ring))


@pytest.mark.parametrize("half_width", [0, 1, 8, 40, 2000])
def test_freq_median_matches_twin(half_width, music_mags):
    out = np.empty(music_mags.shape[1])
    scratch = np.empty(2 * half_width + 1)
    ties = np.round(np.random.default_rng(0).random(300), 1)
    for frame in (music_mags[10], music_mags[100], ties):
        o = out[: frame.shape[0]]
        freq_median(frame, half_width, scratch, o)
        np.testing.assert_array_equal(o, freq_median_ref(frame, half_width))


def test_hpss_combine_matches_twin():
    rng = np.random.default_rng(3)
    h, s, p = rng.random((3, 1025)) * (rng.random((3, 1025)) > 0.2)
    out = np.empty(1025)
    for power in (1.0, 2.0, 1.5):
        hpss_combine(h, s, p, power, out)
        np.testing.assert_allclose(out, hpss_combine_ref(h, s, p, power), **TOL)
        assert out.min() >= 0.0 and out.max() <= 1.0


# -- REPET-SIM ----------------------------------------------------------------------------------
def test_band_edges_cover_every_bin_once():
    for n_bins, n_bands in ((1025, 64), (513, 64), (129, 128), (1025, 2000)):
        e = band_edges(n_bins, n_bands)
        assert e[0] == 1 and e[-1] == n_bins
        assert np.all(np.diff(e) >= 1)
        widths = np.diff(e)
        assert widths[-1] >= widths[0]  # log-spaced: wider up high


def test_compress_frame_matches_twin(music_mags):
    e = band_edges(music_mags.shape[1], 64)
    out = np.empty(64)
    for frame in (music_mags[5], music_mags[50], np.zeros(music_mags.shape[1])):
        compress_frame(frame, e, out)
        np.testing.assert_allclose(out, compress_frame_ref(frame, e), **TOL)
    assert np.linalg.norm(out) == 0.0  # silence stays 0 instead of dividing by zero


def _run_repet(frames, n_slots, min_dist, max_k, threshold, power, check_every):
    """Step the kernel through ``frames`` ``(T, bins)`` and compare with the twin on the way."""
    n_bins = frames.shape[1]
    e = band_edges(n_bins, 32)
    hist_mag = np.zeros((n_slots, n_bins))
    hist_comp = np.zeros((n_slots, 32))
    comp = np.empty(32)
    sims = np.empty(n_slots)
    chosen = np.empty(max_k, dtype=np.int64)
    gathered = np.empty((max_k, n_bins))
    out = np.empty(n_bins)
    pos = count = checked = 0
    for t, frame in enumerate(frames):
        compress_frame(frame, e, comp)
        if t % check_every == 0:
            ref, ref_chosen = repet_step_ref(frame, comp, hist_mag, hist_comp, pos, count,
                                             min_dist, max_k, threshold, power)
        n = repet_step(frame, comp, hist_mag, hist_comp, pos, count, min_dist, max_k,
                       threshold, power, sims, chosen, gathered, out)
        assert 0.0 <= out.min() and out.max() <= 1.0
        if t % check_every == 0:
            np.testing.assert_array_equal(chosen[:n], ref_chosen)
            np.testing.assert_allclose(out, ref, **TOL)
            checked += n > 0
        pos = (pos + 1) % n_slots
        count = min(count + 1, n_slots)
    return checked


def test_repet_step_matches_twin_on_music(music_mags):
    # history shorter than the clip so the ring wraps
    assert _run_repet(music_mags, 150, 10, 20, 0.0, 1.0, 7) > 10
    assert _run_repet(music_mags[:120], 60, 3, 5, 0.9, 2.0, 3) > 5


def test_repet_step_matches_twin_on_random():
    frames = np.random.default_rng(4).random((90, 257))
    assert _run_repet(frames, 40, 4, 6, 0.5, 1.5, 1) > 10


def test_repet_no_history_is_neutral():
    frame = np.ones(65)
    comp = np.empty(8)
    e = band_edges(65, 8)
    compress_frame(frame, e, comp)
    out = np.empty(65)
    n = repet_step(frame, comp, np.zeros((10, 65)), np.zeros((10, 8)), 0, 0, 2, 4, 0.0, 1.0,
                   np.empty(10), np.empty(4, dtype=np.int64), np.empty((4, 65)), out)
    assert n == 0 and np.all(out == 0.5)


# -- harmonic salience, comb masks, whitening -------------------------------------------------
def test_harmonic_salience_matches_twin(music_mags):
    weights = 0.8 ** np.arange(10)
    for sr, n_fft in ((44100, 2048), (16000, 1024)):
        cand = 100.0 * 2.0 ** (np.arange(150) / 48) / (sr / n_fft)
        noise = np.random.default_rng(5).random(n_fft // 2 + 1)
        for frame in (music_mags[20, : n_fft // 2 + 1], noise):
            sal = np.empty(150)
            harmonic_salience(np.ascontiguousarray(frame), cand, weights, sal)
            np.testing.assert_allclose(sal, harmonic_salience_ref(frame, cand, weights), **TOL)


def test_harmonic_salience_peaks_at_true_f0():
    bin_hz = 44100 / 2048
    f0 = 220.0
    mag = np.zeros(1025)
    for h in range(1, 15):
        mag[int(round(h * f0 / bin_hz))] = 1.0 / h
    cand_hz = 100.0 * 2.0 ** (np.arange(170) / 48)
    sal = np.empty(170)
    harmonic_salience(mag, cand_hz / bin_hz, 0.8 ** np.arange(10), sal)
    assert abs(np.log2(cand_hz[np.argmax(sal)] / f0)) < 0.02


def test_comb_mask_matches_twin():
    out = np.empty(1025)
    cases = [(np.array([10.3]), 1), (np.array([23.7, 9.1, 0.0, -1.0, 1e-9, 0.49]), 6),
             (np.array([5.0, 7.5]), 0), (np.array([40.0, 41.0]), 2)]
    for f0s, n in cases:
        for w0, rel in ((1.5, 0.01), (0.6, 0.0), (3.0, 0.05)):
            comb_mask(f0s, n, 370.0, w0, rel, out)
            np.testing.assert_allclose(out, comb_mask_ref(f0s, n, 370.0, w0, rel, 1025), **TOL)
            assert out.min() >= 0.0 and out.max() <= 1.0
            # no partial at or above max_bin; bumps of those below may spill over it
            assert np.all(out[int(370.0 + w0 + rel * 370.0) + 1 :] == 0.0)
    comb_mask(np.array([20.0]), 1, 370.0, 1.5, 0.0, out)
    assert out[20] == 1.0 and out[40] == 1.0 and out[30] == 0.0 and out[10] == 0.0


def test_whiten_matches_twin(music_mags):
    out = np.empty(music_mags.shape[1])
    for frame in (np.sqrt(music_mags[30]), np.random.default_rng(6).random(1025) * 100):
        for hw in (0, 4, 50):
            whiten(frame, hw, out)
            np.testing.assert_allclose(out, whiten_ref(frame, hw), rtol=1e-9, atol=1e-9)
    peak = np.zeros(101)
    peak[50] = 1.0
    whiten(peak, 4, out[:101])
    assert out[50] == pytest.approx(1.0 - 1.0 / 9.0) and out[:101].sum() == out[50]


def test_median_networks_put_the_median_ranks_in_the_middle_rows():
    """Every network n = 1..20 (REPET's neighbour counts) on random rows with ties."""
    from kernels.repet import median_network

    rng = np.random.default_rng(5)
    for n in range(1, 21):
        for _ in range(50):
            rows = np.round(rng.random((n, 7)), 1)
            expected = np.median(rows, axis=0)
            work = rows.copy()
            for i, j in median_network(n):
                lo, hi = np.minimum(work[i], work[j]), np.maximum(work[i], work[j])
                work[i], work[j] = lo, hi
            h = n // 2
            got = work[h] if n % 2 else 0.5 * (work[h - 1] + work[h])
            np.testing.assert_array_equal(got, expected)
