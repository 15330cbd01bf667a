"""A one-line progress indicator on stderr (no dependency, no output when not a terminal)."""

from __future__ import annotations

import sys
import time


class ProgressLine:
    """``update(done, total)`` redraws ``label  42%`` at most 10 times a second."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        pct = 100.0 * done / max(total, 1)
        filled = int(pct / 5)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (20 - filled)}] {pct:5.1f}%")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
