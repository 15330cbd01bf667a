"""Setting up a live session from the ``rtsep live`` options.

``build_session`` picks the devices, the rate and the channels and returns a ready
:class:`~rtsep.live.session.LiveSession`: the engine runs at the input device's rate; a file is
played at its own rate when the output device accepts it, else resampled.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DeviceError
from .devices import HINT


def build_session(source: str, *, out: str = "karaoke", device=None, in_device=None,
                  out_device=None, config=None, blocksize=None, extra_buffer_hops: int = 2,
                  score=None):
    """A :class:`LiveSession` for ``source`` (``"mic"`` or an audio file path).

    ``device`` names both directions; ``in_device``/``out_device`` override it. ``score`` (a
    ``rtsep.score.ScoreInput``, or None) is followed by the engine. The engine is warmed by
    ``LiveSession.run``, not here.
    """
    from ..core.engine import Engine
    from .devices import device_info, resolve_device
    from .session import LiveSession

    out_idx = resolve_device(out_device if out_device is not None else device, "output")
    out_info = device_info(out_idx, "output")
    need_out = 4 if out == "both" else 1
    if out_info["max_output_channels"] < need_out:
        raise DeviceError(f"--out {out} needs {need_out} output channels; {out_info['name']} has "
                          f"{out_info['max_output_channels']}; {HINT}")
    out_channels = 4 if out == "both" else min(2, out_info["max_output_channels"])
    if source == "mic":
        in_idx = resolve_device(in_device if in_device is not None else device, "input")
        in_info = device_info(in_idx, "input")
        sr = int(round(in_info["default_samplerate"]))
        _check_rate(in_idx, out_idx, sr, in_info, out_info)
        channels = min(2, in_info["max_input_channels"])
        engine = Engine(sr, channels, config, score)
        return LiveSession(engine, "mic", input_device=in_idx, output_device=out_idx, out=out,
                           blocksize=blocksize, extra_buffer_hops=extra_buffer_hops,
                           out_channels=out_channels)
    x, sr = _file_at_device_rate(source, out_idx, out_info, out_channels)
    engine = Engine(sr, x.shape[0], config, score)
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


def check_blocksize(blocksize) -> int | None:
    if blocksize is not None and not (16 <= int(blocksize) <= 8192):
        raise ConfigError(f"--blocksize must lie between 16 and 8192 frames, got {blocksize}")
    return blocksize
