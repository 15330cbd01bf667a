"""The sounddevice stream of a live session: open it, close it, read its xrun flags.

PortAudio failures become one-line ``DeviceError``s that point at ``rtsep devices``.
"""

from __future__ import annotations

from ..errors import DeviceError
from .devices import HINT, skip_portaudio_exit_handler


def open_stream(session):
    """A sounddevice ``Stream`` (mic) or ``OutputStream`` (file) wired to ``session``."""
    import sounddevice as sd

    kw = dict(samplerate=session.sr, blocksize=session.blocksize, dtype="float32", latency="low")
    try:
        if session.mic:
            return sd.Stream(
                device=(session.input_device, session.output_device),
                channels=(session.input_offset + session.channels, session.device_out_channels),
                callback=session._callback, **kw)
        return sd.OutputStream(device=session.output_device, channels=session.device_out_channels,
                               callback=session._output_callback, **kw)
    except (sd.PortAudioError, ValueError) as exc:
        if _on_jack(session.output_device):
            from .jackwatch import server_alive

            if not server_alive():  # PortAudio would blame "insufficient memory"
                raise DeviceError("the JACK server stopped while the audio stream was opening; "
                                  "restart it and run again") from None
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeviceError(f"cannot open the audio stream at {session.sr} Hz: {msg}; {HINT}") from None


def _on_jack(device) -> bool:
    """True when ``device`` (an index, or None for the default output) is a JACK device."""
    import sounddevice as sd

    try:
        info = sd.query_devices(device, kind="output") if device is None else sd.query_devices(device)
        return "jack" in sd.query_hostapis(info["hostapi"])["name"].lower()
    except (sd.PortAudioError, ValueError, TypeError):
        return False


def start_stream(session) -> None:
    """Start ``session.stream``; a failure (its server died after the stream opened) is a
    ``DeviceError``, and the stream is then never touched again (see :func:`abandon`)."""
    import sounddevice as sd

    try:
        session.stream.start()
    except sd.PortAudioError as exc:
        abandon(session)
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeviceError(f"the audio device stopped before the stream started ({msg}; "
                          f"has its server stopped?); {HINT}") from None


def abandon(session) -> None:
    """Leave a stream whose device or server is gone as it is, for the OS to free at exit.

    PortAudio's JACK code asserts when it unregisters ports of a dead server: closing such a
    stream, or terminating PortAudio at exit, would abort the process (exit status -6).
    """
    session._device_lost = True
    skip_portaudio_exit_handler()


def is_jack_stream(stream) -> bool:
    """True when ``stream`` runs on the JACK host API."""
    import sounddevice as sd

    try:
        devices = stream.device if isinstance(stream.device, tuple) else (stream.device,)
        apis = {sd.query_hostapis(sd.query_devices(d)["hostapi"])["name"] for d in devices}
    except (sd.PortAudioError, ValueError, TypeError):
        return False
    return any("jack" in name.lower() for name in apis)


def stream_xrun_flags(status) -> bool:
    """True when PortAudio reports lost or invented frames in a callback's ``status``."""
    return bool(status.input_overflow or status.input_underflow
                or status.output_overflow or status.output_underflow)


def close_stream(stream) -> None:
    """Stop and close ``stream``; PortAudio errors here (a vanished device) are not news."""
    import sounddevice as sd

    try:
        stream.stop(ignore_errors=True)
        stream.close(ignore_errors=True)
    except sd.PortAudioError:
        pass
