"""Wall time to render the multitrack corpus (FluidSynth stems, mixing, float32 WAV writing).

Renders into a temporary folder (deleted afterwards unless --keep) and prints seconds, songs
per minute and times real time. The machine's load average is printed too: rendering is
mostly FluidSynth processes and disk writes, so other work on the machine shows in the result.

    .venv/bin/python benchmarks/render_corpus.py [--songs 20] [--seconds 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from offline_training.corpus import (
    VOCAL_PROGRAMS,  # noqa: E402
    render_corpus,  # noqa: E402
)
from rtsep.songs.attack import attack_delays  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sr", type=int, default=44100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the rendered corpus")
    args = parser.parse_args()
    # The one-off attack measurement (cached per soundfont) is not part of a corpus' cost.
    for program in VOCAL_PROGRAMS:
        attack_delays(program, args.sr)
    out = Path(tempfile.mkdtemp(prefix="rtsep-corpus-bench-"))
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        folders = render_corpus(out, args.songs, args.seconds, args.seed, sr=args.sr,
                                workers=args.workers)
        elapsed = time.perf_counter() - t0
        size = sum(p.stat().st_size for f in folders for p in f.iterdir())
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    audio = args.songs * args.seconds
    print(f"{args.songs} songs x {args.seconds:g} s at {args.sr} Hz, {args.workers} workers, "
          f"{os.cpu_count()} CPUs: {elapsed:.1f} s ({elapsed / args.songs:.2f} s per song, "
          f"{audio / elapsed:.1f}x real time), {size / 1e9:.2f} GB written; load average "
          f"{load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    if args.keep:
        print(f"corpus kept in {out}")


if __name__ == "__main__":
    main()
