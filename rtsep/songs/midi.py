"""Writing composed songs as MIDI files: swing, tick rounding, and the singer's breath.

Times in a ``Song`` are in beats; here they become ticks (480 per beat) of a type-1 MIDI file
with one tempo. A part marked ``fade_rests`` (the voice) fades out over ``FADE_S`` after its
last note before each long rest and is then silenced, as a singer stops between phrases; the
voice patches' releases would otherwise ring on for more than a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .compose import Note, Part, Song

TICKS_PER_BEAT = 480
FADE_REST_S = 0.9  # rests at least this long get a fade
FADE_DELAY_S = 0.15  # the release is heard this long before the fade starts
FADE_S = 0.3
FADE_STEPS = 16
EXPRESSION, ALL_SOUND_OFF = 11, 120



def _swung(beat: float, swing: float) -> float:
    """Delay off-beat eighths: maps [0, .5] -> [0, .5 + swing/6] and [.5, 1] -> the rest."""
    whole = np.floor(beat)
    frac = beat - whole
    mid = 0.5 + swing / 6.0
    return float(whole + (frac * 2 * mid if frac <= 0.5 else mid + (frac - 0.5) * 2 * (1 - mid)))


def note_times(song: Song, part: Part) -> list[tuple[float, float, int, int]]:
    """``(onset s, offset s, pitch, velocity)`` of each note as written to MIDI (tick-rounded)."""
    spb = song.seconds_per_beat / TICKS_PER_BEAT
    end = _end_tick(song)
    return [(on * spb, min(off, end) * spb, n.pitch, n.velocity)
            for n, (on, off) in ((n, _ticks(song, n)) for n in part.notes) if on < end]


def _end_tick(song: Song) -> int:
    return round(song.seconds / song.seconds_per_beat * TICKS_PER_BEAT)


def _ticks(song: Song, n: Note) -> tuple[int, int]:
    """Note-on and note-off ticks after swing; a note lasts at least one tick."""
    on = round(_swung(n.start, song.style.swing) * TICKS_PER_BEAT)
    return on, max(on + 1, round(_swung(n.start + n.length, song.style.swing) * TICKS_PER_BEAT))


def write_midi(song: Song, parts: list[Part], path: str | Path,
               advance: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``parts`` of ``song`` as a type-1 MIDI file that ends at ``song.seconds``.

    Notes that would start after the end are left out and notes that would ring past it end there.
    ``advance`` maps a part name to ``(128,)`` seconds per pitch by which its notes are sent
    early (for rendering only: it cancels a sample's slow start; a score is written without it).
    """
    import mido

    path = Path(path)
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    end = _end_tick(song)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(song.style.tempo_bpm)))
    meta.append(mido.MetaMessage("time_signature", numerator=song.style.beats_per_bar,
                                 denominator=4))
    meta.append(mido.MetaMessage("end_of_track", time=end))
    mid.tracks.append(meta)
    for part in parts:
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part.name))
        track.append(mido.Message("program_change", channel=part.channel, program=part.program))
        events = []  # (tick, order, message): at one tick offs go first, then controls, then ons
        shift = None if advance is None else advance.get(part.name)
        spans = []
        for n in part.notes:
            on, off = _ticks(song, n)
            if on >= end:
                continue
            if shift is not None:
                # The same pitch always moves by the same amount, so repeated notes keep order.
                early = round(shift[n.pitch] / song.seconds_per_beat * TICKS_PER_BEAT)
                on, off = max(0, on - early), max(1, off - early)
            off = min(off, end)
            spans.append((on, off))
            events.append((off, 0, mido.Message("note_off", channel=part.channel, note=n.pitch)))
            events.append((on, 2, mido.Message("note_on", channel=part.channel, note=n.pitch,
                                               velocity=n.velocity)))
        if part.fade_rests:
            events += [(t, 1, mido.Message("control_change", channel=part.channel, control=c,
                                           value=v)) for t, c, v in _fades(song, spans, end)]
        events.sort(key=lambda e: (e[0], e[1]))
        now = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
        mid.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))
    return path


def _fades(song: Song, spans: list[tuple[int, int]], end: int) -> list[tuple[int, int, int]]:
    """``(tick, controller, value)`` events fading the voice out in each long rest of ``spans``
    (note ``(on, off)`` ticks) and silencing it, then restoring the level before the next note."""
    per_s = TICKS_PER_BEAT / song.seconds_per_beat
    rest, delay, fade = (round(s * per_s) for s in (FADE_REST_S, FADE_DELAY_S, FADE_S))
    spans = sorted(spans)
    out: list[tuple[int, int, int]] = []
    last_off = -1
    for k, (_, off) in enumerate(spans):
        last_off = max(last_off, off)
        next_on = spans[k + 1][0] if k + 1 < len(spans) else None
        if (next_on if next_on is not None else end) - last_off < rest:
            continue
        start = last_off + delay
        for step in range(1, FADE_STEPS + 1):
            t = start + round(fade * step / FADE_STEPS)
            if t >= end:
                break
            out.append((t, EXPRESSION, round(127 * (1 - step / FADE_STEPS))))
        done = start + fade + 1
        if done < end:
            # Silent now, so cutting the remaining release cannot click; then full level again.
            out.append((done, ALL_SOUND_OFF, 0))
            out.append((done + 1, EXPRESSION, 127))
    return out
