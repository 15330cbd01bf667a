"""`rtsep devices`: the audio devices PortAudio sees."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def devices(
        as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
    ) -> None:
        """List the audio devices PortAudio sees (index, name, host API, channels, rate)."""
        from ..live.devices import format_table, list_devices

        found = list_devices()
        typer.echo(json.dumps(found, indent=1) if as_json else format_table(found))
