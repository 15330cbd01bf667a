"""Score-to-audio alignment checks shared by the rendering tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def midi_notes(path: str | Path) -> list[tuple[float, float]]:
    """``(onset s, offset s)`` of every note in a MIDI file, in time order (read with mido)."""
    import mido

    t, open_notes, notes = 0.0, {}, []
    for msg in mido.MidiFile(str(path)):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            open_notes[(msg.channel, msg.note)] = t
        elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in open_notes:
            notes.append((open_notes.pop((msg.channel, msg.note)), t))
    return sorted(notes)


def phrase_onsets(notes: list[tuple[float, float]], rest_s: float = 1.0) -> np.ndarray:
    """Onsets (s) of notes that follow at least ``rest_s`` of silence in the score."""
    out, last_off = [], -np.inf
    for on, off in notes:
        if on - last_off >= rest_s:
            out.append(on)
        last_off = max(last_off, off)
    return np.array(out)


def energy_onsets(x: np.ndarray, sr: int, rel_db: float = -45.0, gap_s: float = 0.05) -> np.ndarray:
    """Onsets (samples) in ``x (channels, samples)``: where the magnitude first rises above
    ``rel_db`` re the peak after at least ``gap_s`` below it (or from the start)."""
    env = np.max(np.abs(x), axis=0)
    loud = np.flatnonzero(env > env.max() * 10.0 ** (rel_db / 20.0))
    if loud.size == 0:
        return loud
    starts = np.concatenate([loud[:1], loud[1:][np.diff(loud) > gap_s * sr]])
    return starts


def max_misalignment(score_onsets_s: np.ndarray, audio_onsets: np.ndarray, sr: int) -> tuple:
    """Worst distance in samples from each score onset to the nearest audio onset, and back."""
    score = np.asarray(score_onsets_s) * sr
    to_audio = max((np.min(np.abs(audio_onsets - s)) for s in score), default=np.inf)
    to_score = max((np.min(np.abs(score - a)) for a in audio_onsets), default=np.inf)
    return float(to_audio), float(to_score)
