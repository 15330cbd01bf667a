"""Training batches: remixes rendered from a ``StemBank``, transformed in torch in one go.

``RemixBatches`` serves models of the magnitude alone: every step draws new recipes
(``offline_training.remixer``) and crops of ``frames`` whole STFT windows. ``PoolBatches``
serves models that also read the primitive masks (``models.refiner``): those masks come from
the engine's causal kernels run over a whole remix from its first sample, which costs about as
much as the training step itself, so remixes are drawn into a pool whose masks are computed
once (``offline_training.prim_pool``) and refreshed a slice at a time; each step crops random
frame ranges of pool remixes and renders their audio again from the bank (cheap).

A batch is a dict of torch tensors: ``x`` the model input ``(batch, n_inputs, frames)``,
and the targets of ``offline_training.batch_stft.targets`` (``mag``, ``xx``, ``vx``, ``vv``,
``assign``, ``irm``, each ``(batch, bins, frames)``); ``seconds`` is the audio it holds.
"""

from __future__ import annotations

import numpy as np
import torch

from .remixer import RemixSettings, draw, render
from .batch_stft import crop_samples, targets


class RemixBatches:
    """Fresh remixes every call, for models whose input is the magnitude alone."""

    def __init__(self, bank, indices, geometry, frames: int, batch: int,
                 settings: RemixSettings | None = None):
        self.bank, self.indices, self.geometry = bank, np.asarray(indices), geometry
        self.frames, self.batch = int(frames), int(batch)
        self.settings = settings or RemixSettings()
        self.length = crop_samples(self.frames, geometry)

    def __call__(self, rng: np.random.Generator) -> dict:
        recipes = draw(self.bank, self.indices, self.batch, self.length, rng, self.settings)
        v, a = render(self.bank, recipes, 0, self.length)
        out = targets(v, a, self.geometry, stereo_examples(self.bank, recipes))
        out["x"] = out["mag"]
        out["seconds"] = self.batch * self.frames * self.geometry.hop / self.geometry.sr
        return out


class PoolBatches:
    """Random frame ranges of a ``PrimitivePool``'s remixes, with their primitive masks."""

    def __init__(self, pool, frames: int, batch: int, refresh_per_step: float = 0.0):
        self.pool, self.frames, self.batch = pool, int(frames), int(batch)
        if self.frames > pool.n_frames:
            raise ValueError(f"crops of {frames} frames do not fit pool remixes of "
                             f"{pool.n_frames} frames")
        self.refresh_per_step = float(refresh_per_step)
        self._owed = 0.0

    def __call__(self, rng: np.random.Generator) -> dict:
        pool = self.pool
        if self.refresh_per_step:
            self._owed += self.refresh_per_step
            if self._owed >= 1.0:
                # runs in the batch worker: it alone changes the pool, so it saves it too
                pool.refresh(int(self._owed), rng)
                pool.save()
                self._owed -= int(self._owed)
        slots = rng.integers(0, len(pool), self.batch)
        t0 = rng.integers(0, pool.n_frames - self.frames + 1, self.batch)
        return pool_batch(pool, slots, t0, self.frames)


def pool_batch(pool, slots, t0, n_frames: int) -> dict:
    """Frames ``t0 .. t0 + n_frames`` of the pool remixes ``slots`` (arrays, one per example):
    the spectra of exactly the frames whose primitive masks the pool holds."""
    g = pool.geometry
    recipes = {k: v[slots] for k, v in pool.recipes.items()}
    # frame k of a remix (rtsep.core.stft.stft_offline) covers samples k*hop + hop - n_fft ..
    # k*hop + hop - 1; samples before the remix's start are zeros, as at a stream's start
    start = t0 * g.hop + g.hop - g.n_fft
    v, a = render(pool.bank, recipes, start, crop_samples(n_frames, g),
                  lengths=np.full(len(slots), pool.length))
    out = targets(v, a, g, stereo_examples(pool.bank, recipes))
    n_bins = out["mag"].shape[1]
    n_feat = pool.features.shape[1] * pool.features.shape[2]
    # frames-first like the targets (see batch_stft.targets), viewed as (batch, inputs, frames)
    x = np.empty((len(slots), n_frames, n_bins + n_feat), dtype=np.float32)
    x[:, :, :n_bins] = out["mag"].transpose(1, 2).numpy()
    for b, (s, t) in enumerate(zip(slots, t0)):
        feat = pool.features[s, :, :, t:t + n_frames].reshape(n_feat, n_frames)
        x[b, :, n_bins:] = feat.T
    x[:, :, n_bins:] *= 1.0 / 255.0
    out["x"] = torch.from_numpy(x).transpose(1, 2)
    out["seconds"] = len(slots) * n_frames * g.hop / g.sr
    return out


def stereo_examples(bank, recipes: dict) -> np.ndarray:
    """True for the examples with a stereo stem (the others' two channels are equal)."""
    channels = np.array([e.channels for e in bank.entries])
    return (channels[recipes["v_track"]] > 1) | (channels[recipes["a_track"]] > 1)


def fixed_batches(make, count: int, seed: int) -> list[dict]:
    """``count`` batches drawn once with their own seed: a validation set that every
    evaluation of a run (and every resumed run) sees identically."""
    rng = np.random.default_rng(seed)
    return [make(rng) for _ in range(count)]
