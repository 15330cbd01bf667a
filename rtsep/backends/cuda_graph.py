"""``cuda-graph`` backend: the step captured once as a CUDA graph and replayed per hop.

Per hop the host does three things: copy the frame into a static device tensor, replay the
graph, copy mask and embedding back. The captured graph also writes the new state into the
static state tensors, so the state never leaves the GPU. Launch overhead of the dozens of small
kernels of one step is paid once at capture instead of per hop.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Backend, BackendUnavailableError


def require_cuda(backend: str) -> torch.device:
    if not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"backend {backend!r} needs a GPU: no CUDA device is visible to torch")
    return torch.device("cuda", torch.cuda.current_device())


class CudaGraphBackend(Backend):
    name = "cuda-graph"

    def __init__(self, model, warmup_steps: int = 3):
        device = require_cuda(self.name)
        super().__init__(model.n_bins, model.emb_dim, model.lookahead_frames,
                         getattr(model, "n_inputs", model.n_bins))
        self.model = model.eval().float().to(device)
        with torch.no_grad():
            self._in = torch.zeros(1, self.n_inputs, device=device)
            self._state = tuple(s.to(device) for s in self.model.init_state(1))
            # Pinned host buffers make the copies plain DMA transfers.
            self._host_in = torch.zeros(1, self.n_inputs, pin_memory=True)
            self._host_mask = torch.zeros(1, self.n_bins, pin_memory=True)
            self._host_emb = torch.zeros(1, self.n_bins, self.emb_dim, pin_memory=True)
            # The documented recipe: run the step a few times on a side stream before capture
            # so lazy initialisation (cuDNN handles, workspace) is not captured.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(warmup_steps):
                    self.model.step(self._in, self._state)
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                mask, emb, new_state = self.model.step(self._in, self._state)
                for old, new in zip(self._state, new_state):
                    old.copy_(new)
            self._mask, self._emb = mask, emb
        self._reset_state()

    def _reset_state(self) -> None:
        for s in self._state:
            s.zero_()

    def _step(self, mag_frame: np.ndarray):
        np.copyto(self._host_in.numpy()[0], mag_frame, casting="same_kind")
        self._in.copy_(self._host_in, non_blocking=True)
        self.graph.replay()
        self._host_mask.copy_(self._mask, non_blocking=True)
        self._host_emb.copy_(self._emb, non_blocking=True)
        torch.cuda.current_stream().synchronize()
        # Copies: the pinned buffers are overwritten by the next hop.
        return self._host_mask.numpy()[0].copy(), self._host_emb.numpy()[0].copy()
