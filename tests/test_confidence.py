"""Streaming confidence: the spread-out silhouette equals the direct one, and it ranks well."""

import numpy as np

from kernels.confidence import posterior_strength_ref, silhouette_ref
from rtsep.config import geometry_for
from rtsep.core.confidence import StreamingConfidence


def frames(rng, n, F, clean: bool):
    """Two 'sources' with disjoint loud bins; clean embeddings agree with them, noisy do not."""
    for _ in range(n):
        mag = rng.random(F) * 0.1
        voc = rng.random(F) < 0.3
        mag[voc] += rng.random(voc.sum()) * 2.0
        acc = ~voc & (rng.random(F) < 0.3)
        mag[acc] += rng.random(acc.sum()) * 2.0
        if clean:
            post = np.where(voc, 0.95, 0.05)
            emb = np.stack([post, np.where(voc, 0.9, 0.1), np.where(voc, 0.85, 0.2)], axis=1)
        else:
            post = rng.random(F)
            emb = rng.random((F, 3))
        yield mag, emb, post


def test_spread_silhouette_equals_direct_computation():
    g = geometry_for(44100, "default")
    conf = StreamingConfidence(g, 3, rate_hz=10.0, n_points=300)
    rng = np.random.default_rng(0)
    captured = []
    for mag, emb, post in frames(rng, 3 * conf.every + 1, g.n_bins, clean=False):
        conf.push(mag, emb, post)
        if conf._job is not None and conf._job[4] == 0:
            captured.append((conf._job[0].copy(), conf._job[1].copy(), conf._job[5]))
    assert conf.updates == 2 and len(captured) == 3
    points, labels, strength = captured[1]
    expected = silhouette_ref(points, labels) * strength
    assert np.isclose(conf.value, expected, atol=1e-12)
    # the posterior strength is that of the loudest bins' posteriors
    assert 0.0 <= strength <= 1.0


def test_clean_clustering_is_more_confident_than_noise():
    g = geometry_for(44100, "default")
    values = {}
    for clean in (True, False):
        conf = StreamingConfidence(g, 3, rate_hz=10.0)
        for mag, emb, post in frames(np.random.default_rng(1), 3 * conf.every, g.n_bins, clean):
            conf.push(mag, emb, post)
        values[clean] = conf.value
    assert values[True] > 0.5
    assert values[False] < 0.2
    # Eq. 3 with K = 2 for the clean posteriors 0.95 / 0.05
    assert np.isclose(posterior_strength_ref(np.array([0.95, 0.05])), 0.9)


def test_reset_repeats_the_same_values():
    g = geometry_for(22050, "low-latency")
    conf = StreamingConfidence(g, 3)
    data = list(frames(np.random.default_rng(2), 2 * conf.every + 3, g.n_bins, clean=False))
    runs = []
    for _ in range(2):
        conf.reset()
        for mag, emb, post in data:
            conf.push(mag, emb, post)
        runs.append(conf.value)
    assert runs[0] == runs[1]


def test_two_means_recovers_blobs_and_keeps_the_vocal_label():
    from rtsep.core.confidence import two_means

    rng = np.random.default_rng(3)
    a = rng.normal(0.0, 0.1, (200, 4))
    b = rng.normal(1.0, 0.1, (100, 4))
    points = np.concatenate([a, b])
    truth = np.r_[np.zeros(200, int), np.ones(100, int)]
    start = truth.copy()
    flip = rng.choice(300, 60, replace=False)  # a mask head that is 20 % wrong
    start[flip] = 1 - start[flip]
    labels = two_means(points, start)
    np.testing.assert_array_equal(labels, truth)
    assert silhouette_ref(points, labels) > silhouette_ref(points, start)
    # one-cluster input is returned as it is
    np.testing.assert_array_equal(two_means(points, np.zeros(300, int)), np.zeros(300, int))
