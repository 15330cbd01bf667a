"""A pool of remixes with the engine's primitive masks computed once for each.

Each slot holds a recipe (``offline_training.remixer``) of ``seconds`` of audio and the masks
that ``rtsep.core.model_inputs.primitive_frames`` gives for its mixture, from silence before the
first sample (as a stream or a file starts). The mixture is rendered from the bank in float64
and transformed with ``rtsep.core.stft.stft_offline``, whose frames are the streaming STFT's, and
its magnitude is the mean over channels of |X|, as ``Engine.process_hop`` computes it.

Masks are stored as uint8 (step 1/255): a pool of 1000 six-second remixes with three masks on
372 bins takes 1.2 GB. The arrays live in ``folder`` as ``.npy`` files mapped into memory, so a
resumed run reuses them; ``refresh`` redraws slots so that the remixes change during training.

Shapes: ``features`` ``(slots, primitives, primitive_bins, n_frames)`` uint8.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .remixer import FIELDS, RemixSettings, draw, render


class PrimitivePool:
    def __init__(self, bank, indices, geometry, names, primitive_bins: int, size: int,
                 seconds: float, folder, seed: int = 0, settings: RemixSettings | None = None,
                 log=None):
        self.bank, self.indices, self.geometry = bank, np.asarray(indices), geometry
        self.names, self.primitive_bins = tuple(names), int(primitive_bins)
        self.settings = settings or RemixSettings()
        self.length = int(round(seconds * geometry.sr))
        self.n_frames = -(-self.length // geometry.hop) + 1  # stft_offline's frame count
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        feat_path, meta_path = self.folder / "features.npy", self.folder / "recipes.json"
        shape = (int(size), len(self.names), self.primitive_bins, self.n_frames)
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
        if (meta is not None and feat_path.is_file() and meta.get("shape") == list(shape)
                and meta.get("names") == list(self.names)):
            self.features = np.load(feat_path, mmap_mode="r+")
            self.recipes = {k: np.asarray(v) for k, v in meta["recipes"].items()}
            self.filled = int(meta.get("filled", size))
        else:
            self.features = np.lib.format.open_memmap(feat_path, mode="w+", dtype=np.uint8,
                                                      shape=shape)
            rng = np.random.default_rng(seed)
            self.recipes = draw(bank, self.indices, int(size), self.length, rng, self.settings)
            self.filled = 0
        while self.filled < size:
            self._fill(self.filled)
            self.filled += 1
            if self.filled % 100 == 0 or self.filled == size:
                self.save()
                if log:
                    log(f"primitive pool: {self.filled}/{size} remixes")

    def __len__(self) -> int:
        return self.features.shape[0]

    def mixture_magnitude(self, slot: int) -> np.ndarray:
        """The engine's magnitude ``(bins, n_frames)`` of the remix in ``slot``."""
        from rtsep.core.stft import stft_offline

        rec = {k: v[slot:slot + 1] for k, v in self.recipes.items()}
        v, a = render(self.bank, rec, 0, self.length)
        x = (v[0].astype(np.float64) + a[0].astype(np.float64))
        return np.abs(stft_offline(x, self.geometry)).mean(axis=0)

    def _fill(self, slot: int) -> None:
        from rtsep.core.model_inputs import primitive_frames

        masks = primitive_frames(self.mixture_magnitude(slot), self.geometry, self.names,
                                 self.primitive_bins)
        self.features[slot] = np.rint(np.clip(masks, 0.0, 1.0) * 255.0).astype(np.uint8)

    def refresh(self, count: int, rng: np.random.Generator) -> None:
        """Replace ``count`` random slots by new remixes (new pairings, crops and gains)."""
        slots = rng.choice(len(self), size=min(int(count), len(self)), replace=False)
        fresh = draw(self.bank, self.indices, len(slots), self.length, rng, self.settings)
        for i, slot in enumerate(slots):
            for k in FIELDS:
                self.recipes[k][slot] = fresh[k][i]
            self._fill(int(slot))

    def save(self) -> None:
        self.features.flush()
        doc = {"shape": list(self.features.shape), "names": list(self.names),
               "filled": self.filled,
               "recipes": {k: np.asarray(v).tolist() for k, v in self.recipes.items()}}
        tmp = self.folder / ".recipes.json.tmp"
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self.folder / "recipes.json")
