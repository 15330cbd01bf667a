"""JACK through the JACK-Client package (module ``jack``): the server's period, port wiring, and
a watchdog that sees the server die.

Audio itself goes through PortAudio (``sounddevice``), which names its JACK client by a ctypes
call (``devices.rescan``); what PortAudio does not offer is done here with a small JACK client
of our own:

- :func:`server_period`: the frames per JACK cycle, so a session can pick its blocksize and
  buffering to suit it;
- :func:`connect_ports`: wire ports (a loopback test, a test harness) without ``jack_connect``
  subprocesses;
- :class:`JackWatch`: JACK calls its shutdown callback the moment the server goes away. A live
  session then stops without touching its PortAudio stream again: PortAudio's JACK code
  asserts (and aborts the process) when it unregisters ports on a dead server.
"""

from __future__ import annotations

import threading

from ..errors import DeviceError


def _jack():
    """The ``jack`` module, or None where the package or libjack is missing."""
    try:
        import jack
    except (ImportError, OSError):
        return None
    return jack


def _client(name: str):
    """A new client of the running server (never starts one); raises ``jack.JackError``."""
    jack = _jack()
    return jack.Client(name, no_start_server=True)


def server_period() -> int | None:
    """Frames per cycle of the running JACK server, or None (no server, no JACK-Client)."""
    jack = _jack()
    if jack is None:
        return None
    try:
        client = _client("rtsep_query")
    except jack.JackError:
        return None
    try:
        return int(client.blocksize)
    finally:
        client.close()


def server_alive() -> bool:
    """True when a JACK server answers (a client can be opened), quietly."""
    jack = _jack()
    if jack is None:
        return False
    jack.set_error_function(lambda message: None)  # "cannot connect to server" is the answer
    try:
        client = _client("rtsep_alive")
    except jack.JackError:
        return False
    finally:
        jack.set_error_function(None)
    client.close()
    return True


def connect_ports(pairs, name: str = "rtsep_wire") -> None:
    """Connect each ``(source, destination)`` port pair; existing connections are fine.

    Raises ``DeviceError`` when JACK-Client is missing, no server runs, or a port is unknown.
    """
    jack = _jack()
    if jack is None:
        raise DeviceError("the JACK-Client package (module jack) is not installed")
    try:
        client = _client(name)
    except jack.JackError as exc:
        raise DeviceError(f"cannot reach the JACK server: {exc}") from None
    try:
        for src, dst in pairs:
            if dst in {p.name for p in client.get_all_connections(src)}:
                continue
            client.connect(src, dst)
    except jack.JackError as exc:
        raise DeviceError(f"cannot connect JACK ports {src} -> {dst}: {exc}") from None
    finally:
        client.close()


class JackWatch:
    """A passive JACK client whose shutdown callback records that the server went away.

    ``gone`` turns true from JACK's own notification thread as soon as the server dies or
    drops the process's clients, well before a stalled stream would give it away.
    """

    def __init__(self, client):
        self._client = client
        self._gone = threading.Event()
        self.reason = ""

    @classmethod
    def start(cls, name: str = "rtsep_watch") -> "JackWatch | None":
        """A watch on the running server, or None when JACK-Client or the server is missing."""
        jack = _jack()
        if jack is None:
            return None
        try:
            client = _client(name)
        except jack.JackError:
            return None
        watch = cls(client)
        client.set_shutdown_callback(watch._on_shutdown)
        return watch

    def _on_shutdown(self, status, reason) -> None:  # JACK's thread: set a flag, nothing more
        self.reason = str(reason)
        self._gone.set()

    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    def close(self) -> None:
        """Leave the server; a client of a dead server is left for the OS to free."""
        jack = _jack()
        if self.gone:
            _forget(self._client)
            return
        try:
            self._client.close()
        except jack.JackError:
            pass


_forgotten: list = []  # clients of dead servers, kept so that nothing ever closes them


def _forget(client) -> None:
    """Make sure ``client`` (of a server that died) is never closed.

    ``jack_client_close`` on a dead server's client crashed the process (SIGSEGV) when
    JACK-Client's ``__del__`` ran it at exit. JACK-Client offers no way to let go of a client
    without closing it, so its handle is cleared (``_ptr``, which ``close`` checks); the OS
    frees the rest when the process ends.
    """
    jack = _jack()
    _forgotten.append(client)
    if hasattr(client, "_ptr"):
        client._ptr = jack._ffi.NULL
