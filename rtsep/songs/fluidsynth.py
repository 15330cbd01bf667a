"""Rendering a MIDI file to audio with the FluidSynth program and a General MIDI soundfont.

Reverb and chorus are off, so separately rendered stems are clean and sum to the mixture.
Arrays are channels-first ``(2, samples)`` float64 (FluidSynth renders stereo); rates in Hz.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import RtsepError

SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"))
SOUNDFONT_NAMES = ("FluidR3_GM.sf2", "default-GM.sf2", "TimGM6mb.sf2")
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm"
FLUIDSYNTH_GAIN = 0.5
# FluidSynth starts a note at the first 64-sample block after its millisecond timer passes the
# event: measured onsets lag the score by 52-140 samples at 44.1 kHz. Dropping the mean lag
# centres that jitter on zero, so the written MIDI lines up with the audio.
_BLOCK = 64


def render_delay_samples(sr: int) -> int:
    """Samples by which FluidSynth's output trails its MIDI input on average, at ``sr`` Hz."""
    return _BLOCK + round(0.0005 * sr)


def find_soundfont() -> Path:
    """The first General MIDI soundfont installed; ``RtsepError`` saying what to install if none."""
    override = os.environ.get("RTSEP_SOUNDFONT")
    if override and Path(override).is_file():
        return Path(override)
    for folder in SOUNDFONT_DIRS:
        for name in SOUNDFONT_NAMES:
            if (folder / name).is_file():
                return folder / name
    missing = "fluidsynth and a GM soundfont" if shutil.which("fluidsynth") is None else \
        "a GM soundfont"
    raise RtsepError(f"rendering needs {missing}: {INSTALL_HINT}")


@functools.lru_cache(maxsize=1)
def fluidsynth_version() -> str:
    """``"FluidSynth 2.3.1"`` (or ``"FluidSynth (unknown version)"``), recorded with renders."""
    try:
        out = subprocess.run([_fluidsynth(), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for word in out.split():
        if word[:1].isdigit() and "." in word:
            return f"FluidSynth {word}"
    return "FluidSynth (unknown version)"


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RtsepError(f"rendering needs the fluidsynth program: {INSTALL_HINT}")
    return exe


def render_midi(midi_path: str | os.PathLike, wav_path: str | os.PathLike | None = None,
                sr: int = 44100, length: int | None = None) -> np.ndarray:
    """Render a MIDI file with FluidSynth into ``(2, samples)`` float64 at ``sr`` Hz.

    The render is advanced by ``render_delay_samples(sr)`` so the audio lines up with the score,
    then cut or zero-padded to ``length`` samples when given. When ``wav_path`` is given the
    result is also written there (32-bit float WAV, atomically).
    """
    from ..io.audio import read_audio, write_audio

    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise RtsepError(f"no such MIDI file: {midi_path}")
    exe, soundfont = _fluidsynth(), find_soundfont()
    with tempfile.TemporaryDirectory(prefix="rtsep-render-") as tmp:
        raw = Path(tmp) / "render.wav"
        # Dynamic sample loading reads only the samples a song plays: the same audio, bitwise,
        # from a third of the start-up time and memory (FluidR3 is 140 MB).
        cmd = [exe, "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(FLUIDSYNTH_GAIN),
               "-o", "synth.dynamic-sample-loading=1", "-r", str(int(sr)), "-O", "float",
               "-T", "wav", "-F", str(raw), str(soundfont), str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not raw.is_file() or raw.stat().st_size == 0:
            reason = " ".join((proc.stderr or proc.stdout or "no output").split())[:300]
            raise RtsepError(f"fluidsynth could not render {midi_path}: {reason}")
        x, got_sr = read_audio(raw)
    if got_sr != sr:
        raise RtsepError(f"fluidsynth rendered {midi_path} at {got_sr} Hz instead of {sr} Hz")
    x = x[:, render_delay_samples(sr):]
    if length is not None:
        out = np.zeros((x.shape[0], int(length)))
        n = min(int(length), x.shape[1])
        out[:, :n] = x[:, :n]
        x = out
    if wav_path is not None:
        write_audio(wav_path, x, sr)
    return x
