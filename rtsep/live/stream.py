"""Setting up a live session: pick devices, rate and channels, open the stream, print status.

``build_session`` turns the ``rtsep live`` options into a ready :class:`~rtsep.live.session.LiveSession`
(the engine is built at the device's rate; a file is played at its own rate when the device
accepts it, else resampled). ``open_stream`` opens the sounddevice stream a session needs and
turns PortAudio failures into one-line ``DeviceError``s.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError, DeviceError

_HINT = "run `rtsep devices` to see the devices"


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
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DeviceError(f"cannot open the audio stream at {session.sr} Hz: {msg}; {_HINT}") from None


def layout_hop(out: np.ndarray, vocals: np.ndarray, dry: np.ndarray, mode: str) -> None:
    """Fill one output hop ``out`` ``(ring channels, hop)`` for ``--out mode``.

    ``vocals`` and ``dry`` (the input hop they belong to) are ``(engine channels, hop)``; the
    karaoke is ``dry - vocals``. A mono engine's signal goes to every channel of its group.
    """
    if mode == "sum":  # vocals + karaoke: the delayed input itself
        out[:] = dry.mean(axis=0) if out.shape[0] != dry.shape[0] else dry
        return
    karaoke = dry - vocals
    groups = {"vocals": [vocals], "karaoke": [karaoke], "both": [vocals, karaoke]}[mode]
    width = out.shape[0] // len(groups)
    for g, sig in enumerate(groups):
        dst = out[g * width : (g + 1) * width]
        if sig.shape[0] == width:
            dst[:] = sig
        elif sig.shape[0] == 1:
            dst[:] = sig[0]
        else:
            dst[:] = sig.mean(axis=0)


def stream_xrun_flags(status) -> bool:
    """True when PortAudio reports lost or invented frames in a callback's ``status``."""
    return bool(status.input_overflow or status.input_underflow
                or status.output_overflow or status.output_underflow)


def build_session(source: str, *, out: str = "karaoke", device=None, in_device=None,
                  out_device=None, config=None, blocksize=None, extra_buffer_hops: int = 2):
    """A :class:`LiveSession` for ``source`` (``"mic"`` or an audio file path).

    ``device`` names both directions; ``in_device``/``out_device`` override it. The engine is
    warmed by ``LiveSession.run``, not here.
    """
    from .devices import device_info, resolve_device
    from ..core.engine import Engine
    from .session import LiveSession

    out_idx = resolve_device(out_device if out_device is not None else device, "output")
    out_info = device_info(out_idx, "output")
    need_out = 4 if out == "both" else 1
    if out_info["max_output_channels"] < need_out:
        raise DeviceError(f"--out {out} needs {need_out} output channels; {out_info['name']} has "
                          f"{out_info['max_output_channels']}; {_HINT}")
    out_channels = 4 if out == "both" else min(2, out_info["max_output_channels"])
    if source == "mic":
        in_idx = resolve_device(in_device if in_device is not None else device, "input")
        in_info = device_info(in_idx, "input")
        sr = int(round(in_info["default_samplerate"]))
        _check_rate(in_idx, out_idx, sr, in_info, out_info)
        channels = min(2, in_info["max_input_channels"])
        engine = Engine(sr, channels, config)
        return LiveSession(engine, "mic", input_device=in_idx, output_device=out_idx, out=out,
                           blocksize=blocksize, extra_buffer_hops=extra_buffer_hops,
                           out_channels=out_channels)
    x, sr = _file_at_device_rate(source, out_idx, out_info, out_channels)
    engine = Engine(sr, x.shape[0], config)
    return LiveSession(engine, x, output_device=out_idx, out=out, blocksize=blocksize,
                       extra_buffer_hops=extra_buffer_hops, out_channels=out_channels)


def _check_rate(in_idx, out_idx, sr, in_info, out_info) -> None:
    import sounddevice as sd

    try:
        sd.check_output_settings(device=out_idx, samplerate=sr)
    except (sd.PortAudioError, ValueError):
        raise DeviceError(f"input {in_info['name']} runs at {sr} Hz but output {out_info['name']} "
                          f"does not accept that rate; choose devices that share a rate") from None


def _file_at_device_rate(path, out_idx, out_info, out_channels) -> tuple[np.ndarray, int]:
    """The file as ``(channels<=2, samples)`` float32 at a rate the output device accepts."""
    import sounddevice as sd

    from ..io.audio import read_audio

    x, sr = read_audio(path)
    if x.shape[0] > 2:
        x = x[:2]  # the engine separates a stereo pair; extra channels are not played
    try:
        sd.check_output_settings(device=out_idx, samplerate=sr, channels=out_channels)
        return x.astype(np.float32), int(sr)
    except (sd.PortAudioError, ValueError):
        pass
    target = int(round(out_info["default_samplerate"]))
    import librosa

    y = librosa.resample(x, orig_sr=sr, target_sr=target, axis=-1)
    return np.ascontiguousarray(y, dtype=np.float32), target


