"""Scores as the training recipes use them: the vocal melody's f0 at every STFT frame.

A score comes with a track as a MIDI file (``vocals.mid``: every note is the voice; or
``song.mid`` with the voice on its own track) or as a pitch track (``pitch.pv``: MIR-1K's
format, one value per 20 ms frame, the first centred at 20 ms, MIDI semitones, 0 = unvoiced).
Either becomes ``(frames,)`` float32 MIDI pitch per frame of the engine's STFT (0 = silent).

Frame ``k`` of ``rtsep.core.stft.stft_offline`` ends with sample ``k*hop + hop - 1``; the
samples it completes are ``[k*hop - hop, k*hop + hop)``, so its time is taken as
``k * hop / sr`` (the score cue applies a note to the hop its event belongs to, the same rule).

The accompaniment of a rendered song is scored too (``song.mid``): ``accompaniment_notes``
gives its notes, and ``accompaniment_roll`` turns them into the transcriptor's accompaniment
target. Pitch bends are not read (the rendered songs have none).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PV_FRAME_S = 0.02  # MIR-1K pitch.pv: one value per 20 ms, the first centred at 20 ms
DRUM_CHANNEL = 9
DRUM_HIT_S = 0.1  # a drum hit counts as sounding this long
SCORE_FILES = ("vocals.mid", "pitch.pv")


def frame_times(n_frames: int, hop: int, sr: int) -> np.ndarray:
    """Time (s) of each engine frame: ``k * hop / sr``."""
    return np.arange(int(n_frames)) * (hop / sr)


def read_pitch_pv(path) -> np.ndarray:
    """MIR-1K ``pitch.pv``: ``(n,)`` MIDI values (0 = unvoiced); ``ValueError`` on garbage."""
    values = np.loadtxt(str(path), dtype=np.float64, ndmin=1)
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{path} is not a pitch track (one non-negative value per line)")
    return values


def pv_to_frames(values: np.ndarray, n_frames: int, hop: int, sr: int) -> np.ndarray:
    """Pitch-track values at 20 ms (first at 20 ms) -> ``(n_frames,)`` at the engine's frames,
    nearest label (frames beyond the track are silent)."""
    idx = np.rint(frame_times(n_frames, hop, sr) / PV_FRAME_S - 1.0).astype(np.int64)
    ok = (idx >= 0) & (idx < len(values))
    out = np.zeros(int(n_frames), dtype=np.float32)
    out[ok] = values[idx[ok]]
    return out


def midi_notes(path, channels=None, exclude_channels=()) -> np.ndarray:
    """``(n, 4)`` rows ``(onset s, offset s, pitch, channel)`` of the notes of a MIDI file (all
    tracks, tempo changes applied), optionally only ``channels`` / without ``exclude_channels``.
    A note still sounding at the end of the file ends there."""
    import mido

    try:
        mid = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"{path} is not a readable MIDI file ({exc})") from None
    now, sounding, notes = 0.0, {}, []
    for msg in mid:  # merged tracks in time order, deltas in seconds
        now += msg.time
        if msg.type not in ("note_on", "note_off"):
            continue
        if channels is not None and msg.channel not in channels:
            continue
        if msg.channel in exclude_channels:
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            if key in sounding:  # re-struck: the old note ends here
                notes.append((sounding.pop(key), now, msg.note, msg.channel))
            sounding[key] = now
        elif key in sounding:
            notes.append((sounding.pop(key), now, msg.note, msg.channel))
    notes += [(on, now, k[1], k[0]) for k, on in sounding.items()]
    return np.array(sorted(notes), dtype=np.float64).reshape(-1, 4)


def midi_channels(path) -> set[int]:
    return {int(c) for c in midi_notes(path)[:, 3]}


def notes_to_frames(notes: np.ndarray, n_frames: int, hop: int, sr: int) -> np.ndarray:
    """A melody's notes ``(n, >= 3)`` -> ``(n_frames,)`` f0 (MIDI) per frame; where notes
    overlap, the highest sounds (the melody line)."""
    t = frame_times(n_frames, hop, sr)
    out = np.zeros(int(n_frames), dtype=np.float32)
    for on, off, pitch in notes[:, :3]:
        sl = (t >= on) & (t < off)
        out[sl] = np.maximum(out[sl], pitch)
    return out


def read_score(track_dir, n_frames: int, hop: int, sr: int) -> tuple[np.ndarray, str]:
    """The vocal score of a track folder at the engine's frames, and the file it came from:
    ``vocals.mid`` first, then ``pitch.pv``. ``FileNotFoundError`` when there is neither."""
    track_dir = Path(track_dir)
    mid, pv = track_dir / "vocals.mid", track_dir / "pitch.pv"
    if mid.is_file():
        return notes_to_frames(midi_notes(mid), n_frames, hop, sr), mid.name
    if pv.is_file():
        return pv_to_frames(read_pitch_pv(pv), n_frames, hop, sr), pv.name
    raise FileNotFoundError(f"track {track_dir.name!r} has no score ({' or '.join(SCORE_FILES)})")


def accompaniment_notes(track_dir) -> np.ndarray | None:
    """Notes ``(n, 4)`` of every part of ``song.mid`` except the voice (the channels of
    ``vocals.mid``); drums keep channel 9. None when the track has no ``song.mid``."""
    track_dir = Path(track_dir)
    song, voice = track_dir / "song.mid", track_dir / "vocals.mid"
    if not song.is_file():
        return None
    vocal_channels = midi_channels(voice) if voice.is_file() else set()
    return midi_notes(song, exclude_channels=vocal_channels)


def accompaniment_roll(notes: np.ndarray, start_s: float, n: int, frame_s: float,
                       pitch_lo: int, n_pitch: int) -> np.ndarray:
    """``(n_pitch + 1, n)`` float32: row ``p`` is 1 while MIDI note ``pitch_lo + p`` sounds in
    any accompaniment part, the last row while a drum was hit within ``DRUM_HIT_S``; frames
    ``j`` centred at ``start_s + j * frame_s``. Notes outside the range are left out."""
    roll = np.zeros((n_pitch + 1, n), dtype=np.float32)
    t = start_s + np.arange(n) * frame_s
    for on, off, pitch, channel in notes:
        if channel == DRUM_CHANNEL:
            row, off = n_pitch, on + DRUM_HIT_S
        else:
            row = int(pitch) - pitch_lo
            if not 0 <= row < n_pitch:
                continue
        lo, hi = np.searchsorted(t, on), np.searchsorted(t, off)
        roll[row, lo:hi] = 1.0
    return roll
