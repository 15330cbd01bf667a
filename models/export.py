"""The per-frame step as a plain module of tensors, for graph export and graph compilers.

``StepModule(model)(mag_frame, *state) -> (mask, embedding, *new_state)``: the same computation
as ``model.step`` with the state flattened into positional tensors, which is the calling
convention ONNX, CUDA graphs and TensorRT all understand. ``StepModule(model,
explicit_cells=True)`` is the step with recurrent cells written as plain matrix products
(``CausalSeparator.step``), the form ``torch.compile`` and ``torch.export`` trace whole.

Shape (batch 1 in exports): mag_frame (batch, bins) -> mask (batch, bins),
embedding (batch, bins, emb_dim), new_state tensors shaped as ``model.init_state(batch)``.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

OPSET = 17


class StepModule(nn.Module):
    def __init__(self, model: nn.Module, explicit_cells: bool = False):
        super().__init__()
        self.model = model
        self.explicit_cells = bool(explicit_cells)

    def forward(self, mag_frame: torch.Tensor, *state: torch.Tensor):
        mask, emb, new_state = self.model.step(mag_frame, state,
                                               explicit_cells=self.explicit_cells)
        return (mask, emb, *new_state)


def io_names(model) -> tuple[list[str], list[str]]:
    """Input and output names of the exported step graph."""
    n = len(model.init_state(1))
    inputs = ["mag_frame"] + [f"state_{i}" for i in range(n)]
    outputs = ["mask", "embedding"] + [f"new_state_{i}" for i in range(n)]
    return inputs, outputs


def export_step_onnx(model, path=None) -> bytes | None:
    """Export the batch-1 step graph to ONNX (static shapes).

    Writes ``path`` when given (the caller makes it atomic), else returns the serialised bytes.
    Uses the TorchScript-based exporter, which needs no onnxscript and handles GRU and
    convolutions directly.
    """
    model = model.eval().float().cpu()
    wrapper = StepModule(model).eval()
    example = (torch.zeros(1, getattr(model, "n_inputs", model.n_bins)), *model.init_state(1))
    inputs, outputs = io_names(model)
    target = io.BytesIO() if path is None else str(path)
    with warnings.catch_warnings(), torch.no_grad():
        # The legacy exporter warns that it is deprecated and about GRU batch_first; both are
        # expected here and say nothing about this graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, example, target, input_names=inputs, output_names=outputs,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    return target.getvalue() if path is None else None
