"""``tensorrt`` backend: the step module compiled by Torch-TensorRT with static shapes.

Optional: needs the ``torch_tensorrt`` package (``pip install rtsep[tensorrt]``) and a CUDA GPU.
The compiled module is called with (frame, *state) device tensors and returns
(mask, embedding, *new_state); the new state is kept on the device for the next hop.
"""

from __future__ import annotations

import numpy as np

from .base import Backend, BackendUnavailableError


def import_torch_tensorrt():
    try:
        import torch_tensorrt
    except ImportError:
        raise BackendUnavailableError(
            "backend 'tensorrt' needs torch_tensorrt, which is not installed: "
            "pip install rtsep[tensorrt]") from None
    return torch_tensorrt


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, model):
        torch_tensorrt = import_torch_tensorrt()
        import torch

        from models.export import StepModule

        from .cuda_graph import require_cuda

        device = require_cuda(self.name)
        super().__init__(model.n_bins, model.emb_dim, model.lookahead_frames,
                         getattr(model, "n_inputs", model.n_bins))
        model = model.eval().float().to(device)
        self._init_state = tuple(s.to(device) for s in model.init_state(1))
        self._in = torch.zeros(1, self.n_inputs, device=device)
        example = [self._in, *self._init_state]
        with torch.no_grad():
            self.module = torch_tensorrt.compile(
                StepModule(model).eval(), ir="dynamo", inputs=example,
                enabled_precisions={torch.float32}, min_block_size=1)
        self._reset_state()

    def _reset_state(self) -> None:
        self._state = tuple(s.clone() for s in self._init_state)

    def _step(self, mag_frame: np.ndarray):
        import torch

        with torch.no_grad():
            self._in.copy_(torch.from_numpy(np.asarray(mag_frame, dtype=np.float32))[None])
            out = self.module(self._in, *self._state)
        self._state = tuple(out[2:])
        return out[0][0].float().cpu().numpy(), out[1][0].float().cpu().numpy()
