"""Clustering and confidence kernels against their numpy twins plus the properties the formulas
promise (paper 000 Eq. 1-3); the numba cache location; the public wrappers' input checks.
The spectral kernels are in ``test_kernels_spectral.py``."""

from __future__ import annotations

import numpy as np
import pytest

from kernels.clustering import cluster_mask, cluster_mask_ref
from kernels.confidence import (
    posterior_strength,
    posterior_strength_ref,
    silhouette,
    silhouette_from_sums,
    silhouette_pairs,
    silhouette_ref,
    two_means,
    two_means_ref,
)
from kernels.harmonic import comb_mask, harmonic_salience, whiten
from kernels.hpss import hpss_combine
from kernels.medians import freq_median, time_median_step
from kernels.repet import compress_frame, repet_step

TOL = dict(rtol=1e-9, atol=1e-12)


# -- clustering (Eq. 1) -------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [1, 3, 4])
def test_cluster_mask_matches_twin(dims):
    rng = np.random.default_rng(dims)
    emb = rng.random((1025, dims))
    w = rng.uniform(0.2, 2.0, dims)
    out = np.empty(1025)
    for beta in (0.5, 5.0, 500.0):
        cluster_mask(emb, w, beta, out)
        np.testing.assert_allclose(out, cluster_mask_ref(emb, w, beta), **TOL)


def test_clustering_and_confidence_match_twins_on_music_embeddings():
    """Real embeddings: the three primitives' masks on 2 s of the rendered song."""
    from rtsep.config import geometry_for
    from rtsep.core.stft import stft_offline
    from rtsep.primitives import make_primitives

    from .music import song

    g = geometry_for(44100, "default")
    mags = np.abs(stft_offline(song(2.0, channels=1), g)[0]).T.copy()
    prims = make_primitives(("repet", "hpss", "pitch"), g)
    emb = np.empty((g.n_bins, 3))
    post = np.empty(g.n_bins)
    w = np.array([1.0, 0.5, 1.0])
    for t, mag in enumerate(mags):
        for d, p in enumerate(prims):
            emb[:, d] = p.step(mag)
        cluster_mask(emb, w, 5.0, post)
        np.testing.assert_allclose(post, cluster_mask_ref(emb, w, 5.0), **TOL)
    loud = np.argsort(mags[-1])[-400:]  # the last frame's loudest bins, as the engine samples
    pts = np.ascontiguousarray(emb[loud])
    labels = (post[loud] > 0.5).astype(np.int64)
    assert 0 < labels.sum() < labels.size
    assert silhouette(pts, labels) == pytest.approx(silhouette_ref(pts, labels), rel=1e-9)
    p_loud = np.ascontiguousarray(post[loud])
    assert posterior_strength(p_loud) == pytest.approx(posterior_strength_ref(p_loud), rel=1e-12)


def test_cluster_mask_properties():
    emb = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [0.9, 0.8, 0.1]])
    out = np.empty(4)
    cluster_mask(emb, np.ones(3), 5.0, out)
    assert out[0] < 0.5 < out[1]
    assert out[2] == pytest.approx(0.5)
    # with beta = 5 and the all-1 point sqrt(3) from mu0: p = 1 / (1 + exp(-5 sqrt 3))
    assert out[1] == pytest.approx(1.0 / (1.0 + np.exp(-5.0 * np.sqrt(3.0))))
    # symmetric: swapping the roles of 0 and 1 swaps the posteriors
    flipped = np.empty(4)
    cluster_mask(np.ascontiguousarray(1.0 - emb), np.ones(3), 5.0, flipped)
    np.testing.assert_allclose(flipped, 1.0 - out, atol=1e-12)
    # a zero weight removes that primitive's vote
    cluster_mask(emb, np.array([1.0, 1.0, 0.0]), 5.0, out)
    assert out[3] > 0.5
    # a huge beta saturates without overflow
    cluster_mask(emb, np.ones(3), 1e6, out)
    assert np.all(np.isfinite(out)) and out[0] == 0.0 and out[1] == 1.0


