"""``train-supervised``: train a causal separator on labelled stems (options and printing only;
the recipe is ``offline_training.supervised.train_supervised``)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("train-supervised")
    def train_supervised_command(
        out: Path = typer.Option(..., "--out", "-o",
                                 help="Output stem DIR/NAME (.json/.safetensors)."),
        corpus: Optional[List[Path]] = typer.Option(
            None, "--corpus",
            help="Rendered corpus folder (song_*/ with vocals/accompaniment); repeatable."),
        labelled: Optional[List[Path]] = typer.Option(
            None, "--labelled", help="Real labelled folder, MUSDB-style; repeatable."),
        valid: Optional[List[Path]] = typer.Option(
            None, "--valid", help="Labelled folder for validation metrics (not trained on)."),
        licence: Optional[List[str]] = typer.Option(
            None, "--licence", help="Licence of each --corpus then --labelled folder, in order."),
        solo_vocals: Optional[List[Path]] = typer.Option(
            None, "--solo-vocals", help="Solo vocal recording, remixed over accompaniment."),
        solo_accompaniment: Optional[List[Path]] = typer.Option(
            None, "--solo-accompaniment", help="Instrumental recording used as accompaniment."),
        solo_licence: Optional[List[str]] = typer.Option(
            None, "--solo-licence", help="Licence of each solo file (vocals first), in order."),
        arch: str = typer.Option("CausalGRUSeparator", help="Architecture (models.registry)."),
        size: str = typer.Option("small", help="models.configs size: tiny or small."),
        lookahead: int = typer.Option(0, min=0, help="Look-ahead frames (adds latency)."),
        preset: str = typer.Option("default", help="STFT preset the model is trained for."),
        epochs: int = typer.Option(10, min=1),
        steps_per_epoch: int = typer.Option(50, min=1),
        batch: int = typer.Option(8, min=1),
        seg_frames: int = typer.Option(100, min=8, help="Frames per training segment."),
        dc_frames: int = typer.Option(16, min=1, help="Frames per segment in the DC loss."),
        lr: float = typer.Option(1e-3),
        dc_weight: float = typer.Option(1.0, help="Weight of the deep-clustering loss."),
        remix_prob: float = typer.Option(0.5, help="Chance a track's vocals get another backing."),
        seed: int = typer.Option(0),
        checkpoint_every: int = typer.Option(
            0, min=0, help="Also write the model (with metrics) every N epochs; 0 = at the end."),
        threads: int = typer.Option(2, min=1, help="torch threads for training."),
    ) -> None:
        """Train a causal chimera separator with ideal-ratio-mask and deep-clustering targets."""
        from .supervised import train_supervised

        doc = train_supervised(
            corpus or [], out, labelled_dirs=labelled or [], valid_dirs=valid or [],
            licences=licence or [], solo_vocals=solo_vocals or [],
            solo_accompaniment=solo_accompaniment or [], solo_licences=solo_licence or [],
            arch=arch, size=size, lookahead_frames=lookahead, preset=preset, epochs=epochs,
            steps_per_epoch=steps_per_epoch, batch=batch, seg_frames=seg_frames,
            dc_frames=dc_frames, lr=lr,
            dc_weight=dc_weight, remix_prob=remix_prob, seed=seed,
            checkpoint_every=checkpoint_every, threads=threads,
            log=typer.echo)
        typer.echo(f"wrote {out}.json and {out}.safetensors; metrics: {doc['metrics']}")