def _conf(value) -> str:
    return "  --" if value is None or not math.isfinite(value) else f"{value:4.2f}"


def confidence_text(engine) -> str:
    """The active candidate's confidence, or with several candidates each one's, the active
    one marked with '*' (paper 004: the engine follows the most confident)."""
    candidates = getattr(engine, "candidates", [])
    if len(candidates) <= 1:
        return _conf(getattr(getattr(engine, "confidence", None), "value", None))
    active = engine.active
    return " ".join(f"{c.name}{'*' if c is active else ''} {_conf(c.confidence.value)}"
                    for c in candidates)


def status_line(session) -> str:
    """One line: latency, compute per hop over the last second, xruns, cheap hops, confidence."""
    sr, hop = session.sr, session.hop
    p50, p99 = session.compute_stats(last_hops=max(1, sr // hop))
    hop_ms = 1000.0 * hop / sr
    buf = session.device_latency_samples()
    lat_ms = 1000.0 * (session.measured_latency_samples + buf) / sr
    conf_text = confidence_text(session.engine)
    return (f"latency {lat_ms:5.1f} ms (session {1000 * session.measured_latency_samples / sr:.1f}"
            f" + device {1000 * buf / sr:.1f}) | compute {1000 * p50:4.2f}/{1000 * p99:4.2f} ms "
            f"({1e5 * p50 / hop_ms:3.0f}%/{1e5 * p99 / hop_ms:3.0f}% of hop)"
            f" | xruns {session.xruns} (device {session.device_xruns}) | cheap {session.engine.cheap_hops}"
            f" | confidence {conf_text}")


def format_summary(s: dict) -> str:
    """The end-of-run summary as a few lines of text."""
    return "\n".join([
        f"ran {s['duration_s']:.1f} s, {s['hops']} hops of {s['hop']} samples at {s['samplerate']} Hz",
        f"xruns {s['xruns']} (plus {s['device_xruns']} reported by the audio device),"
        f" cheap hops {s['cheap_hops']}",
        f"compute per hop p50 {s['compute_p50_ms']:.2f} ms, p99 {s['compute_p99_ms']:.2f} ms"
        f" ({s['compute_p99_percent_of_hop']:.0f}% of the hop)",
        f"latency {s['latency_ms'] + s['device_latency_ms']:.1f} ms = session "
        f"{s['latency_ms']:.1f} (algorithmic {s['algorithmic_latency_ms']:.1f} + buffering) + device "
        f"{s['device_latency_ms']:.1f}",
    ])


def check_blocksize(blocksize) -> int | None:
    if blocksize is not None and not (16 <= int(blocksize) <= 8192):
        raise ConfigError(f"--blocksize must lie between 16 and 8192 frames, got {blocksize}")
    return blocksize


def close_stream(stream) -> None:
    """Stop and close ``stream``; PortAudio errors here (a vanished device) are not news."""
    import sounddevice as sd

    try:
        stream.stop(ignore_errors=True)
        stream.close(ignore_errors=True)
    except sd.PortAudioError:
        pass


def skip_portaudio_exit_handler() -> None:
    """Keep sounddevice from terminating PortAudio at exit after its server vanished.

    ``Pa_Terminate`` would wait forever for the dead JACK server; the OS frees everything.
    """
    import atexit

    import sounddevice as sd

    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)


def session_summary(self, wall_seconds: float) -> dict:
    """End-of-run numbers of a :class:`LiveSession` ``self``: counts, compute times (ms), latencies."""
    p50, p99 = self.compute_stats()
    hop_s = self.hop / self.sr
    return {
        "duration_s": self.frames / self.sr,
        "wall_s": wall_seconds,
        "hops": self.hops,
        "xruns": self.xruns,  # callbacks the session could not fill (compute was late)
        "device_xruns": self.device_xruns,  # callbacks the audio system flagged itself
        "input_overflows": self.input_overflows,
        "cheap_hops": int(self.engine.cheap_hops),
        "compute_p50_ms": 1000 * p50,
        "compute_p99_ms": 1000 * p99,
        "compute_p99_percent_of_hop": 100 * p99 / hop_s,
        "hop": self.hop,
        "samplerate": self.sr,
        "blocksize": self.blocksize,
        "latency_samples": self.measured_latency_samples,
        "latency_ms": 1000 * self.measured_latency_samples / self.sr,
        "algorithmic_latency_ms": 1000 * self.engine.latency_samples / self.sr,
        "device_latency_ms": 1000 * self.device_latency_samples() / self.sr,
        "signal_onset_sample": self.signal_onset,
        "xrun_frames": [int(f) for f in self.xrun_frames[: min(self.xruns, 64)]],
    }
