"""``cuda-graph`` backend: the step captured once as a CUDA graph and replayed per hop.

Per hop the host does three things on the backend's own stream: copy the frame from a pinned
buffer into a static device tensor, replay the graph, copy mask and embedding back into pinned
buffers; then it waits for that stream only. The graph also writes the new state into the static
state tensors, so the state never leaves the GPU. The launch cost of the step's few dozen small
kernels is paid once, at capture, instead of per hop.

What capture needs, and why the code is shaped so:

- Static tensors: a graph replays fixed device addresses, so the input frame, the state and the
  outputs live in tensors allocated once; the state update is an in-place ``copy_`` at the end
  of the captured step (the new state is computed from the old one first, then copied over it).
- Warm-up on a side stream before capture (the documented recipe): lazy initialisation (cuBLAS
  and cuDNN handles, workspaces, cuDNN's RNN descriptors) must happen outside the graph.
- Two ways to capture the step, tried in order (``mode``): ``cudnn``, the model's own step
  (cuDNN's fused RNN kernel for a GRU), and ``cells``, the recurrent cells written as plain
  matrix products (``models.gru``). Some cuDNN RNN paths do host work or synchronous copies that
  a capture cannot record; the explicit cells capture wherever cuBLAS does.
- Every capture is checked: a few frames replayed through the graph must match the eager step
  on the same device (state carried) within ``VERIFY_TOL``, or the mode is rejected. A graph
  that captured a stale value would otherwise be silently wrong on every hop.
- TF32 is off while capturing (cuDNN allows it by default): at batch 1 the step is bound by
  memory traffic, not arithmetic, and full float32 keeps the GPU within float rounding of the
  CPU backends.
- A high-priority stream, so the hop is scheduled ahead of other work sharing the GPU.

``CudaGraphBackend(model, device="cpu")`` is a stand-in used by ``benchmarks/gpu_check.py
--dry-run`` and the CPU tests: the same static buffers, state copy-back and verification, with
the captured graph replaced by a direct call of the captured function (no CUDA is exercised).
``make_backend("cuda-graph", ...)`` never builds it: without CUDA it raises.
"""

from __future__ import annotations

import contextlib
import copy
import warnings

import numpy as np
import torch

from .base import Backend, BackendUnavailableError, probe_frames

CAPTURE_MODES = ("cudnn", "cells")
VERIFY_TOL = 1e-3  # float32 on both sides; summation order differs between kernels
VERIFY_FRAMES = 6


def require_cuda(backend: str) -> torch.device:
    if not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"backend {backend!r} needs a GPU: no CUDA device is visible to torch")
    return torch.device("cuda", torch.cuda.current_device())


@contextlib.contextmanager
def full_float32():
    """cuDNN enabled, no TF32, no autotuning (its choice could differ from run to run)."""
    cudnn = torch.backends.cudnn
    saved = (cudnn.enabled, cudnn.benchmark, cudnn.allow_tf32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer torch suggests its fp32_precision API
        cudnn.enabled, cudnn.benchmark, cudnn.allow_tf32 = True, False, False
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cudnn.enabled, cudnn.benchmark, cudnn.allow_tf32 = saved


def eager_outputs(model, frames: np.ndarray, device, explicit_cells: bool = False):
    """The eager step over ``frames`` (n, bins) from a zero state on ``device``.

    Returns (masks (n, bins), embeddings (n, bins, emb_dim)) as float32 numpy arrays.
    """
    masks, embs = [], []
    state = tuple(s.to(device) for s in model.init_state(1))
    with torch.no_grad(), full_float32():
        for f in frames:
            x = torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32))[None].to(device)
            mask, emb, state = model.step(x, state, explicit_cells=explicit_cells)
            masks.append(mask[0].cpu().numpy())
            embs.append(emb[0].cpu().numpy())
    return np.stack(masks), np.stack(embs)


