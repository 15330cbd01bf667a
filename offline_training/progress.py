"""Progress bars for training stages: rich on a terminal (rank 0 only), silent elsewhere.

The run folder's log has the same information as periodic lines, so a run under ``nohup`` or
torchrun's other ranks lose nothing by drawing no bar.
"""

from __future__ import annotations

import sys


class StageProgress:
    """``update(done, **fields)`` moves the bar of one stage; fields (losses) show beside it."""

    def __init__(self, label: str, total: int, done: int = 0, enabled: bool = True,
                 stream=None):
        stream = stream or sys.stderr
        self._progress = None
        if not (enabled and hasattr(stream, "isatty") and stream.isatty()):
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # rich comes with typer; without it, no bar
            return
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                                  console=Console(file=stream), transient=False)
        self._progress.start()
        self._task = self._progress.add_task(label, total=total, completed=done, info="")

    def update(self, done: int, **fields) -> None:
        if self._progress is None:
            return
        info = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in fields.items())
        self._progress.update(self._task, completed=done, info=info)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
