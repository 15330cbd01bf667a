"""The long fuzz loop of `rtsep separate`: mutated audio headers through the installed program.

    .venv/bin/python benchmarks/fuzz_headers.py [--files 200] [--seed 0] [--write]

``tests/test_separate_faults.py`` runs 30 of these in `make test`; this runs ``--files`` (one
folder, one run of the program, so a crash on any file would end it) and checks the same
properties: exit status 0 or 2, at most one line on stderr and no traceback, every file either
separated completely (outputs as long as the audio the file holds) or reported in one line,
and no temporary left. ``--write`` adds the counts to BENCHMARKS.md ("## Fuzzed headers").
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, replace_section

sys.path.insert(0, str(ROOT))
from tests.test_separate_faults import RTSEP, check_fuzz_run, fuzz_folder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rtsep-fuzz-") as tmp:
        tmp = Path(tmp)
        files = fuzz_folder(tmp / "fuzz", args.files, seed=args.seed)
        t0 = time.perf_counter()
        proc = subprocess.run([RTSEP, "separate", tmp / "fuzz", "--out", tmp / "out", "--json",
                               tmp / "r.json", "--primitives-only"], capture_output=True,
                              text=True, env={**os.environ, "COLUMNS": "200"})
        wall = time.perf_counter() - t0
        counts = check_fuzz_run(proc, tmp / "r.json", files, tmp / "out")
    text = (f"## Fuzzed headers\n\n`.venv/bin/python benchmarks/fuzz_headers.py --files "
            f"{args.files} --seed {args.seed}` ({machine()}, {datetime.date.today()}): "
            f"{args.files} WAV (16-bit, float) and FLAC files of 0.3 s with their first 64 "
            f"bytes damaged (bits flipped, fields set to extremes, random bytes, cut short), "
            f"one run of `rtsep separate` over the folder in {wall:.1f} s: {counts['done']} "
            f"separated completely, {counts['failed']} reported as one-line errors, exit "
            f"status {proc.returncode}, no traceback, no temporary left.\n")
    print(text)
    if args.write:
        replace_section("## Fuzzed headers", text)


if __name__ == "__main__":
    main()
