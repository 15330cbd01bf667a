"""``train-stems``: train a causal separator on real labelled stems (options and printing only;
the recipe is ``offline_training.train_stems.train_stems``)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("train-stems")
    def train_stems_command(
        data: List[Path] = typer.Argument(..., help="MUSDB-style folders of labelled tracks "
                                          "(TRACK/vocals.* + accompaniment.* or drums/bass/"
                                          "other.*; mixture optional)."),
        out: Path = typer.Option(..., "--out", "-o",
                                 help="Output stem DIR/NAME (.json/.safetensors)."),
        run_dir: Optional[Path] = typer.Option(
            None, "--run-dir", help="Run folder (split, pools, checkpoints; default OUT.run); "
            "running again resumes it."),
        cache_dir: Optional[Path] = typer.Option(
            None, "--cache-dir", help="Where the stems are cached at 44.1 kHz (shared by "
            "runs; default RUN/stems)."),
        licence: Optional[List[str]] = typer.Option(
            None, "--licence", help="Licence of each data folder, in order (default: its "
            "provenance.json, or the known terms of mir1k/musdb7)."),
        arch: str = typer.Option("refiner", help="refiner, gru or tcn."),
        size: str = typer.Option("small", help="models.configs size (tiny, small)."),
        primitives: str = typer.Option(
            "repet,hpss,pitch", help="Primitive masks the refiner reads (comma-separated; "
            "'none' for the magnitude alone)."),
        steps: int = typer.Option(2000, min=1),
        batch: int = typer.Option(12, min=1),
        frames: int = typer.Option(200, min=8, help="STFT frames per training crop."),
        lr: float = typer.Option(1e-3),
        dc_weight: float = typer.Option(0.5, help="Weight of the deep-clustering loss."),
        pool_size: int = typer.Option(600, min=2, help="Remixes in the primitive pool."),
        pool_seconds: float = typer.Option(6.0, help="Length of each pool remix, seconds."),
        pool_refresh: float = typer.Option(0.05, min=0.0,
                                           help="Pool remixes redrawn per step."),
        remix_prob: float = typer.Option(0.7, help="Chance of another track's accompaniment."),
        vocal_variant: Optional[List[str]] = typer.Option(
            None, "--vocal-variant", help="Add pitch/tempo variants of the training vocals, "
            "e.g. pitch-2, pitch2, tempo0.9; repeatable."),
        valid_every: int = typer.Option(200, min=1),
        valid_batches: int = typer.Option(6, min=1, help="Validation batches (fixed)."),
        checkpoint_every: int = typer.Option(200, min=1),
        seed: int = typer.Option(0),
        threads: int = typer.Option(1, min=1, help="torch threads."),
        workers: int = typer.Option(1, min=0, help="Processes making batches (0: none)."),
        compile_graph: bool = typer.Option(False, "--compile", help="torch.compile the "
                                           "training graph (faster after a minute)."),
        loss: str = typer.Option("sdr", help="sdr or si-sdr (scale-invariant)."),
        floor_db: float = typer.Option(-10.0, help="Error floor of the loss, dB below each "
                                       "example's energy."),
        valid_own_mix: bool = typer.Option(
            False, "--valid-own-mix", help="Validate on each held-out track's own mix at its "
            "own levels instead of remixes."),
        init_from: Optional[Path] = typer.Option(
            None, "--init-from", help="Start from this model file's weights where names and "
            "shapes match (e.g. size small-local from a trained small)."),
    ) -> None:
        """Train on remixes of real stems: vocals of one track over another's accompaniment,
        random crops, gains and channel swaps; validation on held-out singers and songs."""
        from rtsep.errors import ConfigError

        from .remixer import RemixSettings
        from .train_stems import StemTrainOptions, train_stems

        licences = list(licence or [])
        if licences and len(licences) != len(data):
            raise ConfigError(f"{len(licences)} --licence given for {len(data)} data folders")
        prims = () if primitives.strip().lower() in ("", "none") else tuple(
            p.strip() for p in primitives.split(",") if p.strip())
        opts = StemTrainOptions(
            data=list(data), out=str(out), run_dir=str(run_dir) if run_dir else None,
            cache_dir=str(cache_dir) if cache_dir else None,
            licences={str(d): lic for d, lic in zip(data, licences)}, arch=arch, size=size,
            primitives=prims, steps=steps, batch=batch, frames=frames, lr=lr,
            dc_weight=dc_weight, seed=seed, threads=threads, pool_size=pool_size,
            pool_seconds=pool_seconds, pool_refresh=pool_refresh, valid_every=valid_every,
            valid_batches=valid_batches,
            checkpoint_every=checkpoint_every, vocal_variants=tuple(vocal_variant or ()),
            workers=workers, compile=compile_graph, loss=loss, floor_db=floor_db,
            valid_remix=not valid_own_mix,
            init_from=str(init_from) if init_from else None,
            remix=RemixSettings(remix_prob=remix_prob))
        doc = train_stems(opts, log=typer.echo)
        typer.echo(f"wrote {out}.json and {out}.safetensors; metrics: {doc['metrics']}")

    @app.command("export-stems-run")
    def export_stems_run_command(
        run_dir: Path = typer.Argument(..., help="A train-stems run folder (OUT.run)."),
        out: Path = typer.Option(..., "--out", "-o",
                                 help="Output stem DIR/NAME (.json/.safetensors)."),
        last: bool = typer.Option(False, "--last", help="The last checkpointed weights "
                                  "instead of the best validated ones."),
    ) -> None:
        """A model file from a stopped run's checkpoint, with the JSON a finished run writes
        (data, licences, options, losses) and the step it reached."""
        from .stem_export import export_stems_run

        doc = export_stems_run(run_dir, out, "last" if last else "best")
        typer.echo(f"wrote {out}.json and {out}.safetensors; "
                   f"{doc['training']['stopped']['weights']}")
