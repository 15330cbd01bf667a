"""Training examples from labelled tracks: random segments of vocals over accompaniment.

Each example takes a segment of vocals from one track and a segment of accompaniment from the
same track or (with probability ``remix_prob``) another one, each with a random gain, and
transforms them with the engine's own STFT (``rtsep.core.stft.stft_offline``, same geometry the
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
    """Source and licence of a data folder: the ``--licence`` given, else the folder's
    ``provenance.json``, else the licences named in its tracks' ``meta.json`` (as the rendered
    corpus writes them), else "unknown"."""
    entry = {"source": str(folder), "tracks": names}
    found = []
    meta = folder / "provenance.json"
    docs = [meta] if meta.is_file() else [folder / n / "meta.json" for n in names]
    for path in docs:
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict) and doc.get("licence") and doc["licence"] not in found:
            found.append(str(doc["licence"]))
        if path.name == "provenance.json" and isinstance(doc, dict) and "notes" in doc:
            entry["notes"] = doc["notes"]
    entry["licence"] = licence or ("; ".join(found) if found else "unknown")
    return entry


def load_solo(files, sr: int, licences=()) -> tuple[list[np.ndarray], list[dict]]:
    """Solo recordings (one source each) as mono float32 at ``sr``, with provenance entries."""
    from rtsep.io.audio import read_audio

    signals, provenance = [], []
    licences = list(licences)
    for i, path in enumerate(map(Path, files)):
        x, file_sr = read_audio(path)
        signals.append(_to_mono(x, file_sr, sr))
        entry = {"source": str(path),
                 "licence": licences[i] if i < len(licences) else "unknown"}
        # A text file beside the recording (NAME.txt for NAME.hq.ogg) carries its attribution.
        for note in (path.with_suffix(".txt"), path.with_name(path.name.split(".")[0] + ".txt")):
            if note.is_file():
                entry["attribution"] = " ".join(note.read_text(errors="replace").split())
                break
        provenance.append(entry)
    return signals, provenance


def load_stem_pairs(folders, sr: int, licences=()) -> tuple[list[StemPair], list[dict]]:
    """All tracks of MUSDB-style ``folders`` (see ``rtsep.io.datasets``) as mono stems at ``sr``.

    Returns (pairs, provenance entries, one per folder).
    """
    from rtsep.io.datasets import load_track, track_folders

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

    Vocals come from the tracks' vocals and ``extra_vocals`` (solo recordings); accompaniment
    from the tracks' accompaniment and ``extra_accompaniment``. A track's own accompaniment is
    used with probability 1 - ``remix_prob``; otherwise, and always for solo vocals, another
    accompaniment is drawn.

    Shapes: mag, irm (batch, bins, frames) float32; labels (batch, bins, frames) int64, 1 where
    the vocals are louder than the accompaniment. ``frames`` = ``seg_frames``.
    """

    def __init__(self, pairs: list[StemPair], geometry, seg_frames: int = 100,
                 remix_prob: float = 0.5, gain_db: float = 6.0, seed: int = 0,
                 extra_vocals=(), extra_accompaniment=()):
        self.geometry = geometry
        self.seg_frames = int(seg_frames)
        # stft_offline gives ceil(n / hop) + 1 frames; take exactly seg_frames of them.
        self.seg_samples = (self.seg_frames - 1) * geometry.hop

        def long_enough(x):
            return len(x) > self.seg_samples

        self.pairs = [p for p in pairs if long_enough(p.vocals) and long_enough(p.accompaniment)]
        self.vocals = [p.vocals for p in self.pairs] + [x for x in extra_vocals if long_enough(x)]
        self.accompaniment = [p.accompaniment for p in self.pairs] + [
            x for x in extra_accompaniment if long_enough(x)]
        if not self.vocals or not self.accompaniment:
            raise ValueError(f"need vocals and accompaniment longer than a segment of "
                             f"{seg_frames} frames")
        self.remix_prob, self.gain_db = float(remix_prob), float(gain_db)
        self.rng = np.random.default_rng(seed)

    def _segment(self, x: np.ndarray) -> np.ndarray:
        start = int(self.rng.integers(0, len(x) - self.seg_samples))
        gain = 10.0 ** (self.rng.uniform(-self.gain_db, self.gain_db) / 20.0)
        return gain * x[start:start + self.seg_samples]

    def _pick(self) -> tuple[int, int]:
        i = int(self.rng.integers(len(self.vocals)))
        n_acc = len(self.accompaniment)
        if i < len(self.pairs) and (n_acc == 1 or self.rng.random() >= self.remix_prob):
            return i, i
        if i < len(self.pairs):  # remix: any accompaniment but the track's own
            j = int(self.rng.integers(n_acc - 1))
            return i, j + (j >= i)
        return i, int(self.rng.integers(n_acc))

    def example(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from rtsep.core.stft import stft_offline
        from rtsep.evaluation.oracle import ideal_ratio_mask

        i, j = self._pick()
        v = stft_offline(self._segment(self.vocals[i])[None], self.geometry)[0]
        a = stft_offline(self._segment(self.accompaniment[j])[None], self.geometry)[0]
        v, a = v[:, : self.seg_frames], a[:, : self.seg_frames]
        mag = np.abs(v + a).astype(np.float32)
        irm = ideal_ratio_mask(v, a).astype(np.float32)
        labels = (np.abs(v) > np.abs(a)).astype(np.int64)
        return mag, irm, labels

    def batch(self, size: int):
        examples = [self.example() for _ in range(size)]
        return tuple(np.stack(parts) for parts in zip(*examples))
