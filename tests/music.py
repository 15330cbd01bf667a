"""Real music for tests: the FluidSynth-rendered default song, cut and resampled as needed."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

SHARED_DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


@functools.lru_cache(maxsize=None)
def _song(sr: int) -> tuple[np.ndarray, np.ndarray]:
    from rtsep.io.audio import read_audio
    from rtsep.songs.default import render_default_song

    paths = render_default_song(sr=44100)
    mix, song_sr = read_audio(paths["mixture"])
    voc, _ = read_audio(paths["vocals"])
    if sr != song_sr:
        import librosa

        mix = librosa.resample(mix, orig_sr=song_sr, target_sr=sr, axis=-1)
        voc = librosa.resample(voc, orig_sr=song_sr, target_sr=sr, axis=-1)
    return mix, voc


def song(seconds: float, sr: int = 44100, channels: int = 2, offset_s: float = 2.0,
         with_vocals: bool = False):
    """``(channels, samples)`` of the rendered song (and its true vocals if asked)."""
    mix, voc = _song(sr)
    start = int(offset_s * sr)
    stop = start + int(seconds * sr)
    out = []
    for sig in (mix, voc):
        sig = sig[:, start:stop]
        if sig.shape[0] != channels:
            mono = sig.mean(axis=0, keepdims=True)
            sig = np.concatenate([mono * (1.0 + 0.1 * c) for c in range(channels)], axis=0)
        out.append(np.ascontiguousarray(sig))
    return (out[0], out[1]) if with_vocals else out[0]
