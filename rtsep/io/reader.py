"""Reading audio a block at a time, from a file or from standard input, with one-line errors.

``AudioReader(path)`` opens a file (``"-"`` is standard input), checks it and exposes ``sr``,
``channels`` and ``frames``; ``blocks(n)`` yields ``(channels, <= n)`` float64 arrays, so a
file of any length is read in constant memory. Formats libsndfile reads are read directly;
others (m4a, aac, wma, ...) are decoded by ffmpeg into a temporary WAV first, and standard
input is copied to a temporary file whose format is sniffed from its content (libsndfile,
then ffmpeg). Temporaries go to the system's temporary folder and are removed by ``close``.

Errors are ``AudioFileError`` (``ConfigError`` for an unsupported sample rate) with a message
of one line naming the file; a non-finite sample is reported when its block is read.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ..config import MAX_CHANNELS, MAX_SR, MIN_SR
from ..errors import AudioFileError, ConfigError
from ..interrupts import deferred

# libsndfile decodes these itself; anything else goes through ffmpeg.
SOUNDFILE_EXTENSIONS = {
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
    ".au", ".snd", ".caf", ".w64", ".rf64", ".raw",
}
# What a folder search picks up: the above and the usual ffmpeg-only containers.
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS - {".raw"} | {
    ".m4a", ".aac", ".mp4", ".wma", ".webm", ".mka", ".ape", ".wv", ".ac3", ".alac", ".aifc",
}
STDIN = "-"
_DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError, ValueError)


def one_line(text: object) -> str:
    return " ".join(str(text).split())


class AudioReader:
    """One audio input read in blocks; a context manager (``close`` removes temporaries)."""

    def __init__(self, path: str | os.PathLike):
        self.name = "standard input" if str(path) == STDIN else str(path)
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._file: sf.SoundFile | None = None
        self.position = 0
        try:
            self._open(path)
        except BaseException:
            self.close()
            raise

    # -- opening -----------------------------------------------------------------------------
    def _open(self, path) -> None:
        if str(path) == STDIN or _is_stream(Path(path)):
            # standard input, a named pipe, /dev/stdin: copied to a file, format sniffed
            source = self._spool(sys.stdin.buffer if str(path) == STDIN else Path(path))
            try:
                self._file = sf.SoundFile(str(source))
            except _DECODE_ERRORS:
                self._file = self._ffmpeg(source)
        else:
            source = Path(path)
            _check_file(source)
            if source.suffix.lower() in SOUNDFILE_EXTENSIONS:
                try:
                    self._file = sf.SoundFile(str(source))
                except _DECODE_ERRORS as exc:
                    raise AudioFileError(f"cannot decode {source}: not audio rtsep can read "
                                         f"({one_line(exc)})") from None
                except OSError as exc:
                    raise AudioFileError(f"cannot read {source}: "
                                         f"{one_line(exc.strerror or exc)}") from None
            else:
                self._file = self._ffmpeg(source)
        f = self._file
        self.sr, self.channels, self.frames = int(f.samplerate), int(f.channels), int(f.frames)
        check_rate_and_channels(self.name, self.sr, self.channels)
        if self.frames <= 0:
            raise AudioFileError(f"{self.name} holds no audio samples (0 frames)")

    def _tempdir(self) -> Path:
        if self._tmp is None:
            with deferred():  # made and recorded together, so close() removes it
                self._tmp = tempfile.TemporaryDirectory(prefix="rtsep-input-")
        return Path(self._tmp.name)

    def _spool(self, source) -> Path:
        """Copy a stream (standard input, a pipe) to a temporary file: decoders need to seek."""
        target = self._tempdir() / "input"
        try:
            with open(target, "wb") as out:
                if isinstance(source, Path):
                    with open(source, "rb") as stream:
                        shutil.copyfileobj(stream, out, 1 << 20)
                else:
                    shutil.copyfileobj(source, out, 1 << 20)
        except OSError as exc:
            raise AudioFileError(f"cannot read {self.name} into {target.parent}: "
                                 f"{one_line(exc.strerror or exc)}") from None
        if target.stat().st_size == 0:
            raise AudioFileError(f"{self.name} is empty (0 bytes)")
        return target

    def _ffmpeg(self, source: Path) -> sf.SoundFile:
        """Decode a format libsndfile lacks into a temporary float WAV and open that."""
        if shutil.which("ffmpeg") is None:
            raise AudioFileError(f"cannot decode {self.name}: not a format soundfile reads, and "
                                 "ffmpeg (needed for it) is not installed")
        wav = self._tempdir() / "decoded.wav"
        # Float output keeps the decoder's full resolution; -vn ignores cover art streams.
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(source), "-vn", "-map", "0:a:0",
               "-c:a", "pcm_f32le", "-f", "wav", "-rf64", "auto", str(wav)]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not wav.exists():
            lines = proc.stderr.strip().splitlines()
            reason = one_line(lines[-1]) if lines else f"ffmpeg exit status {proc.returncode}"
            raise AudioFileError(f"cannot decode {self.name}: not audio rtsep can read "
                                 f"({reason})")
        try:
            return sf.SoundFile(str(wav))
        except _DECODE_ERRORS as exc:
            raise AudioFileError(f"cannot decode {self.name}: {one_line(exc)}") from None

    # -- reading -----------------------------------------------------------------------------
    def blocks(self, n: int, check_finite: bool = True):
        """Yield ``(channels, <= n)`` float64 blocks to the end of the file."""
        f = self._file
        while True:
            try:
                data = f.read(n, dtype="float64", always_2d=True)
            except _DECODE_ERRORS as exc:
                raise AudioFileError(f"cannot decode {self.name} after "
                                     f"{self.position / self.sr:.3f} s: {one_line(exc)}") from None
            except OSError as exc:
                raise AudioFileError(f"cannot read {self.name}: "
                                     f"{one_line(exc.strerror or exc)}") from None
            if data.shape[0] == 0:
                return
            block = np.ascontiguousarray(data.T)
            if check_finite and not np.isfinite(block).all():
                first = int(np.argmax(~np.isfinite(block).all(axis=0)))
                raise AudioFileError(f"{self.name} has non-finite samples (NaN or Inf), the "
                                     f"first at {(self.position + first) / self.sr:.3f} s")
            self.position += block.shape[1]
            yield block

    def close(self) -> None:
        with deferred():
            if self._file is not None:
                self._file.close()
                self._file = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_stream(path: Path) -> bool:
    """A pipe or character device (``/dev/stdin`` in a pipeline): no size, no seeking."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioFileError(f"no such file: {path}")
    if path.is_dir():
        raise AudioFileError(f"{path} is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path} is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioFileError(f"cannot read {path}: permission denied")


def check_rate_and_channels(name: str, sr: int, channels: int) -> None:
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(f"{name} has {channels} channels; rtsep reads 1 to {MAX_CHANNELS}")
    if not MIN_SR <= sr <= MAX_SR:
        raise ConfigError(f"{name} has a sample rate of {sr} Hz; supported rates are "
                          f"{MIN_SR}-{MAX_SR} Hz (resample it first, e.g. with ffmpeg -ar 44100)")
