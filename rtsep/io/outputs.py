"""Writing stems block by block, still atomically, or as one WAV stream to standard output.

``AudioOutputs`` opens one sound file per stem in a temporary beside its target (through
``rtsep.io.atomic.AtomicSet``), takes ``(channels, n)`` blocks as they are separated, and on
``commit()`` closes them and renames every file of the set into place, together with any extra
files the caller wrote into ``temp(path)`` (a picture, a summary). An error or an interruption
before that leaves nothing. A full disk or a file size limit surfaces as one ``OutputError``.

``StdoutWav`` writes a 32-bit float WAV of a known length to a binary stream (standard output
in a pipeline). A stream cannot be taken back: if the separation fails midway, the stream ends
early and the command's exit status says so.
"""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import OutputError
from .atomic import AtomicSet

# --format NAME: (libsndfile format, subtype, file extension)
FORMATS = {"wav": ("WAV", "FLOAT", "wav"), "flac": ("FLAC", "PCM_24", "flac"),
           "ogg": ("OGG", "VORBIS", "ogg")}
_PCM_LIMIT = {"PCM_24": 1.0 - 2.0 ** -23, "PCM_16": 1.0 - 2.0 ** -15}
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def _why_short(path: Path) -> str:
    """Why a write came up short: a full disk if the folder has (almost) no room left."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if free is not None and free < (1 << 20):
        return f"no space left on the device ({free // 1024} KiB free)"
    return "the write was cut short (a full disk or a file size limit)"


class AudioOutputs:
    """Stems ``{name: path}`` at ``sr`` Hz with ``channels`` channels in ``fmt`` (``FORMATS``);
    ``extra`` paths join the set (write them into ``temp(path)`` before ``commit``)."""

    def __init__(self, stems: dict[str, Path], sr: int, channels: int, fmt: str = "wav",
                 extra=()):
        if fmt not in FORMATS:
            raise OutputError(f"unknown output format {fmt!r}; choose one of "
                              f"{', '.join(FORMATS)}")
        self.stems = {name: Path(p) for name, p in stems.items()}
        self.sr, self.channels = int(sr), int(channels)
        self.format, self.subtype, _ = FORMATS[fmt]
        self._set = AtomicSet([*self.stems.values(), *extra])
        self._files: dict[str, sf.SoundFile] = {}

    def __enter__(self) -> "AudioOutputs":
        self._set.__enter__()
        try:
            for name, path in self.stems.items():
                tmp = self._set.temp(path)
                try:
                    f = sf.SoundFile(str(tmp), "w", samplerate=self.sr, channels=self.channels,
                                     format=self.format, subtype=self.subtype)
                except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                    raise OutputError(f"cannot write {path} as {self.format} with "
                                      f"{self.channels} channels: {' '.join(str(exc).split())}"
                                      ) from None
                self._files[name] = f
                try:  # the float-WAV PEAK chunk holds a timestamp: equal audio, unequal files
                    sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
                except AttributeError:
                    pass
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def temp(self, path) -> Path:
        return self._set.temp(path)

    def write(self, name: str, block: np.ndarray) -> None:
        """Append ``block`` ``(channels, n)`` to stem ``name``."""
        if block.shape[1] == 0:
            return
        frames = block.T
        limit = _PCM_LIMIT.get(self.subtype)
        if limit is not None:  # libsndfile wraps around instead of clipping integer formats
            frames = np.clip(frames, -1.0, limit)
        try:
            self._files[name].write(frames)
        except (AssertionError, RuntimeError, OSError) as exc:
            path = self.stems[name]
            reason = _why_short(path) if isinstance(exc, (AssertionError, RuntimeError)) \
                else " ".join(str(exc.strerror or exc).split())
            raise OutputError(f"cannot write {path}: {reason}") from None

    def commit(self) -> list[Path]:
        """Finish every file and publish the whole set."""
        for name in list(self._files):
            f = self._files.pop(name)
            try:
                f.close()
            except (AssertionError, RuntimeError, OSError):
                raise OutputError(f"cannot write {self.stems[name]}: "
                                  f"{_why_short(self.stems[name])}") from None
        return self._set.commit()

    def __exit__(self, *exc) -> None:
        for f in self._files.values():
            try:
                f.close()
            except Exception:  # already failing: the temporaries go anyway
                pass
        self._files.clear()
        self._set.__exit__(*exc)


class StdoutWav:
    """A 32-bit float WAV of ``frames`` x ``channels`` at ``sr`` Hz, streamed to ``stream``
    (binary). The header comes first, so the length must be known."""

    def __init__(self, stream, sr: int, channels: int, frames: int):
        self.stream, self.channels = stream, int(channels)
        data_bytes = int(frames) * self.channels * 4
        if data_bytes + 50 >= 1 << 32:
            raise OutputError("the output is too long for a WAV stream (4 GiB); write files")
        block_align = 4 * self.channels
        fmt = struct.pack("<HHIIHHH", 3, self.channels, int(sr), int(sr) * block_align,
                          block_align, 32, 0)  # IEEE float, cbSize 0
        fact = struct.pack("<I", int(frames))
        header = (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(fact) + 8 + data_bytes)
                  + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
                  + b"fact" + struct.pack("<I", len(fact)) + fact
                  + b"data" + struct.pack("<I", data_bytes))
        self._write(header)

    def _write(self, data: bytes) -> None:
        try:
            self.stream.write(data)
        except BrokenPipeError:
            raise OutputError("cannot write to standard output: the reader went away "
                              "(broken pipe)") from None
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: "
                              f"{' '.join(str(exc.strerror or exc).split())}") from None

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` ``(channels, n)``."""
        self._write(np.ascontiguousarray(block.T, dtype="<f4").tobytes())

    def close(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise OutputError("cannot write to standard output: the reader went away "
                              "(broken pipe)") from None
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: {exc.strerror}") from None


def output_extension(fmt: str) -> str:
    return FORMATS[fmt][2]
