"""`rtsep demo`: render the built-in song, separate it, write audio and a picture."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo"), "--out", "-o", help="Folder for the results."),
        preset: str = typer.Option("default", help="default or low-latency."),
        seconds: float = typer.Option(20.0, help="Length of the rendered song."),
    ) -> None:
        """Render the built-in song (FluidSynth), separate it, write audio and a picture."""
        from ..separate import separate_file
        from ..songs.default import render_default_song
        from .options import engine_config_from_options

        song = render_default_song(seconds=seconds)
        # what `rtsep separate` does with no flag: the default model where one is shipped for
        # this preset, primitive clustering otherwise
        config = engine_config_from_options(preset, None, None, None, 5.0,
                                            primitives_only=False)
        result = separate_file(song["mixture"], out, config, plot=Path(out) / "separation.png")
        typer.echo(f"rendered song: {song['mixture']}")
        typer.echo(
            f"separated {result['seconds']:.1f} s at {1 / max(result['rtf'], 1e-9):.1f}x real "
            f"time, latency {result['latency_ms']:.1f} ms, with {', '.join(result['candidates'])}"
        )
        for name, path in result["outputs"].items():
            typer.echo(f"  {name:10s} {path}")
