"""A private JACK server for tests: ``jackd -d dummy`` under a unique server name.

The dummy backend has no hardware: it runs the JACK graph in real time on a timer, so audio
programs connected to it behave as on a sound card. The server is started with
``--autoconnect a`` (clients may not wire themselves to ``system`` ports): the tests wire
exactly the connections they mean.

The harness talks to the server through one JACK client of its own (the JACK-Client package):
listing and wiring ports is a call, not a ``jack_lsp``/``jack_connect`` process that has to
start, connect and answer within a timeout on a loaded machine.

Processes that use PortAudio must start after the server is up, because PortAudio lists the
JACK device only if the server runs when it initialises; pass :meth:`JackServer.env` to them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

TOOLS = ("jackd",)


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
    missing = [t for t in TOOLS if shutil.which(t) is None]
    try:
        import jack  # noqa: F401  (JACK-Client, which needs libjack)
    except (ImportError, OSError):
        missing.append("JACK-Client")
    return missing


class JackServer:
    """A running ``jackd`` (dummy backend); ``name`` is its server name."""

    def __init__(self, rate: int = 44100, period: int = 256, channels: int = 2,
                 realtime: bool = False):
        self.rate, self.period, self.channels = int(rate), int(period), int(channels)
        self.realtime = bool(realtime)  # the soak benchmark runs the server as a desktop would
        self.name = f"rtsep_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.client = None  # the harness's own JACK client, once the server answers

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
        cmd = ["jackd", *(["--realtime"] if self.realtime else ["--no-realtime"]), "--sync",
               "-t", "5000", "-n", self.name, "--autoconnect", "a", "-d", "dummy",
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
            if self._open_client():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jackd did not come up within {timeout} s: {self.log_tail()!r}")

    def _open_client(self) -> bool:
        """Open the harness's client once the server answers; False while it does not yet."""
        import jack

        jack.set_error_function(lambda message: None)  # "cannot connect" while it starts up
        try:
            self.client = jack.Client("rtsep_harness", no_start_server=True,
                                      servername=self.name)
        except jack.JackError:
            return False
        finally:
            jack.set_error_function(None)
        return True

    def log_tail(self, chars: int = 1500) -> str:
        """The end of jackd's own messages (xruns, client timeouts), for failure reports."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.client is not None:  # leave before the server goes, or libjack complains
            self.client.close()
            self.client = None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        crashed = self.proc.returncode == -signal.SIGKILL
        self.proc = None
        # A client that outlives its server (one test kills the server on purpose) cannot
        # remove its semaphore; the server's files go with it so runs do not litter /dev/shm.
        for leftover in Path("/dev/shm").glob(f"jack_sem.*_{self.name}_*"):
            leftover.unlink(missing_ok=True)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
        if crashed:
            self._reclaim()

    def _reclaim(self) -> None:
        """Free the registry slot of a server that was killed.

        JACK keeps at most 8 servers per user in /dev/shm/jack-shm-registry and frees a dead
        server's slot only when a server of the same name starts: killed servers under fresh
        names would fill it, and every jackd on the machine would then fail ("Too many servers
        already active"). A server of the same name started and stopped cleanly frees it.
        """
        twin = JackServer(self.rate, self.period, self.channels)
        twin.name = self.name
        try:
            twin.start()
        except RuntimeError:
            return
        twin.stop()

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL, as a crash would), leaving clients behind.

        ``stop()`` afterwards frees what the dead server left (see ``_reclaim``)."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    # -- graph helpers (the harness's JACK client) -----------------------------------------
    def ports(self) -> list[str]:
        return [p.name for p in self.client.get_ports()]

    def connections(self) -> dict[str, list[str]]:
        """Each port -> the ports it is connected to."""
        return {p.name: [c.name for c in self.client.get_all_connections(p)]
                for p in self.client.get_ports()}

    def wait_for_ports(self, names: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            have = set(self.ports())
            if all(n in have for n in names):
                return
            time.sleep(0.1)
        raise TimeoutError(f"JACK ports {names} did not appear; have {sorted(self.ports())}")

    def wait_for_connection(self, src: str, dst: str, timeout: float = 30.0) -> None:
        """Wait until ``src`` is connected to ``dst`` (a stream that started wires itself)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if src in set(self.ports()) and dst in {
                    p.name for p in self.client.get_all_connections(src)}:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{src} -> {dst} was not connected within {timeout} s; graph "
                           f"{self.connections()}")

    def connect(self, src: str, dst: str) -> None:
        import jack

        try:
            self.client.connect(src, dst)
        except jack.JackError as exc:
            raise RuntimeError(f"connecting {src} -> {dst} failed: {exc}") from None


@contextmanager
def jack_server(**kw):
    """``with jack_server() as server:`` a started :class:`JackServer`, stopped afterwards."""
    server = JackServer(**kw).start()
    try:
        yield server
    finally:
        server.stop()
