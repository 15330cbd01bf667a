"""Setting up a live session from the ``rtsep live`` options.

``build_session`` picks the devices, the rate and the channels and returns a ready
:class:`~rtsep.live.session.LiveSession`: the engine runs at the input device's rate; a file is
played at its own rate when the output device accepts it, else resampled. Choices made for the
user (which channels of a many-channel source, a blocksize unlike the device period) are
noted in ``session.notes``, never made silently.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError, DeviceError
from .devices import HINT
from .session import burst_frames


def build_session(source: str, *, out: str = "karaoke", device=None, in_device=None,
                  out_device=None, config=None, blocksize=None, extra_buffer_hops=None,
                  in_channels: str | None = None, loop: bool = False,
                  score=None):
    """A :class:`LiveSession` for ``source`` (``"mic"`` or an audio file path).

    ``device`` names both directions; ``in_device``/``out_device`` override it.
    ``in_channels`` picks the input channels to separate (``"3-4"``, ``"1"``; 1-based); by
    default the first two, with a note when the source has more. ``blocksize`` defaults to the
    JACK server's period on JACK (else one hop) and ``extra_buffer_hops`` to
    :func:`default_buffer_hops`. What was chosen for the user is in ``session.notes``.
    ``score`` (a ``rtsep.score.ScoreInput``, or None) is followed by the engine. The engine is
    warmed by ``LiveSession.run``, not here.
    """
    from ..core.engine import Engine
    from .devices import device_info, resolve_device
    from .session import LiveSession

    notes: list[str] = []
    out_idx = resolve_device(out_device if out_device is not None else device, "output")
    out_info = device_info(out_idx, "output")
    need_out = 4 if out == "both" else 1
    if out_info["max_output_channels"] < need_out:
        raise DeviceError(f"--out {out} needs {need_out} output channels; {out_info['name']} has "
                          f"{out_info['max_output_channels']}; {HINT}")
    out_channels = 4 if out == "both" else min(2, out_info["max_output_channels"])
    period = _device_period(out_info)
    if source == "mic":
        in_idx = resolve_device(in_device if in_device is not None else device, "input")
        in_info = device_info(in_idx, "input")
        sr = int(round(in_info["default_samplerate"]))
        _check_rate(in_idx, out_idx, sr, in_info, out_info)
        offset, channels = pick_channels(in_channels, in_info["max_input_channels"],
                                         f"input {in_info['name']}", notes)
        engine = Engine(sr, channels, config, score=score)
        kw = dict(input_device=in_idx, output_device=out_idx, input_offset=offset)
        src = "mic"
    else:
        x, sr = read_audio_file(source)
        offset, channels = pick_channels(in_channels, x.shape[0], source, notes)
        x, sr = _at_device_rate(x[offset : offset + channels], sr, out_idx, out_info, out_channels)
        engine = Engine(sr, x.shape[0], config, score=score)
        kw = dict(output_device=out_idx, loop=loop)
        src = x
    blocksize = _pick_blocksize(blocksize, period, engine.hop, sr, notes)
    hops = default_buffer_hops(engine.hop, sr) if extra_buffer_hops is None else extra_buffer_hops
    session = LiveSession(engine, src, out=out, blocksize=blocksize, extra_buffer_hops=hops,
                          out_channels=out_channels, device_period=period, **kw)
    session.notes = notes
    return session


# Output buffering beyond one period: slack against a late worker or a late device timer. The
# soak benchmark (BENCHMARKS.md, "Live soak") on the busy 2-core VM: 5.8 ms of slack gave 2
# xruns per 10,000 hops at the default preset and 19 at low latency; 11.6 ms gave none in 3
# minutes at either. To be measured again on a quiet machine before it is lowered.
SLACK_MS = 10.0


def default_buffer_hops(hop: int, sr: int) -> int:
    """Extra hops of output buffering for ``--buffer-hops`` unset: at least ``SLACK_MS`` of
    slack, at least one hop (2 hops of 5.8 ms at the default preset, 4 of 2.9 ms at low
    latency)."""
    hop_ms = 1000.0 * hop / sr
    return max(1, math.ceil(SLACK_MS / hop_ms - 1e-9))


def pick_channels(spec: str | None, available: int, what: str, notes: list) -> tuple[int, int]:
    """``(offset, count)`` of the channels to separate out of ``available``.

    ``spec``: ``"A-B"`` or ``"A"``, 1-based and inclusive. Unset: the first two (or the one),
    with a note in ``notes`` when more are there, so no channel is dropped silently.
    """
    if available < 1:
        raise DeviceError(f"{what} has no channels; {HINT}")
    if spec is None or not str(spec).strip():
        count = min(2, available)
        if available > count:
            notes.append(f"{what} has {available} channels; separating channels 1-2 (choose "
                         "others with --in-channels, e.g. --in-channels 3-4)")
        return 0, count
    text = str(spec).strip()
    first, dash, last = text.partition("-")
    try:
        a = int(first)
        b = int(last) if dash else a
    except ValueError:
        raise ConfigError(f"--in-channels {text!r}: give a channel or a range, e.g. 1-2 or 3") from None
    if not (1 <= a <= b <= available):
        raise ConfigError(f"--in-channels {text}: {what} has channels 1 to {available}")
    return a - 1, b - a + 1


def _device_period(out_info: dict) -> int | None:
    """The JACK server's period when the device is a JACK one, else None (unknown)."""
    if "jack" not in out_info.get("hostapi", "").lower():
        return None
    from .jackwatch import server_period

    return server_period()


