"""``auto`` chooses by measured speed, skips backends that fail to build or fail their first
steps, falls back when the chosen one fails later, and says why; the CUDA-graph backend's
static-buffer step agrees with torch through its CPU stand-in (the graph itself needs CUDA).

The failing and slow backends here are real backends (ONNX Runtime, torch) with one behaviour
changed, standing in for a GPU stack that breaks or a path that is slower on this machine.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from models import configs
from rtsep.backends import make_backend
from rtsep.backends.auto import AutoBackend, select, summary
from rtsep.backends.base import BackendUnavailableError, probe_frames
from rtsep.backends.cuda_graph import CudaGraphBackend
from rtsep.backends.onnx_cpu import OnnxBackend
from rtsep.backends.torch_cpu import TorchBackend
from rtsep.errors import ConfigError

N_BINS = 65
NAMES = ["onnx", "torch"]


def _model(arch="CausalGRUSeparator", seed=3):
    return configs.create(arch, "tiny", N_BINS, seed=seed)


class SlowTorch(TorchBackend):
    def _step(self, frame):
        out = super()._step(frame)
        time.sleep(0.003)
        return out


class SlowOnnx(OnnxBackend):
    def _step(self, frame):
        out = super()._step(frame)
        time.sleep(0.003)
        return out


class OnnxFailsAtFirstStep(OnnxBackend):
    def _step(self, frame):
        raise RuntimeError("device lost")


class OnnxForgetsState(OnnxBackend):
    """The classic bug of a graph backend: the new state is never fed back."""

    def _step(self, frame):
        out = super()._step(frame)
        self._reset_state()
        return out


class OnnxFailsWhenArmed(OnnxBackend):
    armed = False

    def _step(self, frame):
        if self.armed:
            raise RuntimeError("device lost")
        return super()._step(frame)


def _trial(backend, name):
    return next(t for t in backend.describe()["trials"] if t["backend"] == name)


def test_auto_keeps_the_fastest_measured_backend_not_the_first_in_order():
    model = _model()
    slow_torch = select(model, names=NAMES, builders={"torch": lambda m, _: SlowTorch(m)})
    assert slow_torch.name == "onnx"
    slow_onnx = select(model, names=NAMES, builders={"onnx": lambda m, meta: SlowOnnx(m, meta)})
    assert slow_onnx.name == "torch"
    report = slow_onnx.describe()
    assert report["reason"].startswith("fastest median step of torch")
    assert _trial(slow_onnx, "onnx")["p50_us"] > 2500 > _trial(slow_onnx, "torch")["p50_us"]
    # Probing is bounded: a few dozen steps per backend.
    assert _trial(slow_onnx, "onnx")["steps"] <= 16 and report["probe_s"] < 2.0


def test_auto_skips_a_backend_whose_first_step_fails_and_says_why():
    model = _model()
    backend = select(model, names=NAMES,
                     builders={"onnx": lambda m, meta: OnnxFailsAtFirstStep(m, meta)})
    assert backend.name == "torch"
    trial = _trial(backend, "onnx")
    assert trial["status"] == "failed at its first steps" and "device lost" in trial["error"]
    assert "onnx failed at its first steps (RuntimeError: device lost)" in summary(
        backend.describe())
    frames = probe_frames(N_BINS, 10, seed=7)
    ref = make_backend("torch", model)
    for f in frames:
        assert np.array_equal(backend.step(f)[0], ref.step(f)[0])


def test_auto_rejects_a_backend_that_disagrees_with_torch():
    backend = select(_model(), names=NAMES,
                     builders={"onnx": lambda m, meta: OnnxForgetsState(m, meta)})
    assert backend.name == "torch"
    assert "disagrees with eager torch" in _trial(backend, "onnx")["error"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_auto_skips_gpu_backends_that_cannot_build_here():
    backend = select(_model(), names=["tensorrt", "cuda-graph", *NAMES])
    assert isinstance(backend, AutoBackend) and backend.name in NAMES
    for name in ("tensorrt", "cuda-graph"):
        trial = _trial(backend, name)
        assert trial["status"] == "failed at build" and "\n" not in trial["error"]
    assert "no CUDA device" in _trial(backend, "cuda-graph")["error"]
    with pytest.raises(BackendUnavailableError, match=r"no backend works here \(cuda-graph: "
                       r"failed at build: BackendUnavailableError: .*no CUDA device") as info:
        select(_model(), names=["cuda-graph"])
    assert "\n" not in str(info.value)


def test_auto_falls_back_when_the_chosen_backend_fails_later():
    model = _model()
    backend = select(model, names=NAMES,
                     builders={"onnx": lambda m, meta: OnnxFailsWhenArmed(m, meta),
                               "torch": lambda m, _: SlowTorch(m)})
    assert backend.name == "onnx"
    frames = probe_frames(N_BINS, 4, seed=9)
    backend.active.armed = True  # e.g. the GPU went away after the stream started
    with pytest.warns(RuntimeWarning, match="failed at frame 1.*continuing on torch"):
        mask, _ = backend.step(frames[0])
    assert backend.name == "torch"
    assert np.array_equal(mask, make_backend("torch", model).step(frames[0])[0])
    event = backend.describe()["fallbacks"][0]
    assert event == {"from": "onnx", "to": "torch", "frame": 1,
                     "error": "RuntimeError: device lost"}
    with pytest.raises(ConfigError):  # a wrong frame is not a reason to fall back
        backend.step(np.zeros(3, dtype=np.float32))
    assert backend.name == "torch"


def test_forced_order_from_the_environment(monkeypatch):
    monkeypatch.setenv("RTSEP_AUTO_BACKENDS", "torch,onnx")
    backend = make_backend("auto", _model())
    assert backend.name == "torch"
    report = backend.describe()
    assert "RTSEP_AUTO_BACKENDS" in report["reason"] and len(report["trials"]) == 1
    monkeypatch.setenv("RTSEP_AUTO_BACKENDS", "torch,cuda")
    with pytest.raises(ConfigError, match="unknown backend"):
        make_backend("auto", _model())


@pytest.mark.parametrize("arch", ["CausalGRUSeparator", "CausalTCNSeparator"])
@pytest.mark.parametrize("mode", ["cudnn", "cells"])
def test_cuda_graph_static_step_matches_torch_on_the_cpu_stand_in(arch, mode):
    # Static input/state tensors, the in-place state update and the build-time check of the
    # cuda-graph backend, run without a graph: a wrong state copy shows up within a few frames.
    model = _model(arch, seed=4)
    graph = CudaGraphBackend(model, mode=mode, device="cpu")
    assert graph.stand_in and graph.mode == mode and graph.capture_errors == {}
    ref = make_backend("torch", model)
    frames = probe_frames(N_BINS, 40, seed=2)
    for f in frames:
        (a_mask, a_emb), (b_mask, b_emb) = ref.step(f), graph.step(f)
        assert np.abs(a_mask - b_mask).max() < 1e-5 and np.abs(a_emb - b_emb).max() < 1e-5
    first = graph.step(frames[0])[0]
    graph.reset()
    assert not np.array_equal(first, graph.step(frames[0])[0])  # the state mattered
    with pytest.raises(ValueError, match="mode"):
        CudaGraphBackend(model, mode="fast", device="cpu")


def test_explicit_gru_cells_equal_the_gru_step_and_export_without_an_rnn_op():
    from models.export import StepModule

    model = configs.create("CausalGRUSeparator", "tiny", N_BINS, seed=6)
    state_a = state_b = model.init_state(1)
    with torch.no_grad():
        for f in probe_frames(N_BINS, 30, seed=5):
            x = torch.from_numpy(f)[None]
            mask_a, emb_a, state_a = model.step(x, state_a)
            mask_b, emb_b, state_b = model.step(x, state_b, explicit_cells=True)
            assert torch.allclose(mask_a, mask_b, atol=1e-6)
            assert torch.allclose(emb_a, emb_b, atol=1e-6)
            assert torch.allclose(state_a[0], state_b[0], atol=1e-6)
        program = torch.export.export(StepModule(model, explicit_cells=True).eval(),
                                      (torch.zeros(1, N_BINS), *model.init_state(1)))
    ops = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert "aten.linear.default" in ops and not any("gru" in op for op in ops)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_on_cuda_measures_the_gpu_paths():
    backend = select(_model())
    tried = {t["backend"]: t for t in backend.describe()["trials"]}
    assert "cuda-graph" in tried and tried["cuda-graph"]["status"] == "ok", tried