def test_cluster_mask_rejects_bad_layout():
    with pytest.raises(ValueError):
        cluster_mask(np.zeros((3, 10)).T, np.ones(3), 5.0, np.empty(10))
    with pytest.raises(ValueError):
        cluster_mask(np.zeros((10, 3)), np.ones(2), 5.0, np.empty(10))


# -- confidence (Eq. 2, 3) ----------------------------------------------------------------------
def test_silhouette_matches_twin():
    rng = np.random.default_rng(0)
    for n, d in ((2, 1), (50, 2), (1000, 3), (777, 4)):
        pts = rng.random((n, d))
        lab = (pts[:, 0] + 0.3 * rng.standard_normal(n) > 0.5).astype(np.int64)
        assert silhouette(pts, lab) == pytest.approx(silhouette_ref(pts, lab), rel=1e-9)


def test_silhouette_in_slices_matches_twin():
    rng = np.random.default_rng(7)
    pts = rng.random((301, 3))
    lab = (pts.sum(axis=1) > 1.5).astype(np.int64)
    sums = np.zeros((301, 2))
    for r0 in range(0, 301, 37):  # uneven slices covering every row once
        silhouette_pairs(pts, lab, sums, r0, r0 + 37)
    assert silhouette_from_sums(sums, lab) == pytest.approx(silhouette_ref(pts, lab), rel=1e-9)


