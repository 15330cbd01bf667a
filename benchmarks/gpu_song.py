"""The 60 s song ``gpu_check.py`` works on, rendered here and carried to the device.

The device machine has no FluidSynth and no network, so the song is rendered on a development
machine (``python benchmarks/gpu_check.py --prepare``) into ``.gpucheck/song.npz`` (ignored by
git; ~21 MB), which the device run is given with ``carry: [".gpucheck"]``:

- ``mixture`` (2, samples) int16 (the rendered stereo mix, full scale 32767),
- ``vocals``, ``accompaniment`` (samples,) float16, mono (the stems, for the training run),
- ``sr``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SONG = ROOT / ".gpucheck" / "song.npz"
SECONDS = 60.0


def prepare(path: Path = SONG, seconds: float = SECONDS) -> Path:
    """Render the built-in song (FluidSynth) and write it to ``path`` (atomically)."""
    from rtsep.io.audio import read_audio
    from rtsep.songs.default import render_default_song

    paths = render_default_song(seconds=seconds)
    mixture, sr = read_audio(paths["mixture"])
    vocals, _ = read_audio(paths["vocals"])
    accompaniment, _ = read_audio(paths["accompaniment"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(tmp, sr=np.int64(sr),
             mixture=np.round(np.clip(mixture, -1, 1) * 32767).astype(np.int16),
             vocals=vocals.mean(axis=0).astype(np.float16),
             accompaniment=accompaniment.mean(axis=0).astype(np.float16))
    tmp.replace(path)
    return path


def load(path: Path = SONG) -> dict:
    """The song as float64 arrays: mixture (2, samples), vocals and accompaniment (samples,)."""
    if not Path(path).is_file():
        raise SystemExit(f"gpu_check: error: {path} is missing; run `python "
                         "benchmarks/gpu_check.py --prepare` on a machine with FluidSynth and "
                         "carry .gpucheck to the device")
    with np.load(path) as z:
        return {"sr": int(z["sr"]), "mixture": z["mixture"].astype(np.float64) / 32767.0,
                "vocals": z["vocals"].astype(np.float64),
                "accompaniment": z["accompaniment"].astype(np.float64)}


def magnitude_frames(mixture: np.ndarray, sr: int, start: int, count: int) -> np.ndarray:
    """``count`` magnitude frames (count, bins) float32 from frame ``start`` of the engine's
    default STFT, channels averaged as the engine does."""
    from rtsep.config import geometry_for
    from rtsep.core.stft import stft_offline

    geometry = geometry_for(sr, "default")
    hop = geometry.hop
    segment = mixture[:, start * hop: (start + count + 8) * hop + geometry.n_fft]
    mag = np.abs(stft_offline(segment, geometry)).mean(axis=0)  # (bins, frames)
    return np.ascontiguousarray(mag.T[:count], dtype=np.float32)
