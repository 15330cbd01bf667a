"""How long each sampled note takes to sound after its note-on, measured once per soundfont.

Sampled voices do not start at their note-on: FluidR3's "Choir Aahs" at D4 stays silent for
30 ms; "Voice Oohs" rises to -45 dB re its peak 8 ms after the note-on at F#3-A#3 and 4 ms
after it at E4-G#4 (FluidSynth's own 1.5-3 ms included). A score that says a
phrase starts at t is only useful for training and evaluation when the audio starts at t, so
the renderer sends each vocal note early by its measured delay. The delay of a (program, pitch)
is found by rendering every pitch alone and finding where it rises above ``ONSET_DB`` re its own
peak; results are cached per soundfont, program and sample rate.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..io.atomic import write_text_atomic

ONSET_DB = -45.0
PROBE_PITCHES = (48, 92)  # the range measured; pitches outside it use the nearest measured one
MAX_ADVANCE_S = 0.1  # a longer delay would be a broken sample, not an attack: leave it alone
_TEMPO_BPM = 125.0  # with 480 ticks per beat, one tick is exactly one millisecond
_SPACING_TICKS = 2500
_LENGTH_TICKS = 300
_PRE_S = 0.05
_lock = threading.Lock()
_memory: dict[tuple, np.ndarray] = {}


def _probe_midi(program: int, path: Path) -> None:
    import mido

    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(_TEMPO_BPM)))
    track.append(mido.Message("program_change", channel=0, program=program))
    # The first note waits one spacing so every probe has silence before it.
    gap = _SPACING_TICKS
    for pitch in range(*PROBE_PITCHES):
        track.append(mido.Message("note_on", note=pitch, velocity=100, time=gap))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=_LENGTH_TICKS))
        gap = _SPACING_TICKS - _LENGTH_TICKS
    track.append(mido.MetaMessage("end_of_track", time=_SPACING_TICKS))
    mid.tracks.append(track)
    mid.save(str(path))


def measure_attack_delays(program: int, sr: int) -> np.ndarray:
    """Render each probe pitch of GM ``program`` (0-based) alone; return ``(128,)`` delays in
    samples at ``sr`` Hz from note-on to where the note rises above ``ONSET_DB`` re its peak."""
    from .fluidsynth import render_midi

    with tempfile.TemporaryDirectory(prefix="rtsep-attack-") as tmp:
        midi = Path(tmp) / "probe.mid"
        _probe_midi(program, midi)
        x = render_midi(midi, None, sr)
    env = np.max(np.abs(x), axis=0)
    lo, hi = PROBE_PITCHES
    measured = np.zeros(hi - lo)
    for k in range(hi - lo):
        start = round((k + 1) * _SPACING_TICKS / 1000.0 * sr)
        seg = env[max(0, start - round(_PRE_S * sr)): start + round(0.9 * sr)]
        if seg.size == 0 or seg.max() <= 0:
            continue  # a silent pitch: nothing to align
        onset = int(np.argmax(seg > seg.max() * 10.0 ** (ONSET_DB / 20.0)))
        measured[k] = onset - round(_PRE_S * sr)
    delays = np.empty(128)
    delays[:lo], delays[lo:hi], delays[hi:] = measured[0], measured, measured[-1]
    return delays


def _cache_file(soundfont: Path, program: int, sr: int) -> Path:
    from kernels import user_cache_dir

    from .fluidsynth import fluidsynth_version

    size = soundfont.stat().st_size
    version = fluidsynth_version().split()[-1].strip("()")
    return user_cache_dir() / "attack" / f"{soundfont.stem}-{size}-fs{version}-p{program}-{sr}.json"


def attack_delays(program: int, sr: int) -> np.ndarray:
    """``(128,)`` attack delays in samples of GM ``program`` at ``sr`` Hz, cached on disk."""
    from .fluidsynth import find_soundfont

    soundfont = find_soundfont()
    key = (str(soundfont), int(program), int(sr))
    with _lock:
        if key in _memory:
            return _memory[key]
        path = _cache_file(soundfont, program, sr)
        delays = None
        try:
            delays = np.asarray(json.loads(path.read_text())["delays"], dtype=float)
        except (OSError, ValueError, KeyError):
            pass
        if delays is None or delays.shape != (128,):
            delays = measure_attack_delays(program, sr)
            try:
                write_text_atomic(path, json.dumps(
                    {"program": program, "sr": sr, "delays": delays.tolist()}))
            except OutputError:
                pass  # a read-only cache only costs a re-measurement next time
        _memory[key] = delays
        return delays


def advance_seconds(program: int, sr: int) -> np.ndarray:
    """``(128,)`` seconds by which to send each pitch early so its sound starts on the beat."""
    return np.clip(attack_delays(program, sr) / sr, 0.0, MAX_ADVANCE_S)
