"""``tensorrt`` backend: the step compiled by Torch-TensorRT (``ir="dynamo"``), static shapes.

Optional: needs the ``torch_tensorrt`` package (``pip install rtsep[tensorrt]``), the TensorRT
libraries it depends on, and a CUDA GPU.

What is compiled is ``StepModule(model, explicit_cells=True)``: the step with its recurrent
cells written as matrix products (``models.gru``). ``torch.export`` (the front end of the
dynamo path) would otherwise hand TensorRT one opaque ``aten.gru`` op, which TensorRT's
converters may not cover, leaving the recurrent core to PyTorch between TensorRT engines.
The compiled module is called with (frame, *state) device tensors and returns
(mask, embedding, *new_state); the new state stays on the device for the next hop.

TF32 is disabled (``disable_tf32``): at batch 1 it gains nothing and would move the result
away from the CPU backends. The build ends with a check that a few frames, state carried,
match the eager step on the same device (``cuda_graph.VERIFY_TOL``).
"""

from __future__ import annotations

import copy

import numpy as np

from .base import Backend, BackendUnavailableError, probe_frames


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

        from .cuda_graph import VERIFY_FRAMES, VERIFY_TOL, eager_outputs, require_cuda

        device = require_cuda(self.name)
        super().__init__(model.n_bins, model.emb_dim, model.lookahead_frames,
                         getattr(model, "n_inputs", model.n_bins))
        model = copy.deepcopy(model).eval().float().to(device)
        self._init_state = tuple(s.to(device) for s in model.init_state(1))
        self._in = torch.zeros(1, self.n_inputs, device=device)
        self._host_in = torch.zeros(1, self.n_inputs, pin_memory=True)
        self._host_in_np = self._host_in.numpy()[0]
        example = [self._in, *self._init_state]
        with torch.no_grad():
            self.module = torch_tensorrt.compile(
                StepModule(model, explicit_cells=True).eval(), ir="dynamo", inputs=example,
                enabled_precisions={torch.float32}, disable_tf32=True, min_block_size=1)
        frames = probe_frames(self.n_inputs, VERIFY_FRAMES, seed=1)
        ref_mask, ref_emb = eager_outputs(model, frames, device)
        self._reset_state()
        got = [self._step(f) for f in frames]
        err = max(float(np.abs(np.stack([m for m, _ in got]) - ref_mask).max()),
                  float(np.abs(np.stack([e for _, e in got]) - ref_emb).max()))
        if not err <= VERIFY_TOL:
            raise BackendUnavailableError(
                f"backend 'tensorrt': the compiled step differs from the eager step by {err:.2g}")
        self._reset_state()

    def _reset_state(self) -> None:
        self._state = tuple(s.clone() for s in self._init_state)

    def _step(self, mag_frame: np.ndarray):
        import torch

        np.copyto(self._host_in_np, mag_frame, casting="same_kind")
        with torch.no_grad():
            self._in.copy_(self._host_in, non_blocking=True)
            out = self.module(self._in, *self._state)
        # Cloned: a runtime that reuses its output buffers would otherwise overwrite the state
        # it is reading on the next call.
        self._state = tuple(o.clone() for o in out[2:])
        # .cpu() waits for the step and returns new host arrays, owned by the caller.
        return out[0][0].float().cpu().numpy(), out[1][0].float().cpu().numpy()
