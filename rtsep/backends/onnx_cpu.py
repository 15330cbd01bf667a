"""``onnx`` backend: the exported step graph in ONNX Runtime on one CPU thread.

The graph takes (mag_frame, *state) and returns (mask, embedding, *new_state); the state is
kept here as numpy arrays and fed back on the next call. Exports are cached in
``kernels.user_cache_dir() / "onnx"`` (``$RTSEP_CACHE_DIR``, else ``~/.cache/rtsep``) under
the model's weights hash, so a model file is exported once per machine and exporter version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kernels import user_cache_dir

from ..errors import OutputError
from ..io.atomic import atomic_write
from .base import Backend, BackendUnavailableError


def onnx_step_graph(model, meta: dict | None = None):
    """Path of the cached step graph for a model loaded from a file, else the graph's bytes."""
    import torch

    from models.export import OPSET, export_step_onnx

    sha = (meta or {}).get("weights", {}).get("sha256")
    if not sha:
        return export_step_onnx(model)
    path = user_cache_dir() / "onnx" / f"{sha[:32]}-opset{OPSET}-torch{torch.__version__.split('+')[0]}.onnx"
    if not path.is_file():
        try:
            atomic_write(path, lambda tmp: export_step_onnx(model, tmp))
        except OutputError:
            return export_step_onnx(model)  # read-only cache: export in memory every time
    return path


class OnnxBackend(Backend):
    name = "onnx"

    def __init__(self, model, meta: dict | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailableError(
                "backend 'onnx' needs onnxruntime: pip install rtsep[onnx]") from None
        super().__init__(model.n_bins, model.emb_dim, model.lookahead_frames,
                         getattr(model, "n_inputs", model.n_bins))
        graph = onnx_step_graph(model, meta)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        source = str(graph) if isinstance(graph, Path) else graph
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        self._state_names = [i.name for i in inputs[1:]]
        self._state_shapes = [tuple(i.shape) for i in inputs[1:]]
        self._frame = np.zeros((1, self.n_inputs), dtype=np.float32)
        self._feeds = {"mag_frame": self._frame}
        self._reset_state()

    def _reset_state(self) -> None:
        for name, shape in zip(self._state_names, self._state_shapes):
            self._feeds[name] = np.zeros(shape, dtype=np.float32)

    def _step(self, mag_frame: np.ndarray):
        np.copyto(self._frame[0], mag_frame, casting="same_kind")
        outputs = self.session.run(None, self._feeds)
        for name, value in zip(self._state_names, outputs[2:]):
            self._feeds[name] = value
        return outputs[0][0], outputs[1][0]
