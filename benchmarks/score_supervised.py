"""Paper 002 at small scale: the ablation of its Table 1 for the voice, on dev and on a
validation split, in one run.

Work folder W (default /tmp/rtsep-score-bench). Subcommands, in order:

    render     W/corpus (rendered songs with exact MIDI, seed 21) and W/heldout (seed 99)
    arms       trains every arm with `python -m offline_training score-supervised` (the
               commands are printed before they run; finished arms are skipped, a stopped
               arm resumes): supervised reference (true stems), transcription loss alone,
               + clip-level mask, + harmonic mask, then from that model: fine-tuning with
               ATL, with AML, and the same number of plain step-2 steps (control)
    evaluate   vocals SDR (BSS Eval v4, median over 1 s windows) and SI-SDR, medians over
               tracks, of the mixture and every arm on: dev (6 tracks, streamed through the
               engine, model alone); the validation split: MIR-1K singers annar and titon
               (never trained on; every third clip) and the held-out rendered songs, the model
               run offline over whole tracks (identical to streaming). Writes W/ablation.json
               and prints the Markdown table for BENCHMARKS.md.

Training data: W/corpus plus shared/data/train/mir1k (its non-reserved singers; annar and
titon held out). Everything runs under `nice -n 15` with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("RTSEP_SHARED_DATA", REPO.parent / "shared" / "data"))
SR = 44100


def render(w: Path, songs: int, seconds: float) -> None:
    from offline_training.corpus import render_corpus

    render_corpus(w / "corpus", songs, seconds, seed=21)
    render_corpus(w / "heldout", 4, 20.0, seed=99)


def arms(w: Path, steps: int, ft_steps: int, t_steps: int = 900) -> dict:
    """name -> command-line arguments after `score-supervised`, in training order."""
    data = [str(w / "corpus"), str(SHARED / "train" / "mir1k")]
    common = ["--cache-dir", str(w / "features"), "--valid", str(w / "heldout"),
              "--seed", "0", "--threads", "1"]
    t = str(w / "tr.run" / "transcriptor")
    base = str(w / "tr_clip_harm")
    return {
        "supervised": [*data, "--out", str(w / "supervised"), "--objective", "supervised",
                       "--steps", str(steps), *common],
        "tr": [*data, "--out", str(w / "tr"), "--losses", "tr", "--steps", str(steps),
               "--transcriptor-steps", str(t_steps), *common],
        "tr_clip": [*data, "--out", str(w / "tr_clip"), "--losses", "tr,clip",
                    "--transcriptor", t, "--steps", str(steps), *common],
        "tr_clip_harm": [*data, "--out", base, "--losses", "tr,clip,harm",
                         "--transcriptor", t, "--steps", str(steps), *common],
        "ft_atl": [*data, "--out", str(w / "ft_atl"), "--init", base, "--transcriptor", t,
                   "--steps", "0", "--finetune", "atl", "--finetune-steps", str(ft_steps),
                   *common],
        "ft_aml": [*data, "--out", str(w / "ft_aml"), "--init", base, "--transcriptor", t,
                   "--steps", "0", "--finetune", "aml", "--finetune-steps", str(ft_steps),
                   *common],
        "continued": [*data, "--out", str(w / "continued"), "--init", base,
                      "--transcriptor", t, "--losses", "tr,clip,harm", "--lr", "3e-4",
                      "--steps", str(ft_steps), *common],
    }


def train_arms(w: Path, steps: int, ft_steps: int, only=None, t_steps: int = 900) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name, args in arms(w, steps, ft_steps, t_steps).items():
        if only and name not in only:
            continue
        if Path(args[args.index("--out") + 1] + ".json").is_file():
            print(f"== {name}: done")
            continue
        cmd = ["nice", "-n", "15", sys.executable, "-m", "offline_training", "score-supervised",
               *args]
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        t0 = time.time()
        subprocess.run(cmd, check=True, env=env, cwd=REPO)
        print(f"== {name}: {time.time() - t0:.0f} s wall", flush=True)


ROWS = [("mixture", "input mixture"), ("supervised", "supervised (same separator, true stems)"),
        ("tr", "transcription loss alone"), ("tr_clip", "+ clip-level mask"),
        ("tr_clip_harm", "+ harmonic mask"), ("ft_atl", "fine-tuned with ATL"),
        ("ft_aml", "fine-tuned with AML"), ("continued", "control: + step-2 steps, no ATL/AML"),
        ("bootstrap-gru", "reference: shipped bootstrap-gru (best shipped model on dev)")]
SHIPPED = {"bootstrap-gru": REPO / "models" / "weights" / "bootstrap-gru"}


def _offline_scores(model, cache, indices, geometry) -> list[dict]:
    import torch

    from rtsep.core.stft import istft_offline, stft_offline
    from rtsep.evaluation.metrics import separation_scores

    rows = []
    for i in indices:
        mix = np.asarray(cache.audio(i, "mix"), dtype=np.float64)[None]
        voc = np.asarray(cache.audio(i, "voc"), dtype=np.float64)[None]
        if model is None:
            est = mix
        else:
            spec = stft_offline(mix, geometry)
            with torch.inference_mode():
                mask, _ = model(torch.from_numpy(np.abs(spec)).float())
            est = istft_offline(spec * mask.numpy(), geometry, mix.shape[1])
        refs = np.stack([voc, mix - voc])
        # the mixture row takes the mixture as both estimates, as `rtsep eval` does
        ests = np.stack([mix, mix]) if model is None else np.stack([est, mix - est])
        s = separation_scores(refs, ests, mix, SR)[0]
        rows.append({"track": cache.entries[i].name, "sdr": s["sdr"], "si_sdr": s["si_sdr"]})
    return rows


def evaluate(w: Path, only=None) -> dict:
    """Scores of every arm that has a model (each arm's are kept in W/eval/NAME.json, so arms
    are scored as they finish); writes W/ablation.json and prints the table."""
    from models.io import load_model
    from offline_training.score_data import FeatureCache, scored_tracks
    from rtsep.config import geometry_for
    from rtsep.evaluation.runner import evaluate as eval_dev

    geometry = geometry_for(SR)
    mir = [p for p in scored_tracks([SHARED / "train" / "mir1k"])
           if p.name.split("_")[0].lower() in ("annar", "titon")][::3]
    valid = {"mir1k": FeatureCache.build(mir, w / "features", stems=True, geometry=geometry),
             "rendered": FeatureCache.build(scored_tracks([w / "heldout"]), w / "features",
                                            stems=True, geometry=geometry)}
    (w / "eval").mkdir(exist_ok=True)
    out = {"dev": {}, "mir1k": {}, "rendered": {}, "tracks": {},
           "counts": {"dev": 6, **{p: len(c) for p, c in valid.items()}}}
    for n, _ in ROWS:
        path = w / "eval" / f"{n}.json"
        if only and n not in only and not path.is_file():
            continue
        if not path.is_file():
            stem = SHIPPED.get(n, w / n)
            if n != "mixture" and not Path(f"{stem}.json").is_file():
                continue
            spec = "mixture" if n == "mixture" else f"{n}:models={stem},use_primitives=false"
            dev = eval_dev(SHARED / "dev", [spec])
            res = {"dev": {k: dev.lookup(n, "vocals")[k] for k in ("sdr", "si_sdr")},
                   "tracks": {"dev": [{"track": r["track"], "sdr": r["sdr"],
                                       "si_sdr": r["si_sdr"]} for r in dev.rows
                                      if r["target"] == "vocals"]}}
            model = None if n == "mixture" else load_model(stem)[0]
            for part, cache in valid.items():
                rows = _offline_scores(model, cache, range(len(cache)), geometry)
                res[part] = {k: float(np.median([r[k] for r in rows])) for k in ("sdr", "si_sdr")}
                res["tracks"][part] = rows
            path.write_text(json.dumps(res, indent=1))
        res = json.loads(path.read_text())
        for part in ("dev", "mir1k", "rendered"):
            out[part][n] = res[part]
        out["tracks"][n] = res["tracks"]
        print(n, {p: out[p][n] for p in ("dev", "mir1k", "rendered")}, flush=True)
    (w / "ablation.json").write_text(json.dumps(out, indent=1))
    print(table(out))
    return out


def table(out: dict) -> str:
    head = ("| arm | dev SDR | dev SI-SDR | MIR-1K held-out SDR | SI-SDR | rendered held-out "
            "SDR | SI-SDR |\n|---|---|---|---|---|---|---|")
    lines = [head]
    for n, label in ROWS:
        if n not in out["dev"]:
            continue
        cells = [f"{out[p][n][k]:.2f}" for p in ("dev", "mir1k", "rendered")
                 for k in ("sdr", "si_sdr")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("render", "arms", "evaluate", "table"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/rtsep-score-bench"))
    ap.add_argument("--songs", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--ft-steps", type=int, default=50)
    ap.add_argument("--t-steps", type=int, default=900, help="transcriptor steps")
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    if a.command == "render":
        render(a.work, a.songs, a.seconds)
    elif a.command == "arms":
        train_arms(a.work, a.steps, a.ft_steps, a.only, a.t_steps)
    elif a.command == "evaluate":
        evaluate(a.work, a.only)
    else:
        print(table(json.loads((a.work / "ablation.json").read_text())))


if __name__ == "__main__":
    main()
