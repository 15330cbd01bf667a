"""Backend names and the classes behind them, imported on use (no torch import here).

Shared by ``rtsep.backends`` (``make_backend``) and ``rtsep.backends.auto`` (which builds every
candidate), so neither imports the other to find a class.
"""

from __future__ import annotations

import importlib

CLASSES = {
    "torch": ("rtsep.backends.torch_cpu", "TorchBackend"),
    "onnx": ("rtsep.backends.onnx_cpu", "OnnxBackend"),
    "cuda-graph": ("rtsep.backends.cuda_graph", "CudaGraphBackend"),
    "tensorrt": ("rtsep.backends.tensorrt", "TensorRTBackend"),
}


def build(name: str, model, meta: dict | None):
    """Backend ``name`` for ``model``; exceptions of the backend's constructor pass through."""
    module, cls_name = CLASSES[name]
    cls = getattr(importlib.import_module(module), cls_name)
    return cls(model, meta) if name == "onnx" else cls(model)
