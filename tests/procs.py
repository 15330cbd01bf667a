"""Running `rtsep` as a user would, and watching it: its stderr line by line, its signal
handlers, and the checks every fault test makes (no traceback, nothing half-written)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path


def rtsep(*args: str, env=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m rtsep ARGS`` to the end; text output."""
    return subprocess.run([sys.executable, "-m", "rtsep", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


class Watched:
    """``python -m rtsep ARGS`` in the background, its stderr read as it comes."""

    def __init__(self, *args: str, env=None):
        self.proc = subprocess.Popen([sys.executable, "-m", "rtsep", *map(str, args)], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._err = b""
        self.out = ""

    @property
    def err(self) -> str:
        return self._err.decode(errors="replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.proc.stderr], [], [], max(0.0, timeout))
        if not ready:
            return False
        chunk = os.read(self.proc.stderr.fileno(), 65536)
        self._err += chunk
        return bool(chunk)

    def wait_for_line(self, prefix: str, timeout: float) -> None:
        """Wait until a line of stderr starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in self.err.splitlines()):
                return
            if not self._read(deadline - time.monotonic()) and self.proc.poll() is not None:
                break
        raise TimeoutError(f"no line {prefix!r} from rtsep within {timeout} s; it said: "
                           f"{self.err[-2000:]!r}")

    def wait_for_handlers(self, timeout: float = 60.0) -> None:
        """Wait until the process catches SIGTERM (its handlers are installed), so a signal
        from now on tests rtsep, not the interpreter's start-up."""
        mask = 1 << (signal.SIGTERM - 1)
        status = Path(f"/proc/{self.proc.pid}/status")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                caught = next(int(line.split()[1], 16) for line in status.read_text().splitlines()
                              if line.startswith("SigCgt:"))
            except (OSError, StopIteration):
                caught = 0
            if caught & mask:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"rtsep ended early: {self.finish()[1]!r}")
            time.sleep(0.01)
        raise TimeoutError("rtsep never installed its signal handlers")

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        """Wait for the end; ``(exit status, all of stderr)``. Kills it after ``timeout``."""
        deadline = time.monotonic() + timeout
        try:
            while self._read(deadline - time.monotonic()):
                pass
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"rtsep did not end within {timeout} s: {self.err[-2000:]!r}")
        finally:
            self.out = self.proc.stdout.read().decode(errors="replace")
            self.proc.stdout.close()
            self.proc.stderr.close()
        return self.proc.returncode, self.err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def assert_clean(err: str) -> None:
    """No traceback, no 'Exception ignored' (e.g. from a cffi callback) on stderr."""
    assert "Traceback" not in err and "Exception ignored" not in err, err[-3000:]


def temporaries(folder: Path) -> list[Path]:
    """Leftover temporaries of the atomic writer (``.NAME.*.tmp``) in ``folder``."""
    return sorted(folder.glob(".*.tmp")) if folder.is_dir() else []
