"""Standard MIDI Files as scores: read one, pick the part that carries the voice.

A ``Timeline`` is the chosen part's channel messages in time order, in seconds from the start
of the file (the tempo map applied): ``times`` ``(n,)`` float64 and ``messages`` ``(n, 3)``
int (status, data1, data2). Only what the score uses is kept: notes, controllers and pitch
bend of the chosen track and channel.

Choosing the part (``--score-channel``): a MIDI channel ``1``-``16``; a track name (a
case-insensitive part of it); or ``auto`` (default): the track whose name says voice (vocal,
voice, vox, sing, lead, melody, lyric), else the track and channel with the highest mean pitch.
The drum channel (10) is never chosen automatically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ScoreFileError

DRUM_CHANNEL = 9
VOICE_NAMES = re.compile(r"voc|voice|vox|sing|lead|melod|lyric|soprano|tenor|alto", re.I)


@dataclass
class Timeline:
    """Channel messages of one part, in seconds; see the module docstring."""

    times: np.ndarray
    messages: np.ndarray
    part: str  # what was chosen, for messages: "track 'lead', channel 5"
    n_notes: int
    seconds: float  # the file's length

    def shifted(self, seconds: float) -> "Timeline":
        """The same part ``seconds`` later (earlier if negative); notes before 0 start at 0."""
        times = np.maximum(self.times + seconds, 0.0)
        return Timeline(times, self.messages, self.part, self.n_notes, self.seconds + seconds)


def read_score(path: str | Path, channel: str | int | None = "auto") -> Timeline:
    """The part of the MIDI file ``path`` that ``channel`` names (see the module docstring)."""
    import mido

    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(f"score {path}: no such file")
    try:
        mid = mido.MidiFile(str(path), clip=True)
    except (EOFError, OSError, ValueError, KeyError, IndexError) as exc:
        why = "it ends early (truncated?)" if isinstance(exc, EOFError) else str(exc) or type(exc).__name__
        raise ScoreFileError(f"score {path} is not a readable MIDI file: {why}") from None
    if mid.type == 2:
        raise ScoreFileError(f"score {path} is a type-2 MIDI file (independent sequences); "
                             "save it as type 0 or 1")
    parts = _parts(mid)
    if not parts:
        raise ScoreFileError(f"score {path} has no notes")
    key = _choose(parts, channel, path)
    events = sorted(parts[key]["events"], key=lambda e: (e[0], e[1]))
    ticks = np.array([e[0] for e in events], dtype=np.int64)
    times = _seconds(ticks, _tempo_map(mid), mid.ticks_per_beat)
    messages = np.array([e[2] for e in events], dtype=np.int64).reshape(-1, 3)
    track, ch = key
    label = f"track {parts[key]['name']!r}, channel {ch + 1}" if parts[key]["name"] else \
        f"track {track + 1}, channel {ch + 1}"
    return Timeline(times, messages, label, parts[key]["notes"], float(mid.length))


def _parts(mid) -> dict:
    """``(track, channel)`` -> name, note count, mean pitch and ``(tick, order, message)``
    events, for every track and channel that plays notes."""
    parts: dict = {}
    for t, track in enumerate(mid.tracks):
        name, tick, events = "", 0, []
        for msg in track:
            tick += msg.time
            if msg.is_meta:
                if msg.type in ("track_name", "instrument_name") and not name:
                    name = str(msg.name).strip()
                continue
            if not hasattr(msg, "channel"):
                continue  # SysEx and other system messages: not part of a score
            raw = msg.bytes()
            if msg.type in ("note_on", "note_off", "control_change", "pitchwheel"):
                status = raw[0]
                data = (raw + [0, 0])[1:3]
                # at one tick: note offs first, so a repeated note is not cut by its own end
                off = msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0)
                events.append((msg.channel, tick, 0 if off else 1, (status, data[0], data[1])))
        for ch in sorted({e[0] for e in events}):
            mine = [(tk, order, m) for c, tk, order, m in events if c == ch]
            pitches = [m[1] for _, _, m in mine if m[0] >> 4 == 0x9 and m[2] > 0]
            if pitches:
                parts[(t, ch)] = {"name": name, "notes": len(pitches),
                                  "mean_pitch": float(np.mean(pitches)), "events": mine}
    return parts


def _choose(parts: dict, channel, path: Path) -> tuple[int, int]:
    spec = "auto" if channel is None else str(channel).strip()
    if spec.lower() == "auto":
        melodic = {k: p for k, p in parts.items() if k[1] != DRUM_CHANNEL} or parts
        named = {k: p for k, p in melodic.items() if VOICE_NAMES.search(p["name"])}
        pool = named or melodic
        return max(pool, key=lambda k: pool[k]["mean_pitch"])
    if spec.isdigit():
        ch = int(spec) - 1
        if not 0 <= ch < 16:
            raise ScoreFileError(f"--score-channel {spec}: MIDI channels are 1 to 16")
        found = [k for k in parts if k[1] == ch]
        if not found:
            have = sorted({k[1] + 1 for k in parts})
            raise ScoreFileError(f"score {path} has no notes on channel {spec} "
                                 f"(channels with notes: {', '.join(map(str, have))})")
        return max(found, key=lambda k: parts[k]["notes"])
    found = [k for k, p in parts.items() if spec.lower() in p["name"].lower()]
    if not found:
        names = sorted({repr(p["name"]) for p in parts.values() if p["name"]}) or ["(none named)"]
        raise ScoreFileError(f"score {path} has no track named like {spec!r} "
                             f"(tracks with notes: {', '.join(names)})")
    return max(found, key=lambda k: parts[k]["notes"])


def _tempo_map(mid) -> list[tuple[int, int]]:
    """``(tick, microseconds per beat)`` tempo changes of the whole file, in order."""
    changes = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, int(msg.tempo)))
    changes.sort(key=lambda c: c[0])
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 500000))  # 120 bpm until the first tempo event
    return changes


def _seconds(ticks: np.ndarray, tempos: list[tuple[int, int]], per_beat: int) -> np.ndarray:
    """Seconds of each tick under a piecewise-constant tempo map."""
    starts = np.array([c[0] for c in tempos], dtype=np.float64)
    rates = np.array([c[1] for c in tempos], dtype=np.float64) / 1e6 / per_beat  # s per tick
    offsets = np.concatenate([[0.0], np.cumsum(np.diff(starts) * rates[:-1])])
    seg = np.searchsorted(starts, ticks, side="right") - 1
    return offsets[seg] + (ticks - starts[seg]) * rates[seg]


def notes_from_pitch_track(semitones: np.ndarray, frame_s: float = 0.02,
                           first_s: float = 0.02, min_note_s: float = 0.06) -> list[tuple]:
    """Notes ``(onset s, offset s, MIDI key)`` from a frame-wise pitch track.

    ``semitones`` ``(frames,)`` holds one MIDI pitch per frame (0 = unvoiced), frame ``i``
    centred at ``first_s + i * frame_s`` (MIR-1K's ``pitch.pv``: 20 ms frames from 20 ms). Each
    run of voiced frames rounding to one key becomes a note spanning its frames; runs shorter
    than ``min_note_s`` are merged into the note before them when they touch it (glides,
    vibrato across a semitone boundary), else dropped.
    """
    keys = np.where(semitones > 0, np.round(semitones), 0).astype(int)
    notes: list[list] = []
    i, n = 0, len(keys)
    while i < n:
        j = i
        while j < n and keys[j] == keys[i]:
            j += 1
        if keys[i] > 0:
            on = first_s + (i - 0.5) * frame_s
            off = first_s + (j - 0.5) * frame_s
            touches = bool(notes) and abs(notes[-1][1] - on) < 1e-9
            if touches and notes[-1][2] == keys[i]:
                notes[-1][1] = off  # the same key again after a blip: one note
            elif off - on >= min_note_s:
                notes.append([on, off, int(keys[i])])
            elif touches:
                notes[-1][1] = off  # a short blip inside a sung note: the note goes on
        i = j
    return [tuple(x) for x in notes]


def write_notes_midi(notes, path: str | Path, channel: int = 0, name: str = "voice") -> Path:
    """A one-track MIDI file of ``notes`` ``(onset s, offset s, key)`` at 120 bpm."""
    import mido

    per_beat, tempo = 480, 500000
    per_s = per_beat * 1e6 / tempo
    events = []
    for on, off, key in notes:
        t_on, t_off = round(on * per_s), max(round(on * per_s) + 1, round(off * per_s))
        events += [(t_off, 0, mido.Message("note_off", channel=channel, note=int(key))),
                   (t_on, 1, mido.Message("note_on", channel=channel, note=int(key), velocity=100))]
    events.sort(key=lambda e: (e[0], e[1]))
    mid = mido.MidiFile(type=1, ticks_per_beat=per_beat)
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name),
                            mido.MetaMessage("set_tempo", tempo=tempo)])
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.tracks.append(track)
    path = Path(path)
    mid.save(str(path))
    return path


def timeline_from_notes(notes, channel: int = 0, seconds: float | None = None) -> Timeline:
    """A ``Timeline`` of ``notes`` ``(onset s, offset s, key)`` (velocity 100) on ``channel``."""
    events = []
    for on, off, key in notes:
        events.append((float(off), 0, (0x80 | channel, int(key), 0)))
        events.append((float(on), 1, (0x90 | channel, int(key), 100)))
    events.sort(key=lambda e: (e[0], e[1]))
    times = np.array([e[0] for e in events], dtype=np.float64)
    messages = np.array([e[2] for e in events], dtype=np.int64).reshape(-1, 3)
    end = float(times.max()) if seconds is None and times.size else float(seconds or 0.0)
    return Timeline(times, messages, f"{len(notes)} notes", len(notes), end)


def timeline_notes(timeline: Timeline) -> list[tuple[float, float, int]]:
    """The notes ``(onset s, offset s, key)`` of a timeline (a note still on at the end
    lasts to ``timeline.seconds``)."""
    open_: dict[tuple[int, int], float] = {}
    notes = []
    for t, (status, key, vel) in zip(timeline.times, timeline.messages):
        kind, ch = status >> 4, status & 0x0F
        if kind == 0x9 and vel > 0:
            if (ch, key) in open_:
                notes.append((open_.pop((ch, key)), float(t), int(key)))
            open_[(ch, key)] = float(t)
        elif kind in (0x8, 0x9) and (ch, key) in open_:
            notes.append((open_.pop((ch, key)), float(t), int(key)))
    end = max(timeline.seconds, float(timeline.times.max()) if timeline.times.size else 0.0)
    notes += [(on, end, key) for (_, key), on in open_.items()]
    return sorted(notes)
