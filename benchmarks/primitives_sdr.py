"""Vocals SDR of each primitive alone and of primitive clustering, on ../shared/data/dev.

A quick development measure, not the official table: tracks are mixed to mono, the STFT is
the engine's (``rtsep.core.stft.stft_offline``), each primitive steps through the frames causally
exactly as in the engine, and the score is the whole-track SDR
``10 log10(|s|^2 / |s - s_hat|^2)`` of the vocals. Prints one row per track and the mean.

    .venv/bin/python benchmarks/primitives_sdr.py [--preset default] [--weights 1,1,1]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from kernels.clustering import cluster_mask  # noqa: E402
from rtsep.config import geometry_for  # noqa: E402
from rtsep.core.stft import istft_offline, stft_offline  # noqa: E402
from rtsep.primitives import make_primitives  # noqa: E402

DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
NAMES = ("repet", "hpss", "pitch")


def load_track(track: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Mono mixture ``(1, n)`` and mono vocals ``(1, n)`` of a dev track, and its rate."""
    mix, sr = sf.read(track / "mixture.flac", always_2d=True)
    voc, _ = sf.read(track / "vocals.flac", always_2d=True)
    return mix.mean(axis=1)[None], voc.mean(axis=1)[None], sr


def embeddings(mix: np.ndarray, sr: int, preset: str, params: dict) -> tuple[np.ndarray, object]:
    """Complex spectrum ``(1, bins, frames)`` and primitive masks ``(frames, bins, D)``."""
    g = geometry_for(sr, preset)
    spec = stft_offline(mix, g)
    mags = np.abs(spec[0])
    prims = make_primitives(NAMES, g, **params)
    emb = np.empty((mags.shape[1], mags.shape[0], len(prims)))
    for t in range(mags.shape[1]):
        mag = np.ascontiguousarray(mags[:, t])
        for d, p in enumerate(prims):
            emb[t, :, d] = p.step(mag)
    return spec, emb, g


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - est) ** 2), 1e-20)))


def score(spec, masks, g, voc) -> float:
    est = istft_offline(spec * masks.T[None], g, voc.shape[1])
    return sdr(voc, est)


def cluster(emb: np.ndarray, weights, beta: float) -> np.ndarray:
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.empty(emb.shape[:2])
    for t in range(emb.shape[0]):
        cluster_mask(np.ascontiguousarray(emb[t]), w, beta, out[t])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--weights", default="1,1,1")
    ap.add_argument("--beta", type=float, default=5.0)
    args = ap.parse_args(argv)
    dev = DATA / "dev"
    if not dev.is_dir():
        print(f"no dev data at {dev}", file=sys.stderr)
        return 1
    weights = [float(w) for w in args.weights.split(",")]
    rows = []
    print(f"{'track':34s} " + " ".join(f"{n:>7s}" for n in NAMES) + "    PCL  mix")
    for track in sorted(dev.iterdir()):
        mix, voc, sr = load_track(track)
        spec, emb, g = embeddings(mix, sr, args.preset, {})
        row = [score(spec, emb[:, :, d], g, voc) for d in range(len(NAMES))]
        row.append(score(spec, cluster(emb, weights, args.beta), g, voc))
        row.append(sdr(voc, mix))  # the do-nothing baseline: the mixture as the estimate
        rows.append(row)
        print(f"{track.name:34s} " + " ".join(f"{v:7.2f}" for v in row))
    mean = np.mean(rows, axis=0)
    print(f"{'mean':34s} " + " ".join(f"{v:7.2f}" for v in mean))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
