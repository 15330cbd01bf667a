"""Remixing (paper 000 §3.2): vocals of segment A over the accompaniment of segment B (A != B) at
a random vocal-to-accompaniment ratio, with independent random crops.

For bootstrapping the sources are the teacher's estimates, for the supervised baseline the true
stems; either way the training mixture is their sum and the targets come from the two sources'
STFTs at the engine's geometry: the ratio mask |V| / (|V| + |A|) and the ideal binary
assignment |V| > |A| (deep clustering), weighted by the mixture magnitude.

Shapes: a source pair is two mono signals ``(samples,)``; an example holds ``mag``, ``target``,
``assign`` and ``weight``, each ``(bins, frames)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtsep.config import StftGeometry
from rtsep.core.stft import stft_offline

SNR_RANGE_DB = (-2.5, 2.5)


class SourceBank:
    """Per-segment mono source pairs stored as ``.npy`` files (float16 to halve the disk), read
    through memory maps so a crop touches only its samples."""

    def __init__(self, folder, keys):
        self.folder = Path(folder)
        self.keys = list(keys)
        self._maps: dict = {}

    @staticmethod
    def write(folder, key: str, vocals: np.ndarray, accompaniment: np.ndarray) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, x in (("vocals", vocals), ("accompaniment", accompaniment)):
            tmp = folder / f".{key}.{name}.tmp.npy"
            np.save(tmp, np.asarray(x, dtype=np.float16))
            tmp.replace(folder / f"{key}.{name}.npy")

    def source(self, index: int, name: str) -> np.ndarray:
        key = (index, name)
        if key not in self._maps:
            path = self.folder / f"{self.keys[index]}.{name}.npy"
            self._maps[key] = np.load(path, mmap_mode="r")
        return self._maps[key]

    def __len__(self) -> int:
        return len(self.keys)


def draw_pairs(n_sources: int, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_pairs, 2)`` indices (vocals of a, accompaniment of b) with a != b always."""
    if n_sources < 2:
        raise ValueError("remixing needs at least two segments")
    a = rng.integers(0, n_sources, n_pairs)
    # b uniform over the other n - 1 segments: shift a by 1..n-1 modulo n.
    b = (a + rng.integers(1, n_sources, n_pairs)) % n_sources
    return np.stack([a, b], axis=1)


def crop(x: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample window of ``x`` as float64, zero-padded when ``x`` is short."""
    out = np.zeros(length)
    if x.shape[0] <= length:
        out[: x.shape[0]] = x
        return out
    start = int(rng.integers(0, x.shape[0] - length + 1))
    out[:] = x[start : start + length]
    return out


def scale_to_snr(vocals: np.ndarray, accompaniment: np.ndarray, snr_db: float) -> np.ndarray:
    """``vocals`` scaled so that 10 log10(P_vocals / P_accompaniment) = ``snr_db``; unchanged
    when either is silent (there is no ratio to set)."""
    pv = float(np.mean(vocals**2))
    pa = float(np.mean(accompaniment**2))
    if pv <= 1e-12 or pa <= 1e-12:
        return vocals
    return vocals * np.sqrt(pa / pv * 10.0 ** (snr_db / 10.0))


def targets(vocals: np.ndarray, accompaniment: np.ndarray, geometry: StftGeometry) -> dict:
    """Training arrays for one remix of ``vocals`` + ``accompaniment`` ``(samples,)``."""
    spec = stft_offline(np.stack([vocals, accompaniment]), geometry)
    v, a = np.abs(spec[0]), np.abs(spec[1])
    mag = np.abs(spec[0] + spec[1])
    den = v + a
    target = np.divide(v, den, out=np.full_like(v, 0.5), where=den > 0)
    return {"mag": mag, "target": target, "assign": (v > a).astype(np.float64),
            "weight": mag}


def remix_example(bank: SourceBank, pair, length: int, geometry: StftGeometry,
                  rng: np.random.Generator, snr_range=SNR_RANGE_DB) -> dict:
    """One example: vocals of ``pair[0]`` + accompaniment of ``pair[1]``, random crops and SNR."""
    vocals = crop(bank.source(int(pair[0]), "vocals"), length, rng)
    accomp = crop(bank.source(int(pair[1]), "accompaniment"), length, rng)
    snr = float(rng.uniform(*snr_range))
    out = targets(scale_to_snr(vocals, accomp, snr), accomp, geometry)
    out["snr_db"] = snr
    return out


def remix_batch(bank: SourceBank, batch: int, length: int, geometry: StftGeometry,
                rng: np.random.Generator, snr_range=SNR_RANGE_DB) -> dict:
    """``batch`` examples stacked: each array ``(batch, bins, frames)`` float32."""
    pairs = draw_pairs(len(bank), batch, rng)
    examples = [remix_example(bank, p, length, geometry, rng, snr_range) for p in pairs]
    out = {k: np.stack([e[k] for e in examples]).astype(np.float32)
           for k in ("mag", "target", "assign", "weight")}
    out["pairs"] = pairs
    out["snr_db"] = np.array([e["snr_db"] for e in examples])
    return out
