"""`rtsep profile`: latency, real-time factor and per-stage timings of the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def profile(
        preset: str = typer.Option("default", help="default or low-latency."),
        seconds: float = typer.Option(10.0, help="Seconds of rendered music to process."),
        sr: int = typer.Option(44100, help="Sample rate."),
        channels: int = typer.Option(2, help="Channel count."),
        json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON."),
        one_core: bool = typer.Option(True, "--one-core/--all-cores", help="Pin to one CPU core."),
        device: Optional[str] = typer.Option(None, help="Audio device for --loopback."),
        loopback: bool = typer.Option(
            False, help="Measure the round trip through DEVICE with its output wired to its input."),
    ) -> None:
        """Run the engine on a rendered song and report latency, rtf and per-hop timings."""
        from .separate import engine_config_from_options
        from ..evaluation.profile import format_table, pin_to_one_core, profile_engine

        config = engine_config_from_options(preset, None, None, None, 5.0)
        if loopback:
            from ..live.loopback import format_loopback, measure_loopback

            report = measure_loopback(device=device, preset=preset, seconds=seconds)
            typer.echo(format_loopback(report))
        else:
            if one_core:
                pin_to_one_core()
            report = profile_engine(config, seconds=seconds, sr=sr, channels=channels)
            typer.echo(format_table(report))
        if json_path is not None:
            from ..io.jsonio import write_json_atomic

            write_json_atomic(json_path, report)
