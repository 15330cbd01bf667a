"""Batched hops are the same engine: ``process_hops`` on many hops at once gives, bit for bit,
what ``process_hop`` gives one hop at a time (issue 13), for primitive clustering, the Deep
Karaoke threshold, several channels, the low-latency preset and a model switching with
primitive clustering by confidence (whose switcher advances hop by hop inside a batch)."""

from __future__ import annotations

import numpy as np
import pytest

from rtsep.config import EngineConfig
from rtsep.core.engine import BATCH_HOPS, Engine

from .music import song


def _hop_by_hop(engine: Engine, x: np.ndarray):
    hop = engine.hop
    vs, ks = [], []
    for start in range(0, x.shape[1] - hop + 1, hop):
        v, k = engine.process_hop(x[:, start : start + hop])
        vs.append(v.copy())
        ks.append(k.copy())
    return np.concatenate(vs, axis=1), np.concatenate(ks, axis=1)


def _batched(engine: Engine, x: np.ndarray, sizes):
    hop = engine.hop
    vs, ks = [], []
    start, i = 0, 0
    while start + hop <= x.shape[1]:
        b = min(sizes[i % len(sizes)], (x.shape[1] - start) // hop)
        v, k = engine.process_hops(x[:, start : start + b * hop])
        vs.append(v.copy())
        ks.append(k.copy())
        start += b * hop
        i += 1
    return np.concatenate(vs, axis=1), np.concatenate(ks, axis=1)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.tobytes() == b.tobytes()


CASES = {
    "pcl stereo": (EngineConfig(), 2, 44100),
    "pcl alpha, 3 channels": (EngineConfig(alpha=0.5), 3, 44100),
    "low-latency mono 22.05 kHz": (EngineConfig(preset="low-latency"), 1, 22050),
    "pcl + model, switching": (EngineConfig(models=("bootstrap-gru",), use_primitives=True,
                                            backend="torch", confidence_rate_hz=40.0), 2, 44100),
}


@pytest.fixture(scope="module")
def lookahead_model(tmp_path_factory):
    """A tiny untrained GRU that looks 2 frames ahead: spectra and masks wait in the engine's
    delay lines across batch boundaries."""
    from models import configs
    from models.io import save_model

    model = configs.create("CausalGRUSeparator", "tiny", 1025, lookahead_frames=2, seed=4)
    stem = tmp_path_factory.mktemp("lookahead") / "ahead2"
    save_model(model, stem, {"sample_rate": 44100,
                             "stft": {"n_fft": 2048, "hop": 256, "preset": "default"},
                             "training": {"method": "untrained (test)"}})
    return str(stem)


@pytest.mark.parametrize("case", sorted(CASES) + ["look-ahead model + pcl"])
def test_batched_hops_equal_single_hops_bit_for_bit(case, request):
    if case in CASES:
        config, channels, sr = CASES[case]
    else:
        model = request.getfixturevalue("lookahead_model")
        config, channels, sr = EngineConfig(models=(model,), use_primitives=True,
                                            backend="torch"), 2, 44100
    x = song(2.5, sr=sr, channels=channels)
    single = Engine(sr, channels, config)
    batched = Engine(sr, channels, config)
    v1, k1 = _hop_by_hop(single, x)
    v2, k2 = _batched(batched, x, [BATCH_HOPS, 7, 1, 33])
    assert _same_bits(v1, v2) and _same_bits(k1, k2)
    assert np.sum(v1**2) > 0.01 * np.sum(x**2)  # not trivially silent
    if len(single.candidates) > 1:  # the switcher saw the same confidences at the same hops
        assert single.switcher.active_hops.tolist() == batched.switcher.active_hops.tolist()
        assert single.confidence.value == batched.confidence.value


def test_confidence_off_changes_nothing_with_one_candidate():
    x = song(1.5, channels=2)
    tracked = Engine(44100, 2, EngineConfig())
    skipped = Engine(44100, 2, EngineConfig(), track_confidence=False)
    a = tracked.process(x)
    b = skipped.process(x)
    assert _same_bits(a[0], b[0]) and _same_bits(a[1], b[1])
    assert np.isfinite(tracked.confidence.value) and np.isnan(skipped.confidence.value)


def _peak_bytes(run) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        run()
        current, peak = tracemalloc.get_traced_memory()
        return peak - current
    finally:
        tracemalloc.stop()


def test_hops_allocate_no_frames_and_engines_are_built_once_per_process():
    """After warm-up, a single hop creates no array of a frame's size: every buffer is
    preallocated (temporaries stay below one float64 frame of 1025 bins). A batch of 64 hops
    needs only numpy's iteration buffers, under half a frame per hop. A process's cached engine
    is reused from song to song."""
    from rtsep.separate import make_engine

    engine = make_engine(44100, 2, EngineConfig(), cached=True)
    assert make_engine(44100, 2, EngineConfig(), cached=True) is engine
    x = song(1.0, channels=2)
    hop = engine.hop
    engine.process_hops(x[:, : BATCH_HOPS * hop])
    engine.process_hop(x[:, :hop])

    def hops():
        for b in range(1, 40):
            engine.process_hop(x[:, b * hop : (b + 1) * hop])

    def batch():
        engine.process_hops(x[:, : BATCH_HOPS * hop])

    frame = engine.geometry.n_bins * 8
    assert _peak_bytes(hops) < frame
    assert _peak_bytes(batch) / BATCH_HOPS < frame / 2
