"""The ways of running one model step per hop that ``gpu_check.py`` compares.

Each runner offers ``step(frame (bins,)) -> (mask (bins,), embedding (bins, emb_dim))`` with the
state carried, and ``reset()``; every one returns host numpy arrays, so its time per hop
includes the copies a real hop needs. ``make_runner(kind, model, device)`` builds one:

| kind | what runs |
| --- | --- |
| ``torch`` | ``rtsep`` backend ``torch`` (CPU, one thread) |
| ``onnx`` | ``rtsep`` backend ``onnx`` (ONNX Runtime, CPU, one thread) |
| ``eager`` | ``model.step`` on ``device`` (cuDNN's GRU on CUDA), one Python call per hop |
| ``torch.compile`` | the explicit-cell step compiled with ``torch.compile`` (``mode`` |
|                   | ``reduce-overhead`` on CUDA, which replays CUDA graphs) |
| ``cuda-graph`` | ``rtsep`` backend ``cuda-graph``, capture mode chosen by the backend |
| ``cuda-graph/cudnn``, ``cuda-graph/cells`` | the same with the capture mode fixed |
| ``tensorrt`` | ``rtsep`` backend ``tensorrt`` |

On a machine without CUDA (``--dry-run``), ``eager`` and ``torch.compile`` run on the CPU, and
the ``cuda-graph`` kinds use the backend's CPU stand-in (static buffers and state copy-back
without a captured graph); ``tensorrt`` raises ``Skipped``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch


class Skipped(Exception):
    """This runner cannot run here; the message says why (reported, not an error)."""


class EagerStep:
    """``model.step`` on ``device`` per hop (no graph, no compiler)."""

    def __init__(self, model, device):
        self.device = torch.device(device)
        self.model = copy.deepcopy(model).eval().float().to(self.device)
        self.n_bins = model.n_bins
        self._x = torch.zeros(1, self.n_bins, device=self.device)
        cuda = self.device.type == "cuda"
        self._host = torch.zeros(1, self.n_bins, pin_memory=cuda)
        self.reset()

    def reset(self) -> None:
        self._state = tuple(s.to(self.device) for s in self.model.init_state(1))

    def _call(self):
        mask, emb, self._state = self.model.step(self._x, self._state)
        return mask, emb

    def step(self, frame: np.ndarray):
        self._host.numpy()[0] = frame
        with torch.no_grad():
            self._x.copy_(self._host, non_blocking=True)
            mask, emb = self._call()
            return mask[0].cpu().numpy(), emb[0].cpu().numpy()


class CompiledStep(EagerStep):
    """The explicit-cell step through ``torch.compile`` (compiled at the first call)."""

    def __init__(self, model, device):
        import torch._dynamo

        from models.export import StepModule

        super().__init__(model, device)
        # Dynamo refuses to trace a module holding an nn.GRU unless told to; the explicit-cell
        # step only reads the GRU's weights, which is safe to trace.
        torch._dynamo.config.allow_rnn = True
        cuda = self.device.type == "cuda"
        self._fn = torch.compile(StepModule(self.model, explicit_cells=True).eval(),
                                 mode="reduce-overhead" if cuda else "default", fullgraph=True)
        self._mark = torch.compiler.cudagraph_mark_step_begin if cuda else (lambda: None)

    def _call(self):
        self._mark()
        out = self._fn(self._x, *self._state)
        # Cloned: under reduce-overhead the outputs live in the CUDA graph's memory pool and
        # are overwritten by the next replay.
        self._state = tuple(s.clone() for s in out[2:])
        return out[0], out[1]


class BackendRunner:
    """An ``rtsep`` backend as a runner (they already have the interface)."""

    def __init__(self, backend):
        self.backend = backend
        self.step = backend.step
        self.reset = backend.reset


def make_runner(kind: str, model, device, meta: dict | None = None):
    """A runner of ``kind`` (table above) for ``model``; ``device`` is where GPU kinds run."""
    from rtsep.backends import make_backend

    device = torch.device(device)
    if kind in ("torch", "onnx", "auto"):
        return BackendRunner(make_backend(kind, model, meta))
    if kind == "eager":
        return EagerStep(model, device)
    if kind == "torch.compile":
        return CompiledStep(model, device)
    if kind.startswith("cuda-graph"):
        from rtsep.backends.cuda_graph import CudaGraphBackend

        mode = kind.partition("/")[2] or None
        return BackendRunner(CudaGraphBackend(model, mode=mode, device=device))
    if kind == "tensorrt":
        if device.type != "cuda":
            raise Skipped("skipped: no CUDA")
        return BackendRunner(make_backend("tensorrt", model, meta))
    raise ValueError(f"unknown runner kind {kind!r}")


def run_frames(runner, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks (n, bins) and embeddings (n, bins, emb_dim) of ``frames`` from a reset state."""
    runner.reset()
    out = [runner.step(f) for f in frames]
    return np.stack([m for m, _ in out]), np.stack([e for _, e in out])


def export_ops(model) -> list[str]:
    """Ops of the explicit-cell step as ``torch.export`` sees it: the graph Torch-TensorRT's
    dynamo path would convert (checked on the CPU when there is no TensorRT)."""
    from models.export import StepModule

    model = copy.deepcopy(model).eval().float().cpu()
    example = (torch.zeros(1, model.n_bins), *model.init_state(1))
    with torch.no_grad():
        program = torch.export.export(StepModule(model, explicit_cells=True).eval(), example)
    return sorted({str(n.target) for n in program.graph.nodes if n.op == "call_function"})
