"""A progress bar on stderr (rich, which typer already brings); nothing when not a terminal."""

from __future__ import annotations

import sys


class ProgressLine:
    """``update(done, total)`` moves a rich bar labelled ``label``; ``close()`` ends it.

    Drawn only on a terminal, so logs and pipes stay clean. ``label`` may be changed between
    updates (the evaluation names the track it is on).
    """

    def __init__(self, label: str, stream=None):
        from rich.console import Console

        self._console = Console(file=stream or sys.stderr)
        self.enabled = self._console.is_terminal
        self._label = label
        self._progress = None
        self._task = None

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, text: str) -> None:
        self._label = text
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), TimeElapsedColumn(),
                                      TimeRemainingColumn(), console=self._console)
            self._task = self._progress.add_task(self._label, total=max(total, 1))
            self._progress.start()
        self._progress.update(self._task, completed=done, total=max(total, 1))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
