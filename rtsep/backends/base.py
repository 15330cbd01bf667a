"""The interface every inference backend offers the engine. No torch import here.

A backend wraps one causal separator and keeps its streaming state::

    mask, embedding = backend.step(mag_frame)   # (bins,) -> (bins,), (bins, emb_dim)
    backend.reset()                             # state back to silence-before-the-stream
    backend.warmup()                            # compile / first-run costs, then reset

The arrays ``step`` returns belong to the caller (never overwritten by a later step).
With a model look-ahead of L frames, the results of a call belong to the frame L calls earlier;
``lookahead_frames`` tells the engine to add L * hop samples to its latency.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DeviceError


class BackendUnavailableError(DeviceError):
    """The backend needs hardware or a package this machine does not have."""


def probe_frames(n_bins: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` deterministic magnitude frames ``(count, n_bins)`` float32 for warm-up and
    checks: heavy-tailed like music spectra (a few strong bins), the second one silent."""
    rng = np.random.default_rng(seed)
    frames = (rng.random((count, n_bins), dtype=np.float32) ** 3 * 20.0).astype(np.float32)
    if count > 1:
        frames[1] = 0.0
    return frames


class Backend:
    """Base class; subclasses set ``name`` and implement ``_step`` and ``_reset_state``."""

    name = "base"

    def __init__(self, n_bins: int, emb_dim: int, lookahead_frames: int = 0,
                 n_inputs: int | None = None):
        self.n_bins = int(n_bins)
        # values per input frame: the magnitude, then any primitive masks the model reads
        # (rtsep.core.model_inputs); n_bins for a model of the magnitude alone
        self.n_inputs = int(n_inputs or n_bins)
        self.emb_dim = int(emb_dim)
        self.lookahead_frames = int(lookahead_frames)
        self.frames_seen = 0

    def step(self, mag_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One input frame (n_inputs,) float32/float64: linear magnitude (bins,) >= 0, then
        the model's primitive masks if it reads any.

        Returns (vocal mask (bins,) float32 in [0, 1], embedding (bins, emb_dim) float32 with
        unit-norm rows).
        """
        if mag_frame.shape != (self.n_inputs,):
            what = (f"{self.n_bins} bins" if self.n_inputs == self.n_bins else
                    f"{self.n_inputs} values ({self.n_bins} bins, then primitive masks)")
            raise ConfigError(f"backend {self.name} expects a frame of {what}, "
                              f"got shape {tuple(mag_frame.shape)}")
        self.frames_seen += 1
        return self._step(mag_frame)

    def reset(self) -> None:
        """Forget all past frames (zero state), as at the start of a stream."""
        self.frames_seen = 0
        self._reset_state()

    def warmup(self, frames: int = 8) -> None:
        """Run a few frames so first-call costs (allocation, autotuning) are paid now."""
        for frame in probe_frames(self.n_inputs, frames):
            self.step(frame)
        self.reset()

    def describe(self) -> dict:
        """How this backend was chosen: ``rtsep.backends.auto`` fills in more for ``auto``."""
        return {"backend": self.name, "reason": "asked for by name"}

    def _step(self, mag_frame: np.ndarray):
        raise NotImplementedError

    def _reset_state(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} bins={self.n_bins} emb_dim={self.emb_dim}>"
