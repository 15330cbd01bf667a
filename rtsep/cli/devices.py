"""`rtsep devices`: the audio devices PortAudio sees."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def devices(
        as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
        midi: bool = typer.Option(False, "--midi", help="List the MIDI inputs instead "
                                  "(as `rtsep midi-ports`)."),
    ) -> None:
        """List the audio devices PortAudio sees (index, name, host API, channels, rate)."""
        from ..live.devices import format_table, list_devices

        if midi:
            from ..live.midi import format_ports, list_ports

            ports = list_ports()
            typer.echo(json.dumps([{k: p[k] for k in ("api", "index", "name")} for p in ports],
                                  indent=1) if as_json else format_ports(ports))
            return

        found = list_devices()
        typer.echo(json.dumps(found, indent=1) if as_json else format_table(found))
