"""Audio devices through PortAudio (sounddevice): list them, resolve a user's choice.

PortAudio scans the devices once, when it initialises (``import sounddevice``); a JACK server
started later is seen only after :func:`rescan`. Every PortAudio failure is turned into a
one-line :class:`~rtsep.errors.DeviceError` that tells the user to run ``rtsep devices``.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from ..errors import DeviceError

# Every device error ends with this pointer.
HINT = "run `rtsep devices` to see the devices"
_client_name_buffer = None  # PortAudio keeps the pointer: the bytes must outlive the call


def _sd():
    """Import sounddevice lazily: it loads PortAudio, which scans every device."""
    global _exit_guard
    try:
        import sounddevice as sd
    except OSError as exc:  # libportaudio missing
        raise DeviceError(f"PortAudio is not available ({exc})") from None
    if not _exit_guard:  # registered after sounddevice's own exit handler, so it runs first
        import atexit

        atexit.register(_skip_terminate_if_jack_died)
        _exit_guard = True
    return sd


_exit_guard = False


def _skip_terminate_if_jack_died() -> None:
    """At exit: if PortAudio uses JACK and the server has died, do not terminate PortAudio.

    ``Pa_Terminate`` closes PortAudio's JACK client, and its JACK code asserts (the process
    aborts with status -6) when the server is gone, e.g. a server killed while rtsep was
    starting up. The OS frees what PortAudio holds.
    """
    import sounddevice as sd

    try:
        uses_jack = any("jack" in api["name"].lower() for api in sd.query_hostapis())
    except Exception:  # PortAudio already terminated, or never initialised
        return
    if uses_jack:
        from .jackwatch import server_alive

        if not server_alive():
            skip_portaudio_exit_handler()


def skip_portaudio_exit_handler() -> None:
    """Keep sounddevice from terminating PortAudio at exit after its server vanished.

    ``Pa_Terminate`` would wait forever for the dead JACK server; the OS frees everything.
    """
    import atexit

    import sounddevice as sd

    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)


def rescan(jack_client_name: str | None = None) -> None:
    """Re-initialise PortAudio so it sees devices that appeared since it started.

    ``jack_client_name`` names this process's JACK client (default ``PortAudio``), so other
    programs can connect its ports (``NAME:in_0``, ``NAME:out_0``, ...).
    """
    sd = _sd()
    sd._terminate()
    if jack_client_name:
        _set_jack_client_name(jack_client_name)
    sd._initialize()


def _set_jack_client_name(name: str) -> None:
    global _client_name_buffer
    path = ctypes.util.find_library("portaudio")
    if path is None:
        return
    lib = ctypes.CDLL(path)  # the same library sounddevice loaded: dlopen returns one handle
    setter = getattr(lib, "PaJack_SetClientName", None)
    if setter is None:  # PortAudio built without JACK
        return
    setter.argtypes = [ctypes.c_char_p]
    _client_name_buffer = ctypes.create_string_buffer(name.encode())
    setter(_client_name_buffer)


def list_devices() -> list[dict]:
    """Every device PortAudio sees, as dicts.

    Keys: ``index``, ``name``, ``hostapi`` (name), ``max_input_channels``,
    ``max_output_channels``, ``default_samplerate`` (Hz), ``default_input`` and
    ``default_output`` (bools).
    """
    sd = _sd()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from None
    out = []
    for dev in devices:
        out.append(
            {
                "index": int(dev["index"]),
                "name": str(dev["name"]),
                "hostapi": str(hostapis[dev["hostapi"]]["name"]),
                "max_input_channels": int(dev["max_input_channels"]),
                "max_output_channels": int(dev["max_output_channels"]),
                "default_samplerate": float(dev["default_samplerate"]),
                "default_input": int(dev["index"]) == default_in,
                "default_output": int(dev["index"]) == default_out,
            }
        )
    return out


def resolve_device(spec: str | int | None, kind: str) -> int | None:
    """The PortAudio index of the device ``spec`` names, for ``kind`` ``"input"``/``"output"``.

    ``spec`` is an index (int or digits) or a case-insensitive substring of the name; an
    exact (case-insensitive) name wins over substrings. ``None`` or ``""`` means the default
    device and returns ``None``. Unknown, ambiguous or channel-less devices raise DeviceError.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', got {kind!r}")
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        _check_default(kind)
        return None
    return match_device(list_devices(), spec, kind)


def match_device(devices: list[dict], spec: str | int, kind: str) -> int:
    """The index of the one device in ``devices`` (dicts of :func:`list_devices`) ``spec`` names."""
    if not devices:
        raise DeviceError(f"no audio devices found; {HINT}")
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    text = str(spec).strip()
    if isinstance(spec, int) or text.lstrip("-").isdigit():
        index = int(text)
        match = [d for d in devices if d["index"] == index]
        if not match:
            raise DeviceError(f"no audio device with index {index}; {HINT}")
        dev = match[0]
    else:
        low = text.lower()
        exact = [d for d in devices if d["name"].lower() == low and d[key] > 0]
        found = exact or [d for d in devices if low in d["name"].lower() and d[key] > 0]
        if not found:
            raise DeviceError(f"no {kind} device matches {text!r}; {HINT}")
        if len(found) > 1:
            names = ", ".join(f"{d['index']}: {d['name']}" for d in found)
            raise DeviceError(f"{text!r} matches several {kind} devices ({names}); {HINT}")
        dev = found[0]
    if dev[key] < 1:
        raise DeviceError(f"device {dev['index']} ({dev['name']}) has no {kind} channels; {HINT}")
    return dev["index"]


def _check_default(kind: str) -> None:
    sd = _sd()
    try:
        sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError):
        raise DeviceError(f"there is no default {kind} device; {HINT}") from None


def device_info(index: int | None, kind: str) -> dict:
    """The dict of :func:`list_devices` for ``index`` (``None``: the default ``kind`` device)."""
    sd = _sd()
    try:
        dev = sd.query_devices(index, kind=kind) if index is None else sd.query_devices(index)
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError(f"audio device {index if index is not None else kind} is not available ({exc}); {HINT}") from None
    return next(d for d in list_devices() if d["index"] == int(dev["index"]))


def format_table(devices: list[dict]) -> str:
    """A plain-text table of :func:`list_devices` for the terminal."""
    if not devices:
        return "no audio devices found (is a sound server such as JACK running?)"
    rows = [("", "#", "name", "host API", "in", "out", "rate")]
    for d in devices:
        mark = (">" if d["default_input"] else " ") + ("<" if d["default_output"] else " ")
        rows.append(
            (mark, str(d["index"]), d["name"], d["hostapi"], str(d["max_input_channels"]),
             str(d["max_output_channels"]), f"{d['default_samplerate']:.0f}")
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append("> default input, < default output")
    return "\n".join(lines)