def _pick_blocksize(blocksize, period, hop: int, sr: int, notes: list) -> int:
    """The callback size: the user's, else the device period when known, else one hop.

    A blocksize unlike the device's period makes PortAudio call back in bursts (two callbacks
    of 128 frames back to back every 256-frame JACK period): the session buffers for the
    burst, and the user is told, because the latency grows with it.
    """
    if blocksize is None:
        if period and (period > hop or (period % hop and hop % period)):
            extra = burst_frames(period, None) + hop - math.gcd(period, hop) - hop
            notes.append(f"the JACK period ({period} frames) does not match the hop ({hop}): "
                         f"the session buffers a whole period, {1000 * extra / sr:.1f} ms more "
                         f"than with a period of {hop} (jackd -p {hop})")
        return int(period or hop)
    blocksize = int(blocksize)
    if period and blocksize != period:
        notes.append(f"the JACK period is {period} frames but --blocksize is {blocksize}: PortAudio "
                     f"calls back in bursts, so {max(period, blocksize)} frames are buffered; "
                     "leave --blocksize unset to follow the period")
    if period is None and blocksize % hop and hop % blocksize:
        notes.append(f"--blocksize {blocksize} is not a multiple or divisor of the hop ({hop}); "
                     "the session buffers up to one more hop")
    return blocksize


def _check_rate(in_idx, out_idx, sr, in_info, out_info) -> None:
    import sounddevice as sd

    try:
        sd.check_output_settings(device=out_idx, samplerate=sr)
    except (sd.PortAudioError, ValueError):
        raise DeviceError(f"input {in_info['name']} runs at {sr} Hz but output {out_info['name']} "
                          f"does not accept that rate; choose devices that share a rate") from None


def read_audio_file(path) -> tuple[np.ndarray, int]:
    """``(channels, samples)`` float and its rate, or a one-line AudioFileError."""
    from ..io.audio import read_audio

    return read_audio(path)


def _at_device_rate(x, sr, out_idx, out_info, out_channels) -> tuple[np.ndarray, int]:
    """``x`` as float32 at a rate the output device accepts (its own when it can)."""
    import sounddevice as sd

    try:
        sd.check_output_settings(device=out_idx, samplerate=sr, channels=out_channels)
        return np.ascontiguousarray(x, dtype=np.float32), int(sr)
    except (sd.PortAudioError, ValueError):
        pass
    target = int(round(out_info["default_samplerate"]))
    import librosa

    y = librosa.resample(x, orig_sr=sr, target_sr=target, axis=-1)
    return np.ascontiguousarray(y, dtype=np.float32), target


def check_blocksize(blocksize) -> int | None:
    if blocksize is not None and not (16 <= int(blocksize) <= 8192):
        raise ConfigError(f"--blocksize must lie between 16 and 8192 frames, got {blocksize}")
    return blocksize
