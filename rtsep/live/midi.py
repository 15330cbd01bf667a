"""Live MIDI input through python-rtmidi: a port, chosen by name, steering the separation.

The MIDI API is whatever python-rtmidi was built with and can open here: ALSA sequencer or JACK
MIDI on Linux (without an ALSA sequencer, e.g. in a container, only JACK works), CoreMIDI on
macOS, Windows MM. ``list_ports()`` gathers the input ports of every API that opens.

Timing: rtmidi calls :meth:`LiveMidiInput._on_message` on its own thread (JACK's process
thread under JACK). That callback never blocks: it stamps the event (``perf_counter``, and the
audio frame the session has reached), appends it to a bounded deque (full: the event is dropped
and counted) and returns. The engine's worker drains the deque before each hop and applies each
event to the hop whose audio it arrived with, then times it from arrival to the finished mask.

A port that disappears (its program quit, a cable pulled) is noticed by a watcher thread within
``WATCH_S``; the score then goes quiet (no notes) and the port is reopened when it comes back.
The audio never stops for MIDI.
"""

from __future__ import annotations

import collections
import os
import threading
import time

from ..errors import DeviceError
from ..score.source import ScoreGuidance, ScoreInput
from ..score.state import ScoreState

HINT = "run `rtsep midi-ports` to see the MIDI inputs"
QUEUE_MAX = 4096  # events waiting for the worker; at one hop of delay, never near full
WATCH_S = 0.5
ALSA_SEQ = "/dev/snd/seq"
VIRTUAL = "virtual"  # --midi virtual: open a port of our own for others to connect to
_PORT_LOST = object()  # queued by the watcher: the port went away


def _rtmidi():
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - a dependency
        raise DeviceError(f"python-rtmidi is not available ({exc})") from None
    return rtmidi


def _apis() -> list[int]:
    """The rtmidi APIs to try, in order: the system's own first, then JACK.

    ALSA is tried only where its sequencer device exists: opening it elsewhere fails anyway,
    after libasound has printed its complaint on stderr.
    """
    rtmidi = _rtmidi()
    compiled = [a for a in rtmidi.get_compiled_api()
                if a != rtmidi.API_LINUX_ALSA or os.path.exists(ALSA_SEQ)]
    order = [a for a in compiled if a != rtmidi.API_UNIX_JACK]
    return order + [a for a in compiled if a == rtmidi.API_UNIX_JACK]


def _open_client(api: int, name: str):
    """An rtmidi ``MidiIn`` on ``api``, or None when that API cannot open here."""
    rtmidi = _rtmidi()
    try:
        client = rtmidi.MidiIn(api, name=name, queue_size_limit=QUEUE_MAX)
        client.get_ports()  # JACK connects lazily: a missing server shows up here
        return client
    except (rtmidi.RtMidiError, RuntimeError, OSError):
        return None


def list_ports() -> list[dict]:
    """Every MIDI input port: dicts with ``api`` (name), ``index`` and ``name``."""
    rtmidi = _rtmidi()
    found = []
    for api in _apis():
        client = _open_client(api, "rtsep-list")
        if client is None:
            continue
        try:
            for i, name in enumerate(client.get_ports()):
                found.append({"api": rtmidi.get_api_display_name(api), "api_id": api,
                              "index": i, "name": name})
        finally:
            client.delete()
    return found


def format_ports(ports: list[dict]) -> str:
    if not ports:
        return ("no MIDI inputs found (is a JACK server or an ALSA sequencer running? "
                "`rtsep live --midi virtual` opens a port of its own)")
    width = max(len(p["api"]) for p in ports)
    return "\n".join(f"{p['api']:<{width}}  {p['name']}" for p in ports)


def match_port(ports: list[dict], spec: str) -> dict:
    """The one port ``spec`` names: an exact name (case-insensitive) or a unique part of one."""
    text = spec.strip().lower()
    if not ports:
        raise DeviceError(f"no MIDI inputs found; {HINT}")
    exact = [p for p in ports if p["name"].lower() == text]
    found = exact or [p for p in ports if text in p["name"].lower()]
    if not found:
        raise DeviceError(f"no MIDI input matches {spec!r}; {HINT}")
    if len(found) > 1 and len({p["name"] for p in found}) > 1:
        names = ", ".join(repr(p["name"]) for p in found)
        raise DeviceError(f"{spec!r} matches several MIDI inputs ({names}); {HINT}")
    return found[0]


