"""`rtsep separate`: a file through the streaming engine, as fast as it goes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import (
    AlphaOption,
    BackendOption,
    BetaOption,
    ModelOption,
    PresetOption,
    PrimitiveOption,
    PrimitivesOnlyOption,
    SwitchOption,
    WeightOption,
    WithPrimitivesOption,
    engine_config_from_options,
)
from .score import ScoreChannelOption, ScoreOffsetOption, ScoreOption, describe, score_from_options


def register(app: typer.Typer) -> None:
    @app.command()
    def separate(
        input: Path = typer.Argument(..., help="Audio file to separate (wav, flac, ogg, mp3, ...)."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for vocals.wav and karaoke.wav."),
        preset: PresetOption = "default",
        alpha: AlphaOption = None,
        primitive: PrimitiveOption = None,
        weight: WeightOption = None,
        beta: BetaOption = 5.0,
        primitives_only: PrimitivesOnlyOption = False,
        model: ModelOption = None,
        with_primitives: WithPrimitivesOption = False,
        backend: BackendOption = "auto",
        switch: SwitchOption = "confidence",
        plot: Optional[Path] = typer.Option(None, help="Also write a spectrogram picture (PNG)."),
        score: ScoreOption = None,
        score_offset: ScoreOffsetOption = 0.0,
        score_channel: ScoreChannelOption = "auto",
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line."),
    ) -> None:
        """Separate INPUT into vocals and karaoke, aligned sample for sample with the input."""
        from ..separate import separate_file
        from .progress import ProgressLine

        config = engine_config_from_options(
            preset, alpha, primitive, weight, beta, models=model, primitives_only=primitives_only,
            with_primitives=with_primitives, backend=backend, switch=switch,
            score=score is not None)
        followed = score_from_options(score, score_offset, score_channel)
        if followed is not None:
            typer.echo(describe(followed), err=True)
        bar = None if quiet else ProgressLine("separating")
        try:
            result = separate_file(input, out, config, plot=plot,
                                   progress=None if bar is None else bar.update, score=followed)
        finally:
            if bar is not None:
                bar.close()
        if result["silent_input"]:
            typer.echo("note: the input is silent; the outputs are silent too", err=True)
        typer.echo(
            f"{result['seconds']:.1f} s at {result['sr']} Hz x {result['channels']} ch in "
            f"{result['compute_seconds']:.1f} s ({1 / max(result['rtf'], 1e-9):.1f}x real time), "
            f"latency {result['latency_ms']:.1f} ms, using {' + '.join(result['candidates'])}"
        )
        for name, path in result["outputs"].items():
            typer.echo(f"  {name:8s} {path}")
