"""The confidence switcher: margin, dwell, smoothing and crossfade weights."""

import numpy as np
import pytest

from rtsep.core.switching import ConfidenceSwitcher
from rtsep.errors import ConfigError

HOP_S = 256 / 44100


def run(sw, scores_per_hop, every=17):
    active, weights = [], []
    for h, scores in enumerate(scores_per_hop):
        if h % every == 0:
            sw.observe(scores)
        weights.append(sw.advance().copy())
        active.append(sw.active)
    return np.array(active), np.array(weights)


def test_switches_only_after_margin_and_dwell():
    sw = ConfidenceSwitcher(["pcl", "model"], HOP_S, margin=0.05, min_dwell_s=0.5,
                            smoothing_s=0.0)
    hops = int(3.0 / HOP_S)
    scores = [(0.5, 0.52)] * hops  # within the margin: never switch
    active, _ = run(sw, scores)
    assert np.all(active == 0)
    sw.reset()
    scores = [(0.5, 0.7)] * hops
    active, _ = run(sw, scores)
    first = int(np.argmax(active == 1))
    assert active[-1] == 1 and sw.switches == 1
    assert first * HOP_S >= 0.5 - 17 * HOP_S  # waited for the dwell time
    assert np.all(active[first:] == 1)


def test_brief_lead_does_not_switch():
    sw = ConfidenceSwitcher(["a", "b"], HOP_S, margin=0.05, min_dwell_s=1.0, smoothing_s=0.0)
    hops = int(0.6 / HOP_S)
    scores = [(0.5, 0.9)] * hops + [(0.5, 0.1)] * hops
    active, _ = run(sw, scores)
    assert np.all(active == 0)


def test_crossfade_weights_are_a_linear_ramp_summing_to_one():
    sw = ConfidenceSwitcher(["a", "b", "c"], HOP_S, margin=0.0, min_dwell_s=0.0,
                            smoothing_s=0.0, crossfade_hops=8)
    sw.observe([0.1, 0.2, 0.9])
    ws = np.array([sw.advance().copy() for _ in range(12)])
    np.testing.assert_allclose(ws.sum(axis=1), 1.0)
    np.testing.assert_allclose(ws[:8, 2], np.arange(1, 9) / 8)
    np.testing.assert_allclose(ws[:8, 0], 1 - np.arange(1, 9) / 8)
    assert np.all(ws[8:, 2] == 1.0) and np.all(ws[:, 1] == 0.0)


def test_off_mode_never_switches_and_nan_scores_are_ignored():
    sw = ConfidenceSwitcher(["a", "b"], HOP_S, mode="off")
    active, _ = run(sw, [(0.0, 1.0)] * 500)
    assert np.all(active == 0)
    sw = ConfidenceSwitcher(["a", "b"], HOP_S, min_dwell_s=0.0, smoothing_s=0.0)
    sw.observe([np.nan, np.nan])
    sw.observe([0.2, np.nan])
    assert sw.active == 0 and sw.smoothed[0] == pytest.approx(0.2)
    sw.observe([0.2, 0.9])
    assert sw.active == 1


def test_smoothing_filters_a_single_outlier():
    sw = ConfidenceSwitcher(["a", "b"], HOP_S, margin=0.05, min_dwell_s=0.0, smoothing_s=1.0)
    for _ in range(20):
        sw.observe([0.6, 0.4])
        for _ in range(17):
            sw.advance()
    sw.observe([0.6, 0.95])  # one outlier of b
    assert sw.active == 0


def test_bad_mode_is_a_clear_error():
    with pytest.raises(ConfigError, match="switch mode"):
        ConfidenceSwitcher(["a"], HOP_S, mode="loudest")
