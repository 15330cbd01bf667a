"""``torch`` backend: the model's own ``step`` in eager PyTorch on one CPU thread.

One thread because the engine works one hop (one frame, batch 1) at a time: the matrices are
small, and a thread pool costs more in wake-ups than it saves, and would compete with the audio
callback and the numba primitives for the cores.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Backend


def limit_torch_threads() -> None:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        # Only settable before the first parallel work in the process; already fixed then.
        pass


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, model):
        super().__init__(model.n_bins, model.emb_dim, model.lookahead_frames,
                         getattr(model, "n_inputs", model.n_bins))
        limit_torch_threads()
        self.model = model.eval().float().cpu()
        # The input tensor is allocated once; its numpy view lets step copy a frame in without
        # creating a tensor per hop.
        self._frame = torch.zeros(1, self.n_inputs)
        self._frame_np = self._frame.numpy()[0]
        self._reset_state()

    def _reset_state(self) -> None:
        self._state = self.model.init_state(1)

    def _step(self, mag_frame: np.ndarray):
        np.copyto(self._frame_np, mag_frame, casting="same_kind")
        with torch.inference_mode():
            mask, emb, self._state = self.model.step(self._frame, self._state)
        return mask[0].numpy(), emb[0].numpy()