class CudaGraphBackend(Backend):
    """Args: ``model`` (not modified: the backend keeps its own copy on the device), ``mode``
    one of ``CAPTURE_MODES`` or None (try them in order), ``device`` None for the current CUDA
    device or ``"cpu"`` for the stand-in described in the module docstring."""

    name = "cuda-graph"

    def __init__(self, model, mode: str | None = None, device=None, warmup_steps: int = 3):
        if mode is not None and mode not in CAPTURE_MODES:
            raise ValueError(f"mode must be one of {CAPTURE_MODES} or None, got {mode!r}")
        device = require_cuda(self.name) if device is None else torch.device(device)
        self.stand_in = device.type != "cuda"
        super().__init__(model.n_bins, model.emb_dim, model.lookahead_frames,
                         getattr(model, "n_inputs", model.n_bins))
        self.device = device
        self.model = copy.deepcopy(model).eval().float().to(device)
        cuda = not self.stand_in
        self._stream = torch.cuda.Stream(device, priority=-1) if cuda else None
        with torch.no_grad():
            self._in = torch.zeros(1, self.n_inputs, device=device)
            self._state = tuple(s.to(device) for s in self.model.init_state(1))
            # Pinned host buffers: the copies are DMA transfers that can run asynchronously.
            self._host_in = torch.zeros(1, self.n_inputs, pin_memory=cuda)
            self._host_mask = torch.zeros(1, self.n_bins, pin_memory=cuda)
            self._host_emb = torch.zeros(1, self.n_bins, self.emb_dim, pin_memory=cuda)
        self._host_in_np = self._host_in.numpy()[0]
        self.capture_errors: dict[str, str] = {}
        self.mode = None
        for candidate in ((mode,) if mode else CAPTURE_MODES):
            try:
                self._capture(candidate == "cells", warmup_steps)
                self._verify(candidate == "cells")
            except Exception as exc:  # a failed capture or a wrong graph: try the next mode
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.capture_errors[candidate] = f"{type(exc).__name__}: {first}"
                self._graph = None
                if cuda:
                    torch.cuda.synchronize(device)
                continue
            self.mode = candidate
            break
        if self.mode is None:
            raise BackendUnavailableError(
                "backend 'cuda-graph' could not capture the step (" + "; ".join(
                    f"{m}: {e}" for m, e in self.capture_errors.items()) + ")")
        self._reset_state()

    # -- capture -------------------------------------------------------------------------
    def _static_step(self, explicit_cells: bool):
        """The function that is captured: one step on the static tensors, state updated."""
        mask, emb, new_state = self.model.step(self._in, self._state,
                                               explicit_cells=explicit_cells)
        for old, new in zip(self._state, new_state):
            old.copy_(new)
        return mask, emb

    def _capture(self, explicit_cells: bool, warmup_steps: int) -> None:
        self._reset_state()
        with torch.no_grad(), full_float32():
            if self.stand_in:
                self._graph = None
                self._run = lambda: self._static_step(explicit_cells)
                return
            side = self._stream
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(warmup_steps):
                    self._static_step(explicit_cells)
            torch.cuda.current_stream(self.device).wait_stream(side)
            side.synchronize()
            self._reset_state()
            graph = torch.cuda.CUDAGraph()
            # Captured on the backend's stream; replayed on it too (see _launch).
            with torch.cuda.graph(graph, stream=side):
                self._mask, self._emb = self._static_step(explicit_cells)
            self._graph = graph
            self._run = graph.replay

    def _verify(self, explicit_cells: bool) -> None:
        frames = probe_frames(self.n_inputs, VERIFY_FRAMES, seed=1)
        ref_mask, ref_emb = eager_outputs(self.model, frames, self.device, explicit_cells)
        self._reset_state()
        got = [self._launch(f) for f in frames]
        err = max(float(np.abs(np.stack([m for m, _ in got]) - ref_mask).max()),
                  float(np.abs(np.stack([e for _, e in got]) - ref_emb).max()))
        if not err <= VERIFY_TOL:  # NaN fails too
            raise RuntimeError(f"the replayed graph differs from the eager step by {err:.2g}")

    # -- per hop -------------------------------------------------------------------------
    def _launch(self, mag_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        np.copyto(self._host_in_np, mag_frame, casting="same_kind")
        if self.stand_in:
            with torch.no_grad():
                self._in.copy_(self._host_in)
                mask, emb = self._run()
            self._host_mask.copy_(mask)
            self._host_emb.copy_(emb)
        else:
            with torch.cuda.stream(self._stream):
                self._in.copy_(self._host_in, non_blocking=True)
                self._run()
                self._host_mask.copy_(self._mask, non_blocking=True)
                self._host_emb.copy_(self._emb, non_blocking=True)
            self._stream.synchronize()
        # Copies: the pinned buffers are overwritten by the next hop.
        return self._host_mask.numpy()[0].copy(), self._host_emb.numpy()[0].copy()

    def _step(self, mag_frame: np.ndarray):
        return self._launch(mag_frame)

    def _reset_state(self) -> None:
        if self.stand_in:
            for s in self._state:
                s.zero_()
            return
        with torch.cuda.stream(self._stream):
            for s in self._state:
                s.zero_()
        self._stream.synchronize()

    def __repr__(self) -> str:
        where = "cpu stand-in" if self.stand_in else str(self.device)
        return f"<CudaGraphBackend mode={self.mode} on {where} bins={self.n_bins}>"
