"""``adversarial``: semi-supervised training with solo recordings and critics (paper 001).
Options, progress and printing only; the recipe is ``offline_training.adversarial``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer


def rich_progress(total: int):
    """A rich progress bar on stderr, or None when stderr is not a terminal (logs suffice).

    Returns ``update(done, total, row)``; ``done=None`` closes the bar.
    """
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    bar = Progress(TextColumn("[bold]adversarial"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                   console=Console(stderr=True), transient=False)
    task = bar.add_task("train", total=total, info="")
    bar.start()

    def update(done, total, row) -> None:
        if done is None:
            bar.stop()
            return
        info = "" if row is None else f"sup {row['sup']:.2f} adv {row['adv']:.2f}"
        bar.update(task, completed=done, info=info)

    return update


def _licences(items) -> dict:
    from rtsep.errors import ConfigError

    out = {}
    for item in items or []:
        path, eq, text = item.partition("=")
        if not eq or not path or not text:
            raise ConfigError(f"--licence {item!r}: write PATH=LICENCE TEXT")
        out[str(Path(path))] = text
    return out


def register(app: typer.Typer) -> None:
    @app.command("adversarial")
    def adversarial_command(
        out: Path = typer.Option(..., "--out", "-o", help="Output stem DIR/NAME (.json/.safetensors)."),
        labelled: Optional[List[Path]] = typer.Option(
            None, "--labelled", help="MUSDB-style folder of labelled tracks; repeatable."),
        solo_vocals: Optional[List[Path]] = typer.Option(
            None, "--solo-vocals", help="Solo vocals: audio files, folders of them, or track "
            "folders' data sets (their vocal stems); repeatable."),
        solo_accompaniment: Optional[List[Path]] = typer.Option(
            None, "--solo-accompaniment", help="Solo accompaniment: files, folders, or data "
            "sets (their accompaniment stems); repeatable."),
        mixtures: Optional[List[Path]] = typer.Option(
            None, "--mixtures", help="Unlabelled mixtures: files, folders, or data sets (stems "
            "summed, never used as labels); repeatable."),
        split: Optional[List[Path]] = typer.Option(
            None, "--split", help="Data set whose songs are shared out among the four roles "
            "(--shares); repeatable."),
        shares: str = typer.Option("0.5,0.17,0.17,0.16", help="Shares of a --split folder's "
                                   "songs: labelled, solo vocals, solo accompaniment, mixtures."),
        licence: Optional[List[str]] = typer.Option(
            None, "--licence", help="PATH=TEXT: the licence of an input (folder or file)."),
        run_dir: Optional[Path] = typer.Option(
            None, "--run-dir", help="Run folder (default OUT.run); re-running resumes it."),
        cache_dir: Optional[Path] = typer.Option(
            None, "--cache-dir", help="Where decoded audio is cached (default RUN/cache)."),
        critics: str = typer.Option("both", help="none, vocals, accompaniment or both."),
        alpha: float = typer.Option(0.02, min=0.0, help="Weight of the adversarial term."),
        beta: float = typer.Option(1.0, min=0.0, help="Weight of the additivity term."),
        critic_steps: int = typer.Option(5, min=1, help="Critic updates per separator update."),
        gp_weight: float = typer.Option(10.0, min=0.0, help="Gradient penalty weight."),
        critic_warmup: int = typer.Option(
            0, min=0, help="Critic-only updates whenever critics start (with --init-from)."),
        init_from: Optional[Path] = typer.Option(
            None, "--init-from", help="Continue from another run's RUN/checkpoints/state (e.g. "
            "a supervised run), its critics fresh; used when this run has no checkpoint."),
        critic_size: str = typer.Option("small", help="Critic size: tiny or small."),
        critic_lr: float = typer.Option(4e-4, min=0.0),
        critic_max_hz: float = typer.Option(8000.0, min=100.0, help="Critics see bins below."),
        arch: str = typer.Option("gru", help="Separator: gru or tcn (or a registry name)."),
        size: str = typer.Option("student", help="student, or a models.configs size."),
        steps: int = typer.Option(1000, min=1, help="Separator steps."),
        batch: int = typer.Option(8, min=1, help="Labelled examples per step (per process)."),
        unlabelled_batch: int = typer.Option(8, min=1, help="Mixtures per step (per process)."),
        frames: int = typer.Option(64, min=8, help="STFT frames per example."),
        lr: float = typer.Option(1e-3, min=0.0),
        dc_weight: float = typer.Option(0.5, min=0.0, help="Weight of deep clustering."),
        seed: int = typer.Option(0),
        threads: int = typer.Option(1, min=1, help="torch threads per process."),
        valid_every: int = typer.Option(50, min=1),
        checkpoint_every: int = typer.Option(50, min=1),
        select: str = typer.Option("best", help="Weights to save: best (validation SDR) or last."),
    ) -> None:
        """Train a causal separator on labelled stems plus unpaired solo recordings and
        mixtures, with one WGAN-GP critic per source. Runs alone or under torchrun (DDP)."""
        from rtsep.errors import ConfigError

        from .adversarial import AdversarialOptions, run_adversarial

        try:
            share_values = tuple(float(s) for s in shares.split(","))
        except ValueError:
            share_values = ()
        if len(share_values) != 4 or min(share_values) < 0 or sum(share_values) <= 0:
            raise ConfigError(f"--shares {shares!r}: give four non-negative numbers")
        opts = AdversarialOptions(
            out=str(out), labelled=labelled or [], solo_vocals=solo_vocals or [],
            solo_accompaniment=solo_accompaniment or [], mixtures=mixtures or [],
            split=split or [], shares=share_values, licences=_licences(licence),
            run_dir=str(run_dir) if run_dir else None,
            cache_dir=str(cache_dir) if cache_dir else None, critics=critics, alpha=alpha,
            beta=beta, critic_steps=critic_steps, gp_weight=gp_weight,
            critic_warmup=critic_warmup, init_from=str(init_from) if init_from else None,
            critic_size=critic_size,
            critic_lr=critic_lr, critic_max_hz=critic_max_hz, arch=arch, size=size,
            steps=steps, batch=batch, unlabelled_batch=unlabelled_batch, frames=frames, lr=lr,
            dc_weight=dc_weight, seed=seed, threads=threads, valid_every=valid_every,
            checkpoint_every=checkpoint_every, select=select)
        doc = run_adversarial(opts, log=typer.echo, progress_factory=rich_progress)
        if doc is not None:
            typer.echo(f"wrote {out}.json and {out}.safetensors; curves in "
                       f"{opts.run / 'curves.png'}; metrics: {doc['metrics']}")
