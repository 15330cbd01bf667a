"""`rtsep eval`: score methods on a labelled data set; prints a table, writes JSON/CSV/PNG."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        dataset: Path = typer.Argument(
            ..., help="Folder of tracks: TRACK/mixture.* with vocals.* and accompaniment.* "
                      "(or drums/bass/other)."),
        method: Optional[List[str]] = typer.Option(
            None, "--method", "-m",
            help="Method (repeatable): mixture, oracle-irm, oracle-ibm, repet, hpss, pitch, pcl, "
                 "a shipped model's name, or NAME:key=value,... e.g. pcl-alpha:alpha=0.5, "
                 "low:preset=low-latency. Unknown names are errors. "
                 "Default: mixture, oracle-irm, pcl."),
        json_path: Optional[Path] = typer.Option(None, "--json", help="Write all rows as JSON."),
        csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write all rows as CSV."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Box plots of SDR (PNG)."),
        alpha_sweep: Optional[str] = typer.Option(
            None, "--alpha-sweep", help="Also run each engine method with the Deep Karaoke "
            "threshold at these alphas, e.g. 0.3,0.5,0.7,0.9."),
        tradeoff_plot: Optional[Path] = typer.Option(
            None, "--tradeoff-plot", help="SIR against SAR per method and alpha (PNG)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line."),
    ) -> None:
        """Score separation methods on DATASET with BSS Eval v4 (SDR/SIR/SAR) and SI-SDR."""
        from ..errors import ConfigError
        from ..evaluation.methods import DEFAULT_METHODS, resolve_methods
        from ..evaluation.methods import alpha_sweep as sweep
        from ..evaluation.outputs import check_outputs, write_outputs
        from ..evaluation.runner import evaluate, format_table
        from .progress import ProgressLine

        specs = list(method or DEFAULT_METHODS)
        if alpha_sweep:
            try:
                alphas = [float(a) for a in alpha_sweep.split(",") if a.strip()]
            except ValueError:
                raise ConfigError(f"--alpha-sweep {alpha_sweep!r}: give numbers like 0.3,0.5,0.7")
            specs += sweep(specs, alphas)
        methods = resolve_methods(specs)  # bad method names fail before any audio is read
        check_outputs(json_path, csv_path, plot, tradeoff_plot)  # and unwritable outputs too
        bar = None if quiet else ProgressLine("evaluating")

        def progress(done: int, total: int, label: str) -> None:
            if bar is not None:
                bar.label = f"evaluating {label[:40]:<40}"
                bar.update(done, total)

        try:
            results = evaluate(dataset, methods, progress=progress)
        finally:
            if bar is not None:
                bar.close()
        n_tracks = len({r["track"] for r in results.rows})
        typer.echo(f"{n_tracks} track(s) in {dataset}; medians over 1 s windows, then over "
                   "tracks (dB); speed = audio seconds per compute second")
        typer.echo(format_table(results))
        # All files together, after the whole evaluation: none of them is ever half-written.
        for path in write_outputs(results, json_path=json_path, csv_path=csv_path, plot=plot,
                                  tradeoff_plot=tradeoff_plot):
            typer.echo(f"wrote {path}")
