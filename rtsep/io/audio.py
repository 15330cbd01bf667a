"""Reading and writing audio files, with one-line errors and atomic writes.

Arrays are channels-first, ``(channels, samples)``, float64 in [-1, 1) on reading. Sample rates
are integers in Hz. Anything wrong with a user's file raises an ``RtsepError`` subclass whose
message is one line naming the file (``OutputError`` when the output side fails); nothing here
lets a traceback reach the user.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from ..config import MAX_CHANNELS
from ..errors import AudioFileError, ConfigError
from .atomic import atomic_write_set
from .reader import AudioReader

_WRITE_FORMATS = {".wav": ("WAV", "FLOAT"), ".flac": ("FLAC", "PCM_24"),
                  ".ogg": ("OGG", "VORBIS"), ".aiff": ("AIFF", "FLOAT"), ".aif": ("AIFF", "FLOAT")}
_PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a whole audio file as ``(x (channels, samples) float64, sr Hz)``.

    Raises ``AudioFileError`` for a missing, empty, undecodable or non-finite file, or one with
    more than 64 channels, and ``ConfigError`` for a sample rate outside 8-96 kHz. A silent file
    is returned as it is (see ``is_silent``). ``rtsep.io.reader.AudioReader`` reads in blocks.
    """
    with AudioReader(path) as reader:
        blocks = list(reader.blocks(1 << 20, check_finite=False))
        sr, name = reader.sr, reader.name
    x = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad.any(axis=0)))
        raise AudioFileError(f"{name} has {int(bad.sum())} non-finite samples (NaN or Inf), "
                             f"the first at {first / sr:.3f} s")
    return x, int(sr)


def is_silent(x: np.ndarray, threshold_db: float = -120.0) -> bool:
    """True when every sample of ``x`` (any shape) is below ``threshold_db`` dBFS in magnitude."""
    return x.size == 0 or float(np.max(np.abs(x))) <= 10.0 ** (threshold_db / 20.0)


def _prepare(path: Path, x: np.ndarray, sr: int, subtype: str | None):
    """Check ``x`` and choose the format.

    Returns ``(frames (samples, channels) float64, format, subtype)``.
    """
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[0] > MAX_CHANNELS:
        raise ConfigError(f"cannot write {path}: expected (channels, samples) with 1-"
                          f"{MAX_CHANNELS} channels, got shape {tuple(x.shape)}")
    if not np.all(np.isfinite(x)):
        raise AudioFileError(f"refusing to write {path}: {int((~np.isfinite(x)).sum())} "
                             "samples are NaN or Inf")
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ConfigError(f"cannot write {path}: sample rate must be a positive integer, got {sr}")
    ext = path.suffix.lower()
    if ext not in _WRITE_FORMATS:
        raise ConfigError(f"cannot write {path}: unknown audio extension '{ext}' "
                          f"(use one of {', '.join(sorted(_WRITE_FORMATS))})")
    fmt, default_subtype = _WRITE_FORMATS[ext]
    subtype = subtype or default_subtype
    if not sf.check_format(fmt, subtype):
        raise ConfigError(f"cannot write {path}: {fmt} files do not support subtype {subtype}")
    frames = x.T.astype(np.float64)
    if subtype in _PCM_BITS:
        # libsndfile wraps around instead of clipping when floats overflow an integer format.
        frames = np.clip(frames, -1.0, 1.0 - 2.0 ** (1 - _PCM_BITS[subtype]))
    return frames, fmt, subtype


_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _no_peak_chunk(out: sf.SoundFile) -> None:
    """Leave out the float-WAV PEAK chunk: it holds a timestamp, so equal audio made unequal
    files."""
    try:
        sf._snd.sf_command(out._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    except AttributeError:  # soundfile without these internals: valid files, not bitwise equal
        pass


def _sound_writer(frames: np.ndarray, sr: int, fmt: str, subtype: str):
    """A writer for ``rtsep.io.atomic``: ``frames`` ``(samples, channels)`` into a file path."""
    def write(tmp: str) -> None:
        try:
            with sf.SoundFile(tmp, "w", samplerate=int(sr), channels=frames.shape[1],
                              subtype=subtype, format=fmt) as out:
                _no_peak_chunk(out)
                out.write(frames)
        except (AssertionError, RuntimeError) as exc:
            # soundfile asserts that every frame was written: a full disk ends up here
            raise OSError(errno.EIO, "the write was cut short (is the disk full?)") from exc

    return write


def write_audio(path: str | os.PathLike, x: np.ndarray, sr: int,
                subtype: str | None = None) -> Path:
    """Write ``x (channels, samples)`` at ``sr`` Hz to ``path`` atomically; return the path.

    The default subtype is 32-bit float for .wav and 24-bit PCM for .flac. Parent folders are
    created. Either the complete file appears, or nothing does (no temporary is left behind).
    """
    return write_outputs_atomically({"audio": (path, x)}, sr, subtype)["audio"]


def write_outputs_atomically(outputs: dict[str, tuple[str | os.PathLike, np.ndarray]], sr: int,
                             subtype: str | None = None) -> dict[str, Path]:
    """Write several files as a set: ``{name: (path, x (channels, samples))}`` at ``sr`` Hz.

    Every file is checked first, then all are written to temporaries and renamed into place
    only when every one succeeded, so a failure never leaves some outputs new and others
    missing or stale.
    """
    writes = {}
    for path, x in outputs.values():
        path = Path(path)
        frames, fmt, chosen = _prepare(path, x, sr, subtype)
        writes[path] = _sound_writer(frames, sr, fmt, chosen)
    atomic_write_set(writes)
    return {name: Path(path) for name, (path, _) in outputs.items()}
