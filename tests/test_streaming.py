"""The engine's latency contract: streamed output = offline computation delayed exactly.

Style guide item 5: every block size (1, 64, 65, 128, 8193) gives the same stream, and that
stream is the offline reference shifted by ``latency_samples``.
"""

import numpy as np
import pytest

from rtsep.config import EngineConfig
from rtsep.core.engine import Engine
from rtsep.core.offline import separate_offline
from rtsep.separate import separate_array

from .music import song


def stream(engine: Engine, x: np.ndarray, block: int):
    vs, ks = [], []
    for start in range(0, x.shape[1], block):
        v, k = engine.process(x[:, start : start + block])
        vs.append(v)
        ks.append(k)
    return np.concatenate(vs, axis=1), np.concatenate(ks, axis=1)


@pytest.fixture(scope="module")
def music():
    return song(2.0, sr=44100, channels=2)


@pytest.fixture(scope="module")
def reference(music):
    return separate_offline(music, 44100, EngineConfig())


@pytest.mark.parametrize("block", [1, 64, 65, 128, 8193])
def test_stream_equals_offline_delayed(music, reference, block):
    engine = Engine(44100, 2, EngineConfig())
    L = engine.latency_samples
    v, k = stream(engine, music, block)
    ref_v, ref_k = reference
    n = music.shape[1]
    np.testing.assert_allclose(v[:, L:], ref_v[:, : n - L], atol=1e-9)
    np.testing.assert_allclose(k[:, L:], ref_k[:, : n - L], atol=1e-9)
    # the vocals are not trivially zero or the whole mixture
    energy = np.sum(ref_v**2) / np.sum(music**2)
    assert 0.01 < energy < 0.99


@pytest.mark.parametrize("preset,sr,channels", [("low-latency", 44100, 1), ("default", 8000, 1),
                                                ("default", 96000, 3), ("low-latency", 22050, 8)])
def test_stream_equals_offline_other_rates_and_layouts(preset, sr, channels):
    x = song(1.0, sr=sr, channels=channels)
    config = EngineConfig(preset=preset)
    ref_v, _ = separate_offline(x, sr, config)
    engine = Engine(sr, channels, config)
    v, _ = stream(engine, x, 65)
    L = engine.latency_samples
    np.testing.assert_allclose(v[:, L:], ref_v[:, : x.shape[1] - L], atol=1e-9)


@pytest.mark.parametrize("preset", ["default", "low-latency"])
@pytest.mark.parametrize("block", [1, 65, 8193])
def test_impulse_arrives_exactly_latency_samples_late(preset, block):
    engine = Engine(44100, 1, EngineConfig(preset=preset, bypass=True))
    x = np.zeros((1, 12000))
    x[0, 3001] = 1.0
    v, k = stream(engine, x, block)
    expected = np.zeros_like(x)
    expected[0, 3001 + engine.latency_samples] = 1.0
    np.testing.assert_allclose(v, expected, atol=1e-12)
    np.testing.assert_allclose(k, 0.0, atol=1e-12)
    assert engine.latency_ms <= (12.0 if preset == "default" else 6.0)


def test_masked_output_never_precedes_its_input(music):
    """With real masks, an impulse's response starts no earlier than the impulse itself."""
    engine = Engine(44100, 2, EngineConfig())
    x = music.copy()
    x[:, 40000:] = 0.0
    x[:, 50000] = 0.5
    v, k = stream(engine, x, 128)
    quiet = 40000 + engine.latency_samples + engine.geometry.n_fft  # old music has died out
    assert np.max(np.abs(v[:, quiet:50000])) == 0.0
    assert np.max(np.abs(v[:, 50000:])) > 0.0


def test_separate_array_is_aligned_with_input(music):
    v, k = separate_array(music, 44100, EngineConfig())
    ref_v, ref_k = separate_offline(music, 44100, EngineConfig())
    assert v.shape == music.shape
    np.testing.assert_allclose(v, ref_v, atol=1e-9)
    np.testing.assert_allclose(v + k, music, atol=1e-9)


def test_cheap_hops_reuse_the_last_mask(music):
    engine = Engine(44100, 2, EngineConfig())
    hop = engine.hop
    for h in range(20):
        engine.process_hop(music[:, h * hop : (h + 1) * hop])
    before = engine._mask.copy()
    engine.process_hop(music[:, 20 * hop : 21 * hop], cheap=True)
    assert engine.cheap_hops == 1
    np.testing.assert_array_equal(engine._mask, before)


def test_warmup_compiles_every_kernel_the_stream_uses():
    """A kernel first compiled mid-stream stalls the worker (~170 ms on a cold cache): after
    warmup, a fresh process streaming real music must not compile or load any new one."""
    import subprocess
    import sys

    script = r"""
import importlib, pkgutil, sys
import kernels
from numba.core.registry import CPUDispatcher
from rtsep.config import EngineConfig
from rtsep.core.engine import Engine
sys.path.insert(0, "tests")
from music import song
mods = [importlib.import_module("kernels." + m.name) for m in pkgutil.iter_modules(kernels.__path__)]
def compiled():
    return {m.__name__ + "." + n: len(o.signatures) for m in mods
            for n, o in vars(m).items() if isinstance(o, CPUDispatcher)}
engine = Engine(44100, 2, EngineConfig()).warmup()
before = compiled()
x = song(2.0)
for k in range(x.shape[1] // engine.hop):
    engine.process_hop(x[:, k * engine.hop:(k + 1) * engine.hop])
print(sorted(k for k, v in compiled().items() if v > before[k]))
"""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def lookahead_model(tmp_path_factory):
    """A tiny (untrained) GRU file that looks 2 frames ahead: the engine must delay the spectrum
    and the other candidates' masks by 2 hops and declare it."""
    from models import configs
    from models.io import save_model

    model = configs.create("CausalGRUSeparator", "tiny", 1025, lookahead_frames=2, seed=4)
    stem = tmp_path_factory.mktemp("lookahead") / "ahead2"
    save_model(model, stem, {"sample_rate": 44100,
                             "stft": {"n_fft": 2048, "hop": 256, "preset": "default"},
                             "training": {"method": "untrained (test)"}})
    return str(stem)


@pytest.mark.parametrize("block,with_primitives", [(1, True), (65, False), (8193, True)])
def test_lookahead_candidate_streams_like_offline(music, lookahead_model, block, with_primitives):
    # the model alone, or beside primitive clustering (no look-ahead, so its masks wait 2 hops
    # to line up with the spectrum they belong to)
    config = EngineConfig(models=(lookahead_model,), use_primitives=with_primitives,
                          backend="torch")
    engine = Engine(44100, 2, config)
    assert engine.lookahead_frames == 2
    assert engine.latency_samples == 2 * 256 - 1 + 2 * 256
    ref_v, ref_k = separate_offline(music, 44100, config)
    v, k = stream(engine, music, block)
    L, n = engine.latency_samples, music.shape[1]
    np.testing.assert_allclose(v[:, L:], ref_v[:, : n - L], atol=1e-6)
    np.testing.assert_allclose(k[:, L:], ref_k[:, : n - L], atol=1e-6)
    np.testing.assert_allclose(v + k, np.pad(music, ((0, 0), (L, 0)))[:, :n], atol=1e-9)
