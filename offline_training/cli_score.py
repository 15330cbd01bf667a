"""``score-supervised``: a separator learnt from mixtures and their scores (paper 002).
Options and printing only; the recipe is ``offline_training.score_supervised``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def _licences(items: list[str]) -> dict:
    from rtsep.errors import ConfigError

    out = {}
    for item in items:
        folder, eq, text = item.partition("=")
        if not eq or not text.strip():
            raise ConfigError(f"--licence takes FOLDER=TEXT, got {item!r}")
        out[str(Path(folder))] = text.strip()
    return out


def _names(text: str) -> tuple:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def register(app: typer.Typer) -> None:
    @app.command("score-supervised")
    def score_supervised_command(
        data: List[Path] = typer.Argument(
            ..., help="Folders of scored tracks: vocals.mid or pitch.pv beside mixture.* or "
            "vocals.* + accompaniment.* (rendered corpus, MIR-1K)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output stem DIR/NAME (.json/.safetensors)."),
        run_dir: Optional[Path] = typer.Option(
            None, "--run-dir", help="Run folder (default OUT.run); re-running resumes it."),
        cache_dir: Optional[Path] = typer.Option(
            None, "--cache-dir", help="Feature cache to share between runs (default RUN/features)."),
        valid: Optional[List[Path]] = typer.Option(
            None, "--valid", help="Held-out folder of scored tracks (validation only)."),
        valid_singers: str = typer.Option(
            ",".join(("annar", "titon")), help="MIR-1K singers held out for validation."),
        licence: Optional[List[str]] = typer.Option(
            None, "--licence", help="FOLDER=TEXT: licence of a data folder (repeatable)."),
        objective: str = typer.Option(
            "score", help="score, or supervised: the ablation's reference on the true stems."),
        losses: str = typer.Option("tr,clip,harm", help="Step-2 losses: tr, clip, harm."),
        transcriptor: Optional[Path] = typer.Option(
            None, "--transcriptor", help="A trained transcriptor (STEM.json); else one is "
            "trained in the run."),
        transcriptor_steps: int = typer.Option(600, min=1),
        arch: str = typer.Option("gru", help="Separator: gru or tcn (or a registry name)."),
        size: str = typer.Option("student", help="student, or a models.configs size."),
        init: Optional[Path] = typer.Option(None, "--init", help="Start from this model file."),
        steps: int = typer.Option(600, min=0, help="Separator steps (step 2)."),
        finetune: str = typer.Option("none", help="Step 3: none, atl or aml."),
        finetune_steps: int = typer.Option(0, min=0),
        batch: int = typer.Option(8, min=1, help="Crops per step (per process)."),
        seg_frames: int = typer.Option(128, min=16, help="Frames per crop (multiple of 4)."),
        lr: float = typer.Option(1e-3),
        finetune_lr: float = typer.Option(3e-4),
        weight_clip: float = typer.Option(1.0, help="Weight of the clip-level mixture loss."),
        weight_harm: float = typer.Option(1.0, help="Weight of the harmonic mixture loss."),
        weight_dc: float = typer.Option(0.1, help="Weight of the embedding's clustering loss."),
        weight_adv: float = typer.Option(1.0, help="Weight of the adversarial terms."),
        seed: int = typer.Option(0),
        threads: int = typer.Option(1, min=1, help="torch threads per process."),
        checkpoint_every: int = typer.Option(50, min=1),
    ) -> None:
        """Train a causal separator from mixtures and vocal scores, with a transcriptor as
        critic (paper 002). Runs alone or under torchrun (DDP)."""
        from .score_steps import Weights
        from .score_supervised import ScoreOptions, run_score_supervised

        opts = ScoreOptions(
            data=list(data), out=str(out), run_dir=str(run_dir) if run_dir else None,
            cache_dir=str(cache_dir) if cache_dir else None, valid=list(valid or []),
            valid_singers=_names(valid_singers), licences=_licences(licence or []),
            objective=objective, losses=_names(losses),
            transcriptor=str(transcriptor) if transcriptor else None,
            transcriptor_steps=transcriptor_steps, arch=arch, size=size,
            init=str(init) if init else None, steps=steps, finetune=finetune,
            finetune_steps=finetune_steps, batch=batch, seg_frames=seg_frames, lr=lr,
            finetune_lr=finetune_lr,
            weights=Weights(clip=weight_clip, harm=weight_harm, dc=weight_dc, adv=weight_adv),
            seed=seed, threads=threads, checkpoint_every=checkpoint_every)
        doc = run_score_supervised(opts, echo=typer.echo)
        if doc is not None:
            typer.echo(f"wrote {out}.json and {out}.safetensors; metrics: {doc['metrics']}")