@pytest.mark.parametrize("n, d", [(2, 1), (60, 3), (1000, 8), (997, 20)])
def test_two_means_matches_twin(n, d):
    rng = np.random.default_rng(n + d)
    # two overlapping blobs and a start that is a quarter wrong: several iterations to settle
    pts = np.concatenate([rng.normal(0.0, 0.6, (n // 2, d)), rng.normal(1.0, 0.6, (n - n // 2, d))])
    start = (rng.random(n) < 0.5).astype(np.int64) if n > 2 else np.array([0, 1])
    before = start.copy()
    for iterations in (1, 3, 10):
        got = two_means(pts, start, iterations)
        np.testing.assert_array_equal(got, two_means_ref(pts, start, iterations))
    np.testing.assert_array_equal(start, before)  # the start is not modified in place
    if n > 2:
        assert not np.array_equal(two_means(pts, start), start)  # it did move
    one = np.zeros(n, dtype=np.int64)  # a single cluster stays as it is
    np.testing.assert_array_equal(two_means(pts, one), one)
    with pytest.raises(ValueError):
        two_means(pts.astype(np.float32), start)
    with pytest.raises(ValueError):
        two_means(pts, start[:-1])


def test_silhouette_hand_example():
    # 1-D points 0, 1, 10 with labels 0, 0, 1:
    # s(0) = (10 - 1) / 10, s(1) = (9 - 1) / 9, s(10) = 0 (singleton) -> mean 0.5962962...
    pts = np.array([[0.0], [1.0], [10.0]])
    lab = np.array([0, 0, 1], dtype=np.int64)
    expected = (0.9 + 8.0 / 9.0 + 0.0) / 3.0
    assert silhouette(pts, lab) == pytest.approx(expected, rel=1e-12)
    assert silhouette_ref(pts, lab) == pytest.approx(expected, rel=1e-12)


def test_silhouette_extremes():
    rng = np.random.default_rng(1)
    blobs = np.concatenate([rng.normal(0.0, 0.01, (300, 3)), rng.normal(1.0, 0.01, (300, 3))])
    lab = np.repeat([0, 1], 300).astype(np.int64)
    assert silhouette(blobs, lab) > 0.97
    # ten points of the first blob filed with the second: they score about -1
    wrong = lab.copy()
    wrong[:10] = 1
    assert silhouette(blobs, wrong) < silhouette(blobs, lab) - 10 * 1.9 / 600
    mixed = lab.copy()
    rng.shuffle(mixed)
    assert abs(silhouette(blobs, mixed)) < 0.1
    assert silhouette(blobs, np.zeros(600, dtype=np.int64)) == 0.0


def test_posterior_strength():
    assert posterior_strength(np.array([0.0, 1.0, 1.0, 0.0])) == 1.0
    assert posterior_strength(np.full(7, 0.5)) == 0.0
    assert posterior_strength(np.array([0.75, 0.25])) == pytest.approx(0.5)
    p = np.random.default_rng(2).random(1000)
    assert posterior_strength(p) == pytest.approx(posterior_strength_ref(p), rel=1e-12)


# -- numba cache location -------------------------------------------------------------------------
def test_cache_falls_back_to_user_dir_when_package_is_read_only(monkeypatch, tmp_path):
    import kernels

    # set, then delete: monkeypatch then restores the variable's original state even though
    # _setup_numba_cache writes os.environ itself (a leaked cache dir sends every later
    # subprocess, rtsep live included, to an empty cache and a cold compile)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "placeholder")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.delenv("RTSEP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(kernels.os, "access", lambda path, mode: False)
    import numba.core.config as numba_config

    monkeypatch.setattr(numba_config, "CACHE_DIR", numba_config.CACHE_DIR)
    kernels._setup_numba_cache()
    expected = tmp_path / "rtsep" / "numba"
    assert kernels.os.environ["NUMBA_CACHE_DIR"] == str(expected)
    assert expected.is_dir() and numba_config.CACHE_DIR == str(expected)


def test_rtsep_cache_dir_moves_every_cache(monkeypatch, tmp_path):
    import kernels

    monkeypatch.setenv("RTSEP_CACHE_DIR", str(tmp_path / "all"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernels.user_cache_dir() == tmp_path / "all"
    monkeypatch.delenv("RTSEP_CACHE_DIR")
    assert kernels.user_cache_dir() == tmp_path / "xdg" / "rtsep"


def test_cache_respects_an_explicit_dir(monkeypatch, tmp_path):
    import kernels

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(kernels.os, "access", lambda path, mode: False)
    kernels._setup_numba_cache()
    assert kernels.os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")
    assert not (tmp_path / "xdg").exists()


# -- public wrappers refuse what the unchecked kernels would read past ---------------------------
def test_public_wrappers_reject_wrong_shapes():
    f = np.zeros(100)
    bad = [
        lambda: time_median_step(f, np.zeros((5, 100)), np.zeros((99, 5)), 0, np.zeros(100)),
        lambda: time_median_step(f, np.zeros((5, 100)), np.zeros((100, 5)), 5, np.zeros(100)),
        lambda: freq_median(f, 4, np.zeros(8), np.zeros(100)),
        lambda: hpss_combine(f, f, np.zeros(99), 1.0, np.zeros(100)),
        lambda: harmonic_salience(f, np.ones(5), np.ones(3), np.zeros(4)),
        lambda: comb_mask(np.ones(2), 3, 50.0, 1.0, 0.0, np.zeros(100)),
        lambda: whiten(f, 2, np.zeros(101)),
        lambda: compress_frame(f, np.array([1, 50, 101]), np.zeros(2)),
        lambda: compress_frame(f.astype(np.float32), np.array([1, 50, 100]), np.zeros(2)),
        lambda: repet_step(f, np.zeros(2), np.zeros((10, 100)), np.zeros((10, 2)), 0, 0, 2, 4,
                           0.0, 1.0, np.zeros(10), np.zeros(3, dtype=np.int64),
                           np.zeros((4, 100)), np.zeros(100)),
        lambda: repet_step(f, np.zeros(2), np.zeros((10, 100)), np.zeros((10, 2)), 0, 11, 2, 4,
                           0.0, 1.0, np.zeros(10), np.zeros(4, dtype=np.int64),
                           np.zeros((4, 100)), np.zeros(100)),
    ]
    for i, call in enumerate(bad):
        with pytest.raises(ValueError):
            call()
            pytest.fail(f"case {i} was accepted")
