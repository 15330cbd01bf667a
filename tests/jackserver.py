"""A private JACK server for tests: ``jackd -d dummy`` under a unique server name.

The dummy backend has no hardware: it runs the JACK graph in real time on a timer, so audio
programs connected to it behave as on a sound card. The server is started with
``--autoconnect a`` (clients may not wire themselves to ``system`` ports): the tests wire
exactly the connections they mean with ``jack_connect``.

Processes that use PortAudio must start after the server is up, because PortAudio lists the
JACK device only if the server runs when it initialises; pass :meth:`JackServer.env` to them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

TOOLS = ("jackd", "jack_wait", "jack_lsp", "jack_connect")


def raise_priority() -> None:
    """``preexec_fn`` for audio processes: a higher priority when allowed (root), else none.

    Other tests may load every core; real-time audio on a busy machine needs the scheduler
    to prefer it, as a sound server's real-time threads would get it on a desktop.
    """
    try:
        os.nice(-10)
    except OSError:
        pass


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


class JackServer:
    """A running ``jackd`` (dummy backend); ``name`` is its server name."""

    def __init__(self, rate: int = 44100, period: int = 256, channels: int = 2):
        self.rate, self.period, self.channels = int(rate), int(period), int(channels)
        self.name = f"rtsep_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def env(self) -> dict:
        """The environment for child processes: their JACK clients use this server."""
        env = dict(os.environ)
        env["JACK_DEFAULT_SERVER"] = self.name
        env["JACK_NO_AUDIO_RESERVATION"] = "1"
        return env

    def start(self, timeout: float = 10.0) -> "JackServer":
        wait_us = int(round(1e6 * self.period / self.rate))  # the dummy's cycle: one period
        # --sync: a cycle ends when every client has finished, so a client that is late on a
        # busy test machine delays the cycle instead of losing audio; -t: it is not evicted.
        cmd = ["jackd", "--no-realtime", "--sync", "-t", "5000", "-n", self.name,
               "--autoconnect", "a", "-d", "dummy",
               "-r", str(self.rate), "-p", str(self.period), "-w", str(wait_us),
               "-C", str(self.channels), "-P", str(self.channels)]
        # jackd's messages go to a file, never to a pipe: nobody reads a pipe while the tests
        # run, and once its buffer filled (xrun messages on a busy machine), jackd blocked in
        # write() and the whole graph froze, so jack_connect and jack_lsp timed out.
        fd, log = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
        self.log_path = Path(log)
        with os.fdopen(fd, "wb") as sink:
            self.proc = subprocess.Popen(cmd, env=self.env(), stdin=subprocess.DEVNULL,
                                         stdout=sink, stderr=subprocess.STDOUT,
                                         preexec_fn=raise_priority)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jackd exited with {self.proc.returncode}: {self.log_tail()!r}")
            ok = self._tool("jack_wait", "-c", "-s", self.name)
            if "running" in ok.stdout and "not running" not in ok.stdout:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jackd did not come up within {timeout} s")

    def log_tail(self, chars: int = 1500) -> str:
        """The end of jackd's own messages (xruns, client timeouts), for failure reports."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
        # A client that outlives its server (one test kills the server on purpose) cannot
        # remove its semaphore; the server's files go with it so runs do not litter /dev/shm.
        for leftover in Path("/dev/shm").glob(f"jack_sem.*_{self.name}_*"):
            leftover.unlink(missing_ok=True)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    # -- graph helpers -------------------------------------------------------------------
    def _tool(self, *argv: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
        """Run a JACK command-line tool against this server; a hang reports jackd's log."""
        try:
            return subprocess.run(list(argv), env=self.env(), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            alive = self.proc is not None and self.proc.poll() is None
            raise RuntimeError(f"{' '.join(argv)} got no answer from jackd within {timeout} s "
                               f"(server {'running' if alive else 'gone'}); jackd's log ends: "
                               f"{self.log_tail()!r}") from None

    def ports(self) -> list[str]:
        out = self._tool("jack_lsp")
        return [p.strip() for p in out.stdout.splitlines() if p.strip()]

    def connections(self) -> dict[str, list[str]]:
        """Each port -> the ports it is connected to (``jack_lsp -c``)."""
        out = self._tool("jack_lsp", "-c")
        graph: dict[str, list[str]] = {}
        current = None
        for line in out.stdout.splitlines():
            if line.startswith((" ", "\t")):
                if current is not None:
                    graph[current].append(line.strip())
            elif line.strip():
                current = line.strip()
                graph[current] = []
        return graph

    def wait_for_ports(self, names: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            have = set(self.ports())
            if all(n in have for n in names):
                return
            time.sleep(0.1)
        raise TimeoutError(f"JACK ports {names} did not appear; have {sorted(self.ports())}")

    def connect(self, src: str, dst: str) -> None:
        done = self._tool("jack_connect", src, dst)
        if done.returncode != 0:
            raise RuntimeError(f"jack_connect {src} {dst} failed: {done.stderr.strip()}")


@contextmanager
def jack_server(**kw):
    """``with jack_server() as server:`` a started :class:`JackServer`, stopped afterwards."""
    server = JackServer(**kw).start()
    try:
        yield server
    finally:
        server.stop()
