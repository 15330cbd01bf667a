"""Inference backends for the causal separators: one model, one frame per call, state inside.

``make_backend(name, model, meta)`` builds one of:

| name | runs on | how |
| --- | --- | --- |
| ``torch`` | CPU, 1 thread | eager ``model.step`` under ``inference_mode`` |
| ``onnx`` | CPU, 1 thread | exported step graph in ONNX Runtime (export cached by weights hash) |
| ``cuda-graph`` | GPU | step captured as a CUDA graph, replayed per hop |
| ``tensorrt`` | GPU | step compiled by Torch-TensorRT (``pip install rtsep[tensorrt]``) |
| ``auto`` | fastest that works | builds each one this machine can run, checks it against eager torch, keeps the fastest measured (``rtsep.backends.auto``) |

``auto`` times a short probe of every backend that builds (about 20 steps each) and keeps the
fastest median step, because the fastest differs by machine and model: ONNX Runtime beats eager
torch on one CPU core, and a small model may run faster on the CPU than through a GPU round trip
(BENCHMARKS.md, "Model backends" and "GPU path"). A backend that fails to build, or whose first
steps raise or disagree with eager torch, is skipped; one that fails later falls back to the
next. ``RTSEP_AUTO_BACKENDS=onnx,torch`` forces an order instead (the first that works wins).

This module imports neither torch nor onnxruntime; each backend imports its own on use.
"""

from __future__ import annotations

from .base import Backend, BackendUnavailableError
from .registry import CLASSES, build

__all__ = ["Backend", "BackendUnavailableError", "BACKENDS", "make_backend", "load_backend",
           "auto_order"]

BACKENDS = ("auto", *CLASSES)


def auto_order() -> list[str]:
    """Backends ``auto`` tries on this machine (``RTSEP_AUTO_BACKENDS`` when it is set)."""
    from .auto import candidates, forced_order

    return forced_order() or candidates()


def make_backend(name: str, model, meta: dict | None = None) -> Backend:
    """Backend ``name`` (see the table above) for a loaded ``model`` (and its file's ``meta``).

    ``auto`` returns an ``auto.AutoBackend``: the chosen backend with its fallbacks; its
    ``describe()`` says which was chosen and why.
    """
    from ..errors import ConfigError

    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        return build(name, model, meta)
    from .auto import select

    return select(model, meta)


def load_backend(model_path, name: str = "auto", expect_n_bins: int | None = None):
    """Load a model file and build its backend; returns (backend, meta)."""
    from models.io import load_model

    model, meta = load_model(model_path, expect_n_bins=expect_n_bins)
    return make_backend(name, model, meta), meta
