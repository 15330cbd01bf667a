"""Inference backends: every CPU backend agrees with eager torch frame by frame, state included;
missing GPU stacks give one-line errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from models import configs
from models.io import save_model
from rtsep.backends import BACKENDS, BackendUnavailableError, load_backend, make_backend
from rtsep.errors import ConfigError, DeviceError

N_BINS = 65
ARCHS = ["CausalGRUSeparator", "CausalTCNSeparator"]
MASK_TOL = 1e-4  # float32 graphs with fused / reordered arithmetic
EMB_TOL = 1e-4


def _frames(n=60, seed=0):
    rng = np.random.default_rng(seed)
    frames = (rng.random((n, N_BINS)) ** 4 * 50.0)
    frames[10] = 0.0  # a silent frame
    return frames  # float64 on purpose: backends take float32 or float64


def _reference(model, frames):
    """Eager torch over the whole sequence (forward, not step), realigned for look-ahead."""
    L = model.lookahead_frames
    with torch.inference_mode():
        mask, emb = model(torch.from_numpy(frames.T[None]).float())
    mask, emb = mask[0].numpy().T, emb[0].numpy().transpose(1, 0, 2)
    return mask, emb, L  # step call t gives frame t - L


def _run(backend, frames):
    out = [backend.step(f) for f in frames]
    return np.stack([m for m, _ in out]), np.stack([e for _, e in out])


@pytest.mark.parametrize("name", ["torch", "onnx"])
@pytest.mark.parametrize("arch", ARCHS)
def test_cpu_backend_matches_forward(arch, name):
    model = configs.create(arch, "tiny", N_BINS, lookahead_frames=2, seed=5)
    frames = _frames()
    ref_mask, ref_emb, L = _reference(model, frames)
    backend = make_backend(name, model)
    assert backend.name == name and backend.lookahead_frames == 2
    backend.warmup()
    mask, emb = _run(backend, frames)
    assert mask.shape == (60, N_BINS) and emb.shape == (60, N_BINS, model.emb_dim)
    assert mask.dtype == np.float32 and emb.dtype == np.float32
    assert np.abs(mask[L:] - ref_mask[:-L]).max() < MASK_TOL
    assert np.abs(emb[L:] - ref_emb[:-L]).max() < EMB_TOL
    # reset() returns to the start: the same frames give the same outputs again.
    backend.reset()
    mask2, _ = _run(backend, frames[:20])
    assert np.abs(mask2 - mask[:20]).max() < 1e-6


@pytest.mark.parametrize("arch", ARCHS)
def test_onnx_agrees_with_torch_backend_on_a_shippable_size(arch, tmp_path, monkeypatch):
    # The real size (1025 bins): the exported graph must hold the same arithmetic at scale,
    # and a file-backed model is exported once into the cache keyed by its hash.
    monkeypatch.setenv("RTSEP_CACHE_DIR", str(tmp_path / "cache"))
    model = configs.create(arch, "small", 1025, seed=2)
    save_model(model, tmp_path / "m", {"sample_rate": 44100,
                                       "stft": {"n_fft": 2048, "hop": 256, "preset": "default"}})
    rng = np.random.default_rng(1)
    frames = rng.random((25, 1025)).astype(np.float32) ** 3 * 20.0
    ref, _ = load_backend(tmp_path / "m", "torch")
    onnx, meta = load_backend(tmp_path / "m", "onnx", expect_n_bins=1025)
    cached = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(cached) == 1 and cached[0].name.startswith(meta["weights"]["sha256"][:32])
    a_mask, a_emb = _run(ref, frames)
    b_mask, b_emb = _run(onnx, frames)
    assert np.abs(a_mask - b_mask).max() < MASK_TOL
    assert np.abs(a_emb - b_emb).max() < EMB_TOL
    # A mask that barely varies would make the agreement above meaningless.
    assert a_mask.std() > 1e-3


def test_backend_rejects_wrong_frame_size():
    backend = make_backend("torch", configs.create("CausalGRUSeparator", "tiny", N_BINS))
    with pytest.raises(ConfigError, match="expects a frame of 65 bins"):
        backend.step(np.zeros(64, dtype=np.float32))


def test_unknown_backend_name():
    model = configs.create("CausalGRUSeparator", "tiny", N_BINS)
    with pytest.raises(ConfigError, match="unknown backend 'cuda'"):
        make_backend("cuda", model)


def test_auto_on_this_machine_picks_the_fastest_working_backend():
    model = configs.create("CausalTCNSeparator", "tiny", N_BINS)
    backend = make_backend("auto", model)
    assert backend.name in BACKENDS
    report = backend.describe()
    ok = {t["backend"]: t["p50_us"] for t in report["trials"] if t["status"] == "ok"}
    assert backend.name == report["backend"] == min(ok, key=ok.get)
    if not torch.cuda.is_available():
        expected = {"onnx", "torch"} if importlib.util.find_spec("onnxruntime") else {"torch"}
        assert set(ok) == expected
    mask, emb = backend.step(_frames(20)[0])
    assert mask.shape == (N_BINS,) and np.all((mask >= 0) & (mask <= 1))


@pytest.mark.skipif(importlib.util.find_spec("torch_tensorrt") is not None,
                    reason="torch_tensorrt is installed here")
def test_tensorrt_missing_is_a_clear_error():
    model = configs.create("CausalGRUSeparator", "tiny", N_BINS)
    with pytest.raises(BackendUnavailableError, match=r"pip install rtsep\[tensorrt\]") as info:
        make_backend("tensorrt", model)
    assert isinstance(info.value, DeviceError) and "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_graph_without_cuda_is_a_clear_error():
    model = configs.create("CausalGRUSeparator", "tiny", N_BINS)
    with pytest.raises(BackendUnavailableError, match="no CUDA device") as info:
        make_backend("cuda-graph", model)
    assert isinstance(info.value, DeviceError) and "\n" not in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", [None, "cudnn", "cells"])
@pytest.mark.parametrize("arch", ARCHS)
def test_cuda_graph_matches_torch(arch, mode):
    from rtsep.backends.cuda_graph import CudaGraphBackend

    model = configs.create(arch, "tiny", N_BINS, seed=4)
    frames = _frames()
    a_mask, a_emb = _run(make_backend("torch", model), frames)
    gpu = CudaGraphBackend(model, mode=mode)
    assert not gpu.stand_in and gpu.mode in ("cudnn", "cells"), gpu.capture_errors
    gpu.warmup()
    b_mask, b_emb = _run(gpu, frames)
    # The backend captures with TF32 off: float32 on both sides, summation order differs.
    assert np.abs(a_mask - b_mask).max() < 1e-3
    assert np.abs(a_emb - b_emb).max() < 1e-3


@pytest.mark.skipif(not torch.cuda.is_available()
                    or importlib.util.find_spec("torch_tensorrt") is None,
                    reason="needs a CUDA device and torch_tensorrt")
@pytest.mark.parametrize("arch", ARCHS)
def test_tensorrt_matches_torch(arch):
    model = configs.create(arch, "tiny", N_BINS, seed=4)
    frames = _frames()
    a_mask, a_emb = _run(make_backend("torch", model), frames)
    b_mask, b_emb = _run(make_backend("tensorrt", model), frames)
    assert np.abs(a_mask - b_mask).max() < 1e-3
    assert np.abs(a_emb - b_emb).max() < 1e-3


@pytest.mark.parametrize("local_channels", [0, 6])
def test_refiner_exports_to_onnx_and_agrees_with_torch(tmp_path, monkeypatch, local_channels):
    # The refiner reads primitive masks beside the magnitude; its step graph (nn.GRU inside)
    # must export like the magnitude-only models, or `auto` would silently run it in torch.
    pytest.importorskip("onnxruntime")
    from models.refiner import CausalRefinerSeparator

    monkeypatch.setenv("RTSEP_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(3)
    model = CausalRefinerSeparator(N_BINS, primitive_bins=40, n_bands=12, n_features=16,
                                   hidden=24, layers=2, ctx_rank=4, emb_rank=4,
                                   pcl_weights=[1.0, 0.5, 1.0], local_channels=local_channels,
                                   local_kernel=3, local_ctx=2)
    params = [model.direct.weight, model.ctx.weight, model.bin_weight]
    if local_channels:  # the frequency-local branch starts at zero: wake it up too
        params.append(model.local_out.weight)
    with torch.no_grad():  # away from "exactly primitive clustering", so the GRU matters
        for p in params:
            p.normal_(0.0, 0.3)
    rng = np.random.default_rng(4)
    frames = np.concatenate([_frames(40), rng.random((40, model.n_inputs - N_BINS))], axis=1)
    ref = make_backend("torch", model)
    onnx = make_backend("onnx", model)
    assert onnx.name == "onnx" and onnx.n_inputs == model.n_inputs
    a_mask, a_emb = _run(ref, frames)
    b_mask, b_emb = _run(onnx, frames)
    assert np.abs(a_mask - b_mask).max() < MASK_TOL
    assert np.abs(a_emb - b_emb).max() < EMB_TOL
    assert a_mask.std() > 1e-3
