"""Paper 001 at small scale: supervised only, + vocal critic, + both critics.

Same separator, same labelled songs, same labelled batches (each data stream has its own
generator) and the same number of separator steps in every arm; only the critics differ.

    python benchmarks/adversarial.py train sup|voc|both [--work W] [--steps N] [-- EXTRA...]
    python benchmarks/adversarial.py eval [--work W] [--arms sup,voc,both] [--baselines M,...]
    python benchmarks/adversarial.py stats [--work W] [--arms sup,voc,both]

``train`` runs ``python -m offline_training adversarial`` (niced, one thread) on the roles
below; ``eval`` scores each arm's model with ``rtsep eval`` on ``shared/data/dev`` and on the
run's validation split (``W/sup.run/valid_tracks``, the same for every arm: all 13 validation
songs and every 8th clip of the two validation singers), then prints the vocals and karaoke
SDR/SIR/SAR table for BENCHMARKS.md.

Roles (``offline_training.roles``): ``train/musdb7`` shared out by song (half labelled, the
rest solo vocals, solo accompaniment and unlabelled mixtures; 12 % of the songs and the MIR-1K
singers annar and titon are the validation split); solo vocals also from ``train/mir1k``
(non-reserved singers) and ``solo/vocals``; solo accompaniment also from ``solo/accompaniment``
and Debian's drascula-music (``--drascula``, the package's audio folder, if unpacked); the ten
Jamendo songs as unlabelled mixtures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RTSEP_SHARED_DATA", REPO.parent / "shared" / "data"))
PY = sys.executable
ARMS = {"sup": "none", "voc": "vocals", "both": "both"}
ESSENTIA = "Essentia example audio, research use"
LICENCES = {
    "solo/vocals/vocadito_1.wav": "CC BY 4.0 (Vocadito, Bittner et al.)",
    "solo/vocals/vocadito_10.wav": "CC BY 4.0 (Vocadito, Bittner et al.)",
    "solo/vocals/vocadito_14.wav": "CC BY 4.0 (Vocadito, Bittner et al.)",
    "solo/vocals/csd_en001b.mp3": "CC BY-NC-SA 4.0 (Children's Song Dataset)",
    "solo/vocals/singing-female.wav": ESSENTIA,
    "solo/vocals/vignesh.wav": ESSENTIA,
    "solo/vocals/long_voice.flac": ESSENTIA,
    "solo/accompaniment/359500__mtg__sax-tenor-e-major.wav": ESSENTIA,
    "solo/accompaniment/359628__mtg__sax-tenor-d-minor.wav": ESSENTIA,
    "solo/accompaniment/Guitar-A4-432-1.ogg": ESSENTIA,
    "solo/accompaniment/track1.ogg": "Drascula: The Vampire Strikes Back music, Alcachofa Soft, "
                                     "BSD-like Drascula licence (Debian drascula-music)",
    "solo/accompaniment/track10.ogg": "Drascula: The Vampire Strikes Back music, Alcachofa "
                                      "Soft, BSD-like Drascula licence (Debian drascula-music)",
}
DRASCULA = ("Drascula: The Vampire Strikes Back music, Alcachofa Soft, BSD-like Drascula "
            "licence, DFSG-free (Debian package drascula-music)")


def role_args(drascula: Path | None, mir1k: bool = True) -> list[str]:
    args = ["--split", str(DATA / "train" / "musdb7"),
            *(["--solo-vocals", str(DATA / "train" / "mir1k")] if mir1k else []),
            "--solo-vocals", str(DATA / "solo" / "vocals"),
            "--solo-accompaniment", str(DATA / "solo" / "accompaniment"),
            "--mixtures", str(DATA / "mixtures" / "jamendo")]
    if drascula is not None and drascula.is_dir():
        args += ["--solo-accompaniment", str(drascula), "--licence", f"{drascula}={DRASCULA}"]
    for rel, text in LICENCES.items():
        args += ["--licence", f"{DATA / rel}={text}"]
    return args


def train(arm: str, work: Path, steps: int, drascula: Path | None, extra: list[str],
          name: str | None = None, mir1k: bool = True) -> None:
    cmd = ["nice", "-n", "15", PY, "-m", "offline_training", "adversarial",
           *role_args(drascula, mir1k), "--critics", ARMS[arm], "--out", str(work / (name or arm)),
           "--cache-dir", str(work / "cache"), "--steps", str(steps), "--threads", "1", *extra]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"))


def validation_subset(work: Path, arm: str, every: int) -> Path:
    """The run's validation tracks with only every ``every``-th MIR-1K clip (sorted by name):
    all the validation songs, and clips of both validation singers, in a fraction of the time
    of all 87 clips."""
    from offline_training.splits import mir1k_singer

    folder = work / f"valid_eval_{every}"
    folder.mkdir(exist_ok=True)
    tracks = sorted((work / f"{arm}.run" / "valid_tracks").iterdir())
    clips = [t for t in tracks if mir1k_singer(t.name)]
    keep = [t for t in tracks if not mir1k_singer(t.name)] + clips[::every]
    for t in keep:
        if not (folder / t.name).is_symlink():
            (folder / t.name).symlink_to(t.resolve(), target_is_directory=True)
    return folder


def evaluate(work: Path, arms: list[str], baselines: list[str], every: int) -> None:
    sets = {"dev": DATA / "dev", "validation": validation_subset(work, arms[0], every)}
    methods = [f"{a}:models={work / a}.json,use_primitives=false" for a in arms]
    methods += [f"{b}:models={b},use_primitives=false" for b in baselines]
    arms = arms + baselines
    results = {}
    for name, folder in sets.items():
        out = work / f"eval_{name}_{'+'.join(arms)}.json"
        if not out.is_file():
            cmd = ["nice", "-n", "15", str(Path(PY).parent / "rtsep"), "eval", str(folder),
                   "-q", "--json", str(out)] + [x for m in methods for x in ("-m", m)]
            print(" ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"))
        results[name] = json.loads(out.read_text())
    print("| arm | set | tracks | voc SDR | voc SIR | voc SAR | kar SDR | kar SIR | kar SAR |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arm in arms:
        for name, doc in results.items():
            rows = {r["target"]: r for r in doc["summary"] if r["method"] == arm}
            cells = [f"{rows[t][k]:.2f}" for t in ("vocals", "karaoke") for k in
                     ("sdr", "sir", "sar")]
            print(f"| {arm} | {name} | {rows['vocals']['tracks']} | " + " | ".join(cells) + " |")


def stats(work: Path, arms: list[str]) -> None:
    """How the critics move the separator: the mean magnitude and the share of active bins
    (above a tenth of the mean) below 8 kHz of its vocal estimates on unlabelled-mixture crops,
    beside the same for real solo vocals, all at the levels training scales them to."""
    import numpy as np
    import torch
    from safetensors.torch import load_file

    from offline_training.adversarial_loop import mask_only
    from offline_training.recordings import CropBatches, RecordingBank
    from offline_training.roles import ROLES, Roles
    from offline_training.trainer import build_student
    from rtsep.config import geometry_for

    torch.set_num_threads(1)
    run = work / f"{arms[0]}.run"
    roles = Roles.from_dict(json.loads((run / "roles.json").read_text()))
    levels = json.loads((run / "levels.json").read_text())
    unpaired = [s for r in ROLES[1:] for s in roles.of(r)]
    bank = RecordingBank.build([(s.path, s.kind) for s in unpaired], work / "cache" / "recordings")
    g = geometry_for(44100)

    def crops(pick, level, seed):
        make = CropBatches(bank, [i for i, s in enumerate(unpaired) if pick(s)], g, 64, 16, level)
        rng = np.random.default_rng(seed)
        return torch.cat([make(rng) for _ in range(4)])

    def line(name, mag):
        low = mag[:, :372]
        share = float((low > 0.1 * low.mean()).float().mean())
        print(f"| {name} | {float(low.mean()):.3f} | {share:.3f} |")

    print("| vocals | mean magnitude < 8 kHz | active-bin share |")
    print("|---|---|---|")
    line("real solo vocals (all)", crops(lambda s: s.role == "solo vocals", levels["solo vocals"], 6))
    line("  MUSDB vocal stems", crops(lambda s: s.kind == "vocals", levels["solo vocals"], 7))
    line("  MIR-1K vocals", crops(lambda s: "mir1k" in s.path, levels["solo vocals"], 7))
    mix = crops(lambda s: s.role == "mixtures", levels["mixtures"], 5)
    for arm in arms:
        model = build_student("gru", "student", g.n_bins)
        tensors = load_file(str(work / f"{arm}.run" / "checkpoints" / "state.safetensors"))
        model.load_state_dict({k[len("separator."):]: v for k, v in tensors.items()
                               if k.startswith("separator.")})
        with torch.no_grad():
            line(f"estimates of {arm}", mask_only(model.eval(), mix) * mix)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["train", "eval", "stats"])
    p.add_argument("arm", nargs="?", choices=sorted(ARMS))
    p.add_argument("--work", type=Path, default=Path("/tmp/adv/w"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--name", help="Output name of a variant of an arm (default: the arm).")
    p.add_argument("--no-mir1k", action="store_true",
                   help="Leave train/mir1k out (solo vocals: MUSDB stems and solo/vocals only).")
    p.add_argument("--mir1k-every", type=int, default=8,
                   help="Score every N-th MIR-1K validation clip (all validation songs).")
    p.add_argument("--arms", default="sup,voc,both")
    p.add_argument("--baselines", default="bootstrap-gru",
                   help="Shipped models scored beside the arms (comma-separated, or empty).")
    p.add_argument("--drascula", type=Path,
                   default=Path("/usr/share/scummvm/drascula/audio"))
    args, extra = p.parse_known_args()
    extra = [e for e in extra if e != "--"]
    if args.command == "train":
        if not args.arm:
            p.error("train needs an arm: sup, voc or both")
        train(args.arm, args.work, args.steps, args.drascula, extra, args.name,
              not args.no_mir1k)
    elif args.command == "stats":
        stats(args.work, args.arms.split(","))
    else:
        evaluate(args.work, args.arms.split(","), [b for b in args.baselines.split(",") if b],
                 args.mir1k_every)


if __name__ == "__main__":
    main()
