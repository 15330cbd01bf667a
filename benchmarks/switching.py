"""Switching by confidence on a two-domain stream (paper 004's table, through the engine).

Two rendered domains differ in what carries the lead line: a voice patch (Choir Aahs / Voice
Oohs) or a synth lead (GM "Lead 1 (square)" / "Lead 2 (sawtooth)"). One compact model is trained
on each with the project's supervised recipe. A stream of held-out songs alternating between
the domains is then separated by each model alone, by confidence switching, and by random and
oracle per-segment selection.

    .venv/bin/python benchmarks/switching.py [--work DIR] [--write] [--fixtures]

``--fixtures`` copies the two models to ``tests/fixtures/models`` (the switching test loads
them); ``--write`` replaces the "## Switching" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "models"
DOMAINS = {
    "voice": {52: "Choir Aahs", 53: "Voice Oohs"},
    "synthlead": {80: "Lead 1 (square)", 81: "Lead 2 (sawtooth)"},
}
SEGMENT_S = 12.0
WINDOW_S = 2.0  # confidence window: a few seconds, since the decision is per song (paper 004)


def render(work: Path, songs: int, seconds: float, seed: int) -> dict[str, list[Path]]:
    from offline_training.corpus import render_corpus

    return {name: render_corpus(work / f"{name}_{seed}", songs, seconds, seed,
                                vocal_programs=programs)
            for name, programs in DOMAINS.items()}


def train(work: Path, corpora: dict[str, list[Path]], epochs: int, dc_weight: float
          ) -> dict[str, Path]:
    from offline_training.supervised import train_supervised

    out = {}
    for name, folders in corpora.items():
        stem = work / f"e{epochs}_dc{dc_weight:g}" / f"switch_{name}"
        if not stem.with_suffix(".json").is_file():
            train_supervised([folders[0].parent], stem, licences=["rendered by rtsep (MIT)"],
                             size="compact", epochs=epochs, steps_per_epoch=20, batch=8,
                             seg_frames=64, lr=2e-3, dc_weight=dc_weight, seed=1)
        out[name] = stem
    return out


def stream_segments(corpora: dict[str, list[Path]], per_domain: int):
    """Alternating held-out segments ``(mixture, vocals)``, first SEGMENT_S s of each song."""
    from rtsep.io.audio import read_audio

    segs = []
    names = list(corpora)
    for i in range(per_domain):
        for name in names:
            folder = corpora[name][i]
            mix, sr = read_audio(folder / "mixture.wav")
            voc, _ = read_audio(folder / "vocals.wav")
            n = int(SEGMENT_S * sr)
            segs.append((mix[:, :n], voc[:, :n]))
    return segs, sr


def run(work: Path, epochs: int, dc_weight: float, fixtures: bool) -> str:
    from rtsep.config import EngineConfig
    from rtsep.evaluation.selection import evaluate_selection

    t0 = time.time()
    train_corpora = render(work, songs=12, seconds=20.0, seed=11)
    models = train(work, train_corpora, epochs, dc_weight)
    if fixtures:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for stem in models.values():
            for suffix in (".json", ".safetensors"):
                shutil.copy(stem.with_suffix(suffix), FIXTURES / (stem.name + suffix))
    held_out = render(work, songs=3, seconds=SEGMENT_S + 1, seed=97)
    segments, sr = stream_segments(held_out, per_domain=3)
    config = EngineConfig(models=tuple(str(m) for m in models.values()), use_primitives=False,
                          confidence_window_s=WINDOW_S)
    result = evaluate_selection(segments, sr, config)
    seg_rows = "\n".join(
        f"| {i} | {list(DOMAINS)[i % 2]} | " + " | ".join(f"{v:.2f}" for v in row) + " |"
        for i, row in enumerate(result.segment_sdr))
    lines = [
        "## Switching",
        "",
        f"Date: {datetime.date.today()}. Command: `.venv/bin/python benchmarks/switching.py "
        f"--write`. Total time {time.time() - t0:.0f} s on the 2-core development machine.",
        "",
        "Two compact GRU models (about 115k parameters), each trained by "
        "`offline_training.supervised` for "
        f"{epochs} x 20 steps (deep-clustering weight {dc_weight:g}) on 12 rendered songs of one domain: `voice` (lead line on a voice "
        "patch) or `synthlead` (lead line on a square/saw synth lead). The stream alternates "
        f"held-out songs of the two domains, {SEGMENT_S:g} s each, {len(segments)} segments. "
        f"Confidence over a {WINDOW_S:g} s window, updated 10 times a second. "
        "Vocals SDR = 10 log10(|s|^2 / |s - s_hat|^2) over the whole stream.",
        "",
        result.table(),
        "",
        f"Confidence switching: {result.switches} switches; share of hops per candidate: "
        + ", ".join(f"{k} {v:.0%}" for k, v in result.active_share.items())
        + f". Largest sample step of the switched vocals {result.max_step_output:.4f} against "
        f"{result.max_step_input:.4f} in the input mixture (no click).",
        "",
        "Vocals SDR per segment (dB), each model alone:",
        "",
        "| segment | domain | " + " | ".join(result.names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in result.names) + " |",
        seg_rows,
        "",
    ]
    return "\n".join(lines)


def fresh_seeds(work: Path, seeds: list[int]) -> str:
    """The committed fixture models (tests/fixtures/models) on held-out songs of other seeds:
    does switching by confidence still beat each model alone, and random selection?"""
    from rtsep.config import EngineConfig
    from rtsep.evaluation.selection import evaluate_selection

    config = EngineConfig(models=tuple(str(FIXTURES / f"switch_{n}") for n in DOMAINS),
                          use_primitives=False, confidence_window_s=WINDOW_S)
    rows = []
    for seed in seeds:
        segments, sr = stream_segments(render(work, songs=3, seconds=SEGMENT_S + 1, seed=seed),
                                       per_domain=3)
        r = evaluate_selection(segments, sr, config)
        single = list(r.single_sdr.values())
        rows.append(f"| {seed} | " + " | ".join(f"{s:.2f}" for s in single)
                    + f" | {r.random_sdr:.2f} | {r.confidence_sdr:.2f} | {r.oracle_sdr:.2f} | "
                    f"{r.switches} |")
        print(rows[-1], flush=True)
    head = ("| held-out seed | " + " | ".join(f"switch_{n} alone" for n in DOMAINS)
            + " | random | confidence | oracle | switches |")
    return "\n".join([head, "|" + "---|" * (len(DOMAINS) + 5), *rows])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "rtsep" / "switching")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--dc-weight", type=float, default=1.0)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--fixtures", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+",
                    help="only evaluate the committed fixture models on songs of these seeds")
    args = ap.parse_args()
    if args.seeds:
        print(fresh_seeds(args.work, args.seeds))
        raise SystemExit(0)
    text = run(args.work, args.epochs, args.dc_weight, args.fixtures)
    print(text)
    if args.write:
        from common import replace_section

        replace_section("## Switching", text)
