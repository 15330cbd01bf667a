"""`rtsep separate`: a file through the streaming engine, as fast as it goes."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def engine_config_from_options(preset: str, alpha: Optional[float], primitives: Optional[List[str]],
                               weights: Optional[List[float]], beta: float, *,
                               models: Optional[List[str]] = None, primitives_only: bool = True,
                               with_primitives: bool = False, backend: str = "auto",
                               switch: str = "confidence"):
    """One place that turns the shared command-line options into an ``EngineConfig``.

    With no ``--model`` and no ``--primitives-only`` the engine takes the best shipped model
    that fits the sample rate (primitive clustering when none does). ``--with-primitives`` adds
    primitive clustering as a candidate beside the models, for switching by confidence.
    """
    from ..config import DEFAULT_MODEL, DEFAULT_PRIMITIVES, EngineConfig
    from ..errors import ConfigError

    if primitives_only and models:
        raise ConfigError("--primitives-only and --model exclude each other")
    if primitives_only:
        chosen, use_primitives = (), True
    else:
        chosen = tuple(models) if models else (DEFAULT_MODEL,)
        use_primitives = with_primitives
    names = tuple(primitives) if primitives else DEFAULT_PRIMITIVES
    config = EngineConfig(
        preset=preset,
        primitives=names,
        weights=tuple(weights) if weights else None,
        beta=beta,
        alpha=alpha,
        models=chosen,
        use_primitives=use_primitives,
        backend=backend,
        switch=switch,
    )
    config.validate()
    return config


def register(app: typer.Typer) -> None:
    register_demo(app)

    @app.command()
    def separate(
        input: Path = typer.Argument(..., help="Audio file to separate (wav, flac, ogg, mp3, ...)."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for vocals.wav and karaoke.wav."),
        preset: str = typer.Option("default", help="default (11.6 ms) or low-latency (5.8 ms)."),
        alpha: Optional[float] = typer.Option(
            None, help="Deep Karaoke threshold: binary mask where the vocal posterior > alpha."),
        primitive: Optional[List[str]] = typer.Option(
            None, "--primitive", "-p", help="Primitive to use (repeatable): repet, hpss, pitch."),
        weight: Optional[List[float]] = typer.Option(
            None, "--weight", "-w", help="Weight per --primitive, in the same order."),
        beta: float = typer.Option(5.0, help="Hardness of primitive clustering (paper 000)."),
        primitives_only: bool = typer.Option(
            False, "--primitives-only", help="Primitive clustering only: no model."),
        model: Optional[List[str]] = typer.Option(
            None, "--model", "-m", help="Model name or file (repeatable; `rtsep models list`). "
            "Default: the best shipped model for the sample rate."),
        with_primitives: bool = typer.Option(
            False, "--with-primitives", help="Also run primitive clustering as a candidate."),
        backend: str = typer.Option("auto", help="auto, torch, onnx, cuda-graph or tensorrt."),
        switch: str = typer.Option("confidence", help="Between candidates: off or confidence."),
        plot: Optional[Path] = typer.Option(None, help="Also write a spectrogram picture (PNG)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line."),
    ) -> None:
        """Separate INPUT into vocals and karaoke, aligned sample for sample with the input."""
        from .progress import ProgressLine
        from ..separate import separate_file

        config = engine_config_from_options(
            preset, alpha, primitive, weight, beta, models=model, primitives_only=primitives_only,
            with_primitives=with_primitives, backend=backend, switch=switch)
        bar = None if quiet else ProgressLine("separating")
        try:
            result = separate_file(input, out, config, plot=plot,
                                   progress=None if bar is None else bar.update)
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


def register_demo(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo"), "--out", "-o", help="Folder for the results."),
        preset: str = typer.Option("default", help="default or low-latency."),
        seconds: float = typer.Option(20.0, help="Length of the rendered song."),
    ) -> None:
        """Render the built-in song (FluidSynth), separate it, write audio and a picture."""
        from ..songs.fluidsynth import render_default_song
        from ..separate import separate_file

        song = render_default_song(seconds=seconds)
        config = engine_config_from_options(preset, None, None, None, 5.0)
        result = separate_file(song["mixture"], out, config, plot=Path(out) / "separation.png")
        typer.echo(f"rendered song: {song['mixture']}")
        typer.echo(
            f"separated {result['seconds']:.1f} s at {1 / max(result['rtf'], 1e-9):.1f}x real "
            f"time, latency {result['latency_ms']:.1f} ms"
        )
        for name, path in result["outputs"].items():
            typer.echo(f"  {name:10s} {path}")
