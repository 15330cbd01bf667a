"""Single-source recordings and unlabelled mixtures at 44.1 kHz, cached, cropped in batches.

The unpaired roles of adversarial training (``offline_training.roles``) each hold one signal
per recording: a solo file, one stem of a track, or the sum of a track's stems (a mixture
whose stems are ignored). They are read once with the real-stem pipeline's reader
(``offline_training.stem_bank``: soxr resampling to 44.1 kHz, at most two channels) and kept as
float16 ``.npy`` files that every process maps into memory.

Levels: a recording's *active level* is the RMS of its louder half of ~93 ms blocks (silence
and fades do not count). Batches scale every recording to a target active level, then by a
random gain, so solo vocals, solo accompaniment and mixtures from different sources meet the
critics at the levels the labelled songs have (``role_levels``) and loudness alone tells a
critic nothing about where an excerpt came from.

Shapes: a recording ``(channels, samples)``; a batch of magnitudes ``(batch, bins, frames)``:
the engine's magnitude, the mean over channels of |STFT|.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .stem_bank import SR, _read_at_sr, envelope, read_stems


def active_level(env: np.ndarray) -> float:
    """RMS over the louder half of the blocks of an envelope (``stem_bank.envelope``)."""
    if env.size == 0:
        return 0.0
    loud = np.sort(env)[env.size // 2:]
    return float(np.sqrt(np.mean(loud.astype(np.float64) ** 2)))


def read_source(path: str, kind: str) -> np.ndarray:
    """``(channels <= 2, samples)`` float32 at 44.1 kHz of one role source (see
    ``offline_training.roles.Source``)."""
    if kind == "file":
        return _read_at_sr(Path(path))
    vocals, accompaniment = read_stems(Path(path))
    return {"vocals": vocals, "accompaniment": accompaniment,
            "mixture": vocals + accompaniment}[kind]


def _key(path: str, kind: str) -> str:
    h = hashlib.sha256(f"{Path(path).resolve()}|{kind}".encode())
    p = Path(path)
    for f in sorted(p.iterdir()) if p.is_dir() else [p]:
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return f"{p.stem[:40].replace(' ', '_')}-{kind}-{h.hexdigest()[:12]}"


class RecordingBank:
    """Memory-mapped recordings; ``levels[i]`` is recording ``i``'s active level."""

    def __init__(self, keys: list, cache_dir: Path, levels: list, samples: list):
        self.keys, self.cache_dir = keys, Path(cache_dir)
        self.levels = np.asarray(levels, dtype=np.float64)
        self.samples = np.asarray(samples, dtype=np.int64)
        self._maps: dict = {}

    @classmethod
    def build(cls, sources, cache_dir, log=None) -> "RecordingBank":
        """Read (or find in ``cache_dir``) every ``(path, kind)`` of ``sources``."""
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        keys, levels, samples = [], [], []
        for n, (path, kind) in enumerate(sources):
            key = _key(path, kind)
            meta = cache_dir / f"{key}.json"
            if not meta.is_file():
                x = read_source(path, kind).astype(np.float16)
                tmp = cache_dir / f".{key}.tmp.npy"
                np.save(tmp, x)
                os.replace(tmp, cache_dir / f"{key}.npy")
                doc = {"samples": int(x.shape[1]),
                       "level": active_level(envelope(x.astype(np.float32)))}
                tmp = cache_dir / f".{key}.json.tmp"
                tmp.write_text(json.dumps(doc))
                os.replace(tmp, meta)
                if log and (n + 1) % 50 == 0:
                    log(f"recordings: read {n + 1}/{len(sources)}")
            doc = json.loads(meta.read_text())
            keys.append(key)
            levels.append(doc["level"])
            samples.append(doc["samples"])
        return cls(keys, cache_dir, levels, samples)

    def __len__(self) -> int:
        return len(self.keys)

    def audio(self, i: int) -> np.ndarray:
        if i not in self._maps:
            self._maps[i] = np.load(self.cache_dir / f"{self.keys[i]}.npy", mmap_mode="r")
        return self._maps[i]

    def seconds(self) -> float:
        return float(self.samples.sum()) / SR


def _crop(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """``(2, length)`` float32 from ``start`` (zeros past the end; mono fills both)."""
    out = np.zeros((2, length), dtype=np.float32)
    stop = min(x.shape[1], start + length)
    out[:, :stop - start] = x[:, start:stop]
    return out


class CropBatches:
    """Random crops of ``frames`` whole STFT windows from the recordings ``indices``, each
    scaled to the active level ``level`` and by a gain uniform in +-``gain_db``; returns their
    magnitudes ``(batch, bins, frames)`` float32 torch tensor. Crops start anywhere (pauses
    included: a singer's rests are part of what solo vocals look like)."""

    def __init__(self, bank: RecordingBank, indices, geometry, frames: int, batch: int,
                 level: float, gain_db: float = 5.0):
        from .batch_stft import crop_samples

        self.bank, self.indices = bank, np.asarray(indices, dtype=np.int64)
        if self.indices.size == 0:
            raise ValueError("no recordings to crop from")
        self.geometry, self.frames, self.batch = geometry, int(frames), int(batch)
        self.length = crop_samples(self.frames, geometry)
        self.level, self.gain_db = float(level), float(gain_db)
        # recordings weigh by length, so an hour of one singer is not one draw among many clips
        w = self.bank.samples[self.indices].astype(np.float64)
        self.weights = w / w.sum()

    def audio(self, rng: np.random.Generator) -> np.ndarray:
        """``(batch, 2, samples)`` float32: the scaled crops."""
        picks = rng.choice(self.indices, self.batch, p=self.weights)
        out = np.empty((self.batch, 2, self.length), dtype=np.float32)
        for b, i in enumerate(picks):
            x = self.bank.audio(int(i))
            start = int(rng.integers(0, max(1, x.shape[1] - self.length + 1)))
            gain_db = rng.uniform(-self.gain_db, self.gain_db)
            scale = self.level / max(self.bank.levels[i], 1e-6) * 10.0 ** (gain_db / 20.0)
            out[b] = _crop(x, start, self.length) * scale
        return out

    def __call__(self, rng: np.random.Generator):
        import torch

        from .batch_stft import frames

        mag = np.abs(frames(self.audio(rng), self.geometry)).mean(axis=1)
        return torch.from_numpy(np.ascontiguousarray(mag, dtype=np.float32))


def role_levels(stem_bank, indices) -> dict:
    """Median active levels of the labelled songs' mixtures, vocals and accompaniments: the
    targets the unpaired recordings are scaled to."""
    mix, voc, acc = [], [], []
    for i in indices:
        v = np.asarray(stem_bank.vocals(int(i)), dtype=np.float32)
        a = np.asarray(stem_bank.accompaniment(int(i)), dtype=np.float32)
        mix.append(active_level(envelope(v + a)))
        voc.append(active_level(envelope(v)))
        acc.append(active_level(envelope(a)))
    return {"mixtures": float(np.median(mix)), "solo vocals": float(np.median(voc)),
            "solo accompaniment": float(np.median(acc))}

