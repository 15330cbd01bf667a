"""Training examples from labelled tracks: random segments of vocals over accompaniment.

Each example takes a segment of vocals from one track and a segment of accompaniment from the
same track or (with probability ``remix_prob``) another one, each with a random gain, and
transforms them with the engine's own STFT (``rtsep.stft.stft_offline``, same geometry the
engine streams with), so the model is trained on exactly the frames it will see live. Because
the mixture is the sum of the two stems, the ideal ratio mask and the dominance labels are exact.

Audio is held as mono float32 at the model's sample rate (resampled once at load).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np


@dataclass
class StemPair:
    name: str
    vocals: np.ndarray  # (samples,) float32
    accompaniment: np.ndarray  # (samples,) float32


def _to_mono(x: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    mono = x.mean(axis=0)
    if sr != target_sr:
        from scipy.signal import resample_poly

        g = gcd(int(sr), int(target_sr))
        mono = resample_poly(mono, target_sr // g, sr // g)
    return mono.astype(np.float32)


def _provenance(folder: Path, names: list[str], licence: str | None) -> dict:
    """Source and licence of a data folder: its ``provenance.json`` if present, else options."""
    entry = {"source": str(folder), "tracks": names, "licence": licence or "unknown"}
    meta = folder / "provenance.json"
    if meta.is_file():
        try:
            doc = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):
            doc = {}
        if isinstance(doc, dict):
            entry.update({k: v for k, v in doc.items() if k in ("source", "licence", "notes")})
            entry["licence"] = licence or doc.get("licence", "unknown")
    return entry


def load_stem_pairs(folders, sr: int, licences=()) -> tuple[list[StemPair], list[dict]]:
    """All tracks of MUSDB-style ``folders`` (see ``rtsep.data``) as mono stems at ``sr``.

    Returns (pairs, provenance entries, one per folder).
    """
    from rtsep.data import load_track, track_folders

    pairs, provenance = [], []
    licences = list(licences)
    for i, folder in enumerate(map(Path, folders)):
        names = []
        for track_dir in track_folders(folder):
            track = load_track(track_dir)
            pairs.append(StemPair(track.name, _to_mono(track.vocals, track.sr, sr),
                                  _to_mono(track.accompaniment, track.sr, sr)))
            names.append(track.name)
        provenance.append(_provenance(folder, names, licences[i] if i < len(licences) else None))
    return pairs, provenance


class SegmentSampler:
    """Draws batches of (mixture magnitude, ideal ratio mask, vocal-dominance labels).

    Shapes: mag, irm (batch, bins, frames) float32; labels (batch, bins, frames) int64, 1 where
    the vocals are louder than the accompaniment. ``frames`` = ``seg_frames``.
    """

    def __init__(self, pairs: list[StemPair], geometry, seg_frames: int = 100,
                 remix_prob: float = 0.5, gain_db: float = 6.0, seed: int = 0):
        self.geometry = geometry
        self.seg_frames = int(seg_frames)
        # stft_offline gives ceil(n / hop) + 1 frames; take exactly seg_frames of them.
        self.seg_samples = (self.seg_frames - 1) * geometry.hop
        self.pairs = [p for p in pairs if min(len(p.vocals), len(p.accompaniment))
                      > self.seg_samples]
        if not self.pairs:
            raise ValueError(f"no track is longer than a segment of {seg_frames} frames")
        self.remix_prob, self.gain_db = float(remix_prob), float(gain_db)
        self.rng = np.random.default_rng(seed)

    def _segment(self, x: np.ndarray) -> np.ndarray:
        start = int(self.rng.integers(0, len(x) - self.seg_samples))
        gain = 10.0 ** (self.rng.uniform(-self.gain_db, self.gain_db) / 20.0)
        return gain * x[start:start + self.seg_samples]

    def example(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from rtsep.oracle import ideal_ratio_mask
        from rtsep.stft import stft_offline

        i = int(self.rng.integers(len(self.pairs)))
        j = i
        if len(self.pairs) > 1 and self.rng.random() < self.remix_prob:
            j = int(self.rng.integers(len(self.pairs) - 1))
            j += j >= i
        v = stft_offline(self._segment(self.pairs[i].vocals)[None], self.geometry)[0]
        a = stft_offline(self._segment(self.pairs[j].accompaniment)[None], self.geometry)[0]
        v, a = v[:, : self.seg_frames], a[:, : self.seg_frames]
        mag = np.abs(v + a).astype(np.float32)
        irm = ideal_ratio_mask(v, a).astype(np.float32)
        labels = (np.abs(v) > np.abs(a)).astype(np.int64)
        return mag, irm, labels

    def batch(self, size: int):
        examples = [self.example() for _ in range(size)]
        return tuple(np.stack(parts) for parts in zip(*examples))
