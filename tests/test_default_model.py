"""The shipped default model: it loads with its hash checked, names its data and their terms,
streams through the engine within the default preset's latency, exactly as the offline path
computes it, and separates real music better than the mixture itself. Its speed (p99 compute
per hop against the hop) is measured in benchmarks/speed.py, not here."""

from __future__ import annotations

import numpy as np
import pytest

from rtsep.config import DEFAULT_MODEL, EngineConfig
from rtsep.core.model_candidates import DEFAULT_MODEL_ORDER, default_model

from .music import song


def _sdr(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2)))


def test_a_default_model_is_shipped_with_its_terms():
    from models.catalog import resolve
    from models.io import load_model, read_meta

    assert DEFAULT_MODEL_ORDER, "no shipped model is the default"
    name = default_model(44100, "default")
    assert name == DEFAULT_MODEL_ORDER[0]
    stem = resolve(name)
    model, meta = load_model(stem)  # raises when the weights do not match their sha256
    assert meta["latency"]["lookahead_frames"] == 0
    assert stem.with_suffix(".safetensors").stat().st_size < 2_000_000
    terms = " ".join(p["licence"] for p in read_meta(stem)["provenance"]).lower()
    assert "non-commercial" in terms and "research" in terms


def test_the_default_streams_like_the_offline_path_within_12_ms():
    from rtsep.core.engine import Engine
    from rtsep.core.offline import separate_offline

    x = song(1.5, sr=44100)
    config = EngineConfig(models=(DEFAULT_MODEL,), use_primitives=False, backend="torch")
    engine = Engine(44100, 2, config)
    assert engine.candidate_names == [DEFAULT_MODEL_ORDER[0]]
    assert engine.latency_samples == 511 and engine.latency_ms <= 12.0
    want, _ = separate_offline(x, 44100, config)
    lat = engine.latency_samples
    padded = np.concatenate([x, np.zeros((2, lat))], axis=1)
    for block in (1, 257, 4096):
        engine.reset()
        out = [engine.process(padded[:, i:i + block])[0]
               for i in range(0, padded.shape[1], block)]
        got = np.concatenate(out, axis=1)[:, lat:]
        assert np.max(np.abs(got - want)) < 1e-5, block


def test_the_default_separates_real_music():
    from rtsep.separate import separate_array

    x, vocals = song(6.0, sr=44100, with_vocals=True)
    config = EngineConfig(models=(DEFAULT_MODEL,), use_primitives=False)
    est, karaoke = separate_array(x, 44100, config)
    assert np.allclose(est + karaoke, x, atol=1e-6)
    assert _sdr(vocals, est) > _sdr(vocals, x) + 6.0


@pytest.mark.parametrize("sr", [48000, 22050])
def test_a_live_engine_at_another_rate_falls_back_to_primitives(sr):
    from rtsep.core.engine import Engine

    engine = Engine(sr, 1, EngineConfig(models=(DEFAULT_MODEL,), use_primitives=False))
    assert engine.candidate_names == ["pcl"]


def test_primitives_only_stays_model_free():
    from rtsep.cli.options import engine_config_from_options

    config = engine_config_from_options("default", None, None, None, 5.0,
                                        primitives_only=True)
    assert config.models == () and config.use_primitives