class LiveMidiInput(ScoreInput):
    """A MIDI input port as the engine's score; see the module docstring.

    ``port``: a name (or part of one) from :func:`list_ports`, or ``"virtual"`` for a port of
    our own named ``client_name:score``. ``channels``: 0-based channels to follow (None: all).
    """

    kind = "midi"

    def __init__(self, port: str, channels=None, client_name: str = "rtsep",
                 guidance: ScoreGuidance | None = None, **state_kw):
        super().__init__(ScoreState(channels=channels, **state_kw), guidance)
        self.spec = port
        self.client_name = client_name
        self._queue: collections.deque = collections.deque()
        self._session = None
        self.port_lost = 0  # times the port went away
        self.connected = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._client = None
        self._open()

    # -- the port --------------------------------------------------------------------------
    def _open(self) -> None:
        if self.spec.strip().lower() == VIRTUAL:
            for api in _apis():
                client = _open_client(api, self.client_name)
                if client is not None:
                    client.open_virtual_port("score")
                    self._start(client, f"{self.client_name}:score (virtual)", None)
                    return
            raise DeviceError(f"no MIDI system can open a port here; {HINT}")
        port = match_port(list_ports(), self.spec)
        client = _open_client(port["api_id"], self.client_name)
        if client is None:
            raise DeviceError(f"cannot open MIDI input {port['name']!r}; {HINT}")
        self._connect(client, port)
        self._start(client, port["name"], port["api_id"])

    def _connect(self, client, port: dict) -> None:
        rtmidi = _rtmidi()
        try:
            # this client's own list: indices may differ from the listing's
            client.open_port(client.get_ports().index(port["name"]), "score")
        except (rtmidi.RtMidiError, RuntimeError, ValueError) as exc:
            raise DeviceError(f"cannot open MIDI input {port['name']!r}: {exc}; {HINT}") from None

    def _start(self, client, name: str, api) -> None:
        # Everything arrives, SysEx and clock included: the parser counts what it ignores.
        client.ignore_types(sysex=False, timing=False, active_sense=False)
        client.set_callback(self._on_message)
        self._client, self.port_name, self._api = client, name, api
        self.connected = True
        if api is not None:
            self._watcher = threading.Thread(target=self._watch, name="rtsep-midi-watch",
                                             daemon=True)
            self._watcher.start()

    def attach(self, session) -> None:
        """Stamp events with ``session``'s audio frame count (else: apply at the next hop)."""
        self._session = session

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=2 * WATCH_S)
        client, self._client = self._client, None
        if client is not None:
            try:
                client.cancel_callback()
                client.close_port()
                client.delete()
            except Exception:  # noqa: BLE001 - a port that vanished may fail to close; moot
                pass

    def _watch(self) -> None:
        """Notice a port that went away, and reconnect when a port of that name is back."""
        while not self._stop.wait(WATCH_S):
            client = self._client
            if client is None:
                return
            try:
                names = client.get_ports()
            except Exception:  # noqa: BLE001 - the MIDI system itself went away
                names = []
            here = self.port_name in names
            if self.connected and not here:
                self.connected = False
                self.port_lost += 1
                self._queue.append((time.perf_counter(), -1, _PORT_LOST))
            elif not self.connected and here:
                try:
                    client.close_port()
                    client.open_port(names.index(self.port_name), "score")
                    self.connected = True
                except Exception:  # noqa: BLE001 - try again on the next round
                    pass

    # -- rtmidi's thread: stamp and queue, nothing else -------------------------------------
    def _on_message(self, event, data=None) -> None:
        if len(self._queue) >= QUEUE_MAX:
            self.state.overflows += 1
            return
        session = self._session
        frame = session.frames if session is not None else -1
        self._queue.append((time.perf_counter(), frame, event[0]))

    # -- the engine's worker ----------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._queue.clear()

    def _apply_until(self, t: float) -> None:
        q, st = self._queue, self.state
        end = t * self.sr
        while q:
            stamp, frame, message = q[0]
            if frame >= end:
                break  # it arrived with audio of a later hop
            q.popleft()
            if message is _PORT_LOST:
                st.release_all()  # its notes will never end: the voice is not known now
                continue
            st.receive(message, frame / self.sr if frame >= 0 else t)
            self._arrivals.append(stamp)

    def status_text(self) -> str:
        text = super().status_text()
        return text if self.connected else text + " | MIDI port gone, waiting for it"

    def summary(self) -> dict:
        return {**super().summary(), "port": self.port_name, "port_lost": self.port_lost}
