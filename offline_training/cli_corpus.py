"""``render-corpus``: the rendered multitrack corpus (options and printing only)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("render-corpus")
    def render_corpus_command(
        out: Path = typer.Argument(..., help="Folder for song_0000/, song_0001/, ..."),
        songs: int = typer.Option(100, "--songs", "-n", min=1, help="Number of songs."),
        seconds: float = typer.Option(60.0, "--seconds", "-s", min=0.5,
                                      help="Length of each song."),
        seed: int = typer.Option(0, "--seed", help="Corpus seed: the same seed, the same files."),
        sr: int = typer.Option(44100, "--sr", min=8000, max=96000, help="Sample rate in Hz."),
        workers: int = typer.Option(2, "--workers", "-j", min=1, help="Songs rendered at once."),
    ) -> None:
        """Render generated songs into stems (vocals, drums, bass, other) with FluidSynth."""
        import time

        from rtsep.cli.progress import ProgressLine

        from .corpus import render_corpus

        bar = ProgressLine(f"rendering {songs} songs")
        t0 = time.perf_counter()
        try:
            folders = render_corpus(out, songs, seconds, seed, sr=sr, workers=workers,
                                    progress=bar.update)
        finally:
            bar.close()
        elapsed = time.perf_counter() - t0
        typer.echo(f"{len(folders)} songs of {seconds:g} s in {out} ({elapsed:.1f} s, "
                   f"{songs * seconds / max(elapsed, 1e-9):.0f}x real time)")
