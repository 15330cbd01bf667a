"""Inference backends for the causal separators: one model, one frame per call, state inside.

``make_backend(name, model, meta)`` builds one of:

| name | runs on | how |
| --- | --- | --- |
| ``torch`` | CPU, 1 thread | eager ``model.step`` under ``inference_mode`` |
| ``onnx`` | CPU, 1 thread | exported step graph in ONNX Runtime (export cached by weights hash) |
| ``cuda-graph`` | GPU | step captured as a CUDA graph, replayed per hop |
| ``tensorrt`` | GPU | step compiled by Torch-TensorRT (``pip install rtsep[tensorrt]``) |
| ``auto`` | best available | GPU: tensorrt, else cuda-graph; CPU: onnx, else torch |

``auto`` follows a fixed order rather than timing candidates at load, so the choice is
reproducible; the order comes from ``benchmarks/backends.py`` (ONNX Runtime's single-thread step
is faster than eager torch on the CPU; see BENCHMARKS.md). If the preferred backend fails to
build, ``auto`` falls back to the next one.

This module imports neither torch nor onnxruntime; each backend imports its own on use.
"""

from __future__ import annotations

import importlib
import importlib.util

from .base import Backend, BackendUnavailableError

__all__ = ["Backend", "BackendUnavailableError", "BACKENDS", "make_backend", "load_backend",
           "auto_order"]

_CLASSES = {
    "torch": ("rtsep.backends.torch_cpu", "TorchBackend"),
    "onnx": ("rtsep.backends.onnx_cpu", "OnnxBackend"),
    "cuda-graph": ("rtsep.backends.cuda_graph", "CudaGraphBackend"),
    "tensorrt": ("rtsep.backends.tensorrt", "TensorRTBackend"),
}
BACKENDS = ("auto", *_CLASSES)


def auto_order() -> list[str]:
    """Backends ``auto`` tries, best first, on this machine."""
    import torch

    order = []
    if torch.cuda.is_available():
        if importlib.util.find_spec("torch_tensorrt") is not None:
            order.append("tensorrt")
        order.append("cuda-graph")
    if importlib.util.find_spec("onnxruntime") is not None:
        order.append("onnx")
    order.append("torch")
    return order


def _build(name: str, model, meta: dict | None) -> Backend:
    module, cls_name = _CLASSES[name]
    cls = getattr(importlib.import_module(module), cls_name)
    return cls(model, meta) if name == "onnx" else cls(model)


def make_backend(name: str, model, meta: dict | None = None) -> Backend:
    """Backend ``name`` (see the table above) for a loaded ``model`` (and its file's ``meta``)."""
    from ..errors import ConfigError

    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        return _build(name, model, meta)
    failures = []
    for candidate in auto_order():
        try:
            return _build(candidate, model, meta)
        except Exception as exc:  # a broken optional stack must not stop the engine
            if candidate == "torch":
                raise
            failures.append(f"{candidate}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    raise BackendUnavailableError("no backend could be built (" + "; ".join(failures) + ")")


def load_backend(model_path, name: str = "auto", expect_n_bins: int | None = None):
    """Load a model file and build its backend; returns (backend, meta)."""
    from models.io import load_model

    model, meta = load_model(model_path, expect_n_bins=expect_n_bins)
    return make_backend(name, model, meta), meta
