"""Songs as separate stems: each stem rendered from its own MIDI file, then balanced and mixed.

Arrays are channels-first ``(2, samples)`` float64; rates in Hz.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .fluidsynth import render_midi


def rms(x: np.ndarray) -> float:
    """Root mean square over all channels and samples of ``x``."""
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def mix_stems(stems: dict[str, np.ndarray], vocal_db: float, peak: float = 0.89,
              levels_db: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Balance and mix stems ``{name: (channels, samples)}``; return float32-exact stems and sums.

    Accompaniment stems are set to ``levels_db`` (RMS, dB re full scale); vocals to ``vocal_db``
    re the accompaniment's RMS; then everything is scaled by one factor so the mixture peaks at
    ``peak``. Every returned array holds float32 values (in float64 arrays), and
    ``accompaniment`` and ``mixture`` are the float32-rounded sums of the stems, so files written
    in float32 add up to within 1e-7.
    """
    levels_db = levels_db or {"drums": -20.0, "bass": -22.0, "other": -22.0}
    scaled = {}
    for name, x in stems.items():
        if name == "vocals":
            continue
        level = rms(x)
        gain = 10.0 ** (levels_db.get(name, -22.0) / 20.0) / level if level > 0 else 0.0
        scaled[name] = x * gain
    accompaniment = sum(scaled.values())
    vocals = stems["vocals"]
    v_level, a_level = rms(vocals), rms(accompaniment)
    if v_level > 0 and a_level > 0:
        vocals = vocals * (a_level / v_level * 10.0 ** (vocal_db / 20.0))
    mixture = vocals + accompaniment
    top = float(np.max(np.abs(mixture))) if mixture.size else 0.0
    factor = peak / top if top > 0 else 1.0

    def f32(x: np.ndarray) -> np.ndarray:
        return (x * factor).astype(np.float32).astype(np.float64)

    out = {name: f32(x) for name, x in scaled.items()}
    out["vocals"] = f32(vocals)
    out["accompaniment"] = sum(out[n] for n in scaled).astype(np.float32).astype(np.float64)
    out["mixture"] = (out["vocals"] + out["accompaniment"]).astype(np.float32).astype(np.float64)
    return out


def render_stems(song, out_dir: str | os.PathLike, sr: int, workers: int = 2) -> dict:
    """Render each stem of a composed ``song`` from its own MIDI file.

    Writes the score, ``song.mid`` and ``vocals.mid``, into ``out_dir``; returns
    ``{stem: (2, samples) float64}``, each exactly ``round(song.seconds * sr)`` samples long.
    Vocal notes are sent early by their sample's attack delay so the sung onsets fall on the
    score's onsets.
    """
    from .attack import advance_seconds
    from .compose import STEMS
    from .midi import write_midi

    out_dir = Path(out_dir)
    length = round(song.seconds * sr)
    write_midi(song, song.parts, out_dir / "song.mid")
    if song.stem_parts("vocals"):
        write_midi(song, song.stem_parts("vocals"), out_dir / "vocals.mid")
    with tempfile.TemporaryDirectory(prefix="rtsep-stems-") as tmp:
        jobs = {}
        for stem in STEMS:
            parts = song.stem_parts(stem)
            if parts:
                advance = ({p.name: advance_seconds(p.program, sr) for p in parts}
                           if stem == "vocals" else None)
                jobs[stem] = write_midi(song, parts, Path(tmp) / f"{stem}.mid", advance)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {stem: pool.submit(render_midi, mid, None, sr, length)
                       for stem, mid in jobs.items()}
            stems = {stem: fut.result() for stem, fut in futures.items()}
    for stem in STEMS:
        stems.setdefault(stem, np.zeros((2, length)))
    return stems
