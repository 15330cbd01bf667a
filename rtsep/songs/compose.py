"""Generated pop songs as MIDI: a looping accompaniment under a sung line that never repeats.

A ``Song`` holds parts (lists of notes in beats) grouped into stems (vocals, drums, bass, other).
The accompaniment is a loop of four bars repeated exactly, which gives repetition-based
separation something to find; the vocal line is drawn afresh for every phrase. Vocal phrases
end with a rest of at least a second, so the onset of each phrase is audible on its own and the
score's timing can be checked against the rendered audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Chord loops as scale degrees (0 = tonic), four bars each.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 5, 3, 4), (0, 3, 6, 2)),
}
STEMS = ("vocals", "drums", "bass", "other")
DRUM_CHANNEL = 9
KICK, SNARE, HAT, RIDE, CRASH, SIDE_STICK = 36, 38, 42, 51, 49, 37


@dataclass(frozen=True)
class Note:
    """One note: ``start`` and ``length`` in beats, ``pitch`` a MIDI note, ``velocity`` 1-127."""

    start: float
    length: float
    pitch: int
    velocity: int


@dataclass
class Part:
    """One instrument on one MIDI channel; ``program`` is the 0-based General MIDI program."""

    name: str
    stem: str
    channel: int
    program: int
    notes: list[Note] = field(default_factory=list)
    fade_rests: bool = False  # a singer: the voice fades out and stops in every long rest


@dataclass
class Style:
    """What varies between songs. Programs are 0-based GM numbers; the drum kit is a bank-128
    preset."""

    tonic: int = 60
    mode: str = "major"
    tempo_bpm: float = 110.0
    beats_per_bar: int = 4
    swing: float = 0.0  # 0 straight, 1 full triplet swing of the off-beat eighths
    progression: tuple[int, ...] = (0, 4, 5, 3)
    vocal_program: int = 53  # Voice Oohs
    bass_program: int = 33
    chord_program: int = 0
    pad_program: int | None = 48
    counter_program: int | None = None
    drum_kit: int = 0

    @property
    def key_name(self) -> str:
        return f"{KEY_NAMES[self.tonic % 12]} {self.mode}"


@dataclass
class Song:
    """Parts of a song in whole ``bars``; the audio and the MIDI files stop at ``seconds``."""

    style: Style
    bars: int
    parts: list[Part]
    seconds: float

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.style.tempo_bpm

    def stem_parts(self, stem: str) -> list[Part]:
        return [p for p in self.parts if p.stem == stem]


def _scale_pitch(style: Style, degree: int, octave: int) -> int:
    """MIDI pitch of a scale degree (any integer; 7 is the tonic an octave up) in ``octave``."""
    scale = MAJOR if style.mode == "major" else MINOR
    return style.tonic % 12 + 12 * (octave + 1) + 12 * (degree // 7) + scale[degree % 7]


def _chord(style: Style, degree: int, octave: int) -> list[int]:
    return [_scale_pitch(style, degree + k, octave) for k in (0, 2, 4)]


def _accompaniment(style: Style, bars: int) -> list[Part]:
    bpb, prog = style.beats_per_bar, style.progression
    drums = Part("drums", "drums", DRUM_CHANNEL, style.drum_kit)
    bass = Part("bass", "bass", 0, style.bass_program)
    chords = Part("chords", "other", 1, style.chord_program)
    pad = Part("pad", "other", 2, style.pad_program) if style.pad_program is not None else None
    counter = (Part("counter", "other", 3, style.counter_program)
               if style.counter_program is not None else None)
    for bar in range(bars):
        b0 = float(bar * bpb)
        degree = prog[bar % len(prog)]
        # Drums: kick on the downbeat, backbeat snare (waltz: side stick on 2 and 3), eighth hats.
        drums.notes.append(Note(b0, 0.25, KICK, 110))
        if bar % (2 * len(prog)) == 0:
            drums.notes.append(Note(b0, 0.5, CRASH, 90))
        for beat in range(bpb):
            if bpb == 3:
                if beat > 0:
                    drums.notes.append(Note(b0 + beat, 0.25, SIDE_STICK, 80))
            else:
                if beat % 2 == 1:
                    drums.notes.append(Note(b0 + beat, 0.25, SNARE, 100))
                if beat == 2:
                    drums.notes.append(Note(b0 + beat, 0.25, KICK, 100))
            cymbal = RIDE if style.swing > 0 else HAT
            drums.notes.append(Note(b0 + beat, 0.25, cymbal, 85))
            drums.notes.append(Note(b0 + beat + 0.5, 0.25, cymbal, 60))
        # Bass: root on the downbeat, fifth and octave after it.
        root = _scale_pitch(style, degree, 1)
        line = [root, root + 7, root + 12, root + 7][:bpb]
        for beat, pitch in enumerate(line):
            bass.notes.append(Note(b0 + beat, 0.9, pitch, 100 if beat == 0 else 85))
        # Chords: a comp on every beat; the pad holds the bar.
        triad = _chord(style, degree, 4)
        for beat in range(bpb):
            for pitch in triad:
                chords.notes.append(Note(b0 + beat, 0.8, pitch, 75 if beat else 85))
        if pad is not None:
            for pitch in _chord(style, degree, 3):
                pad.notes.append(Note(b0, bpb - 0.05, pitch, 60))
        if counter is not None:
            arp = _chord(style, degree, 5) + [_scale_pitch(style, degree + 7, 5)]
            for k in range(2 * bpb):
                step = (k * 3) % 4 if bar % 2 else k % 4  # up in even bars, leaping in odd ones
                counter.notes.append(Note(b0 + 0.5 * k, 0.45, arp[step], 70))
    return [p for p in (drums, bass, chords, pad, counter) if p is not None]


def _melody(style: Style, bars: int, rng: np.random.Generator) -> Part:
    """A sung line: two-bar phrases, fresh for every phrase, each ending in a rest of >= 1 s."""
    vocal = Part("lead", "vocals", 4, style.vocal_program, fade_rests=True)
    bpb = style.beats_per_bar
    rest_beats = max(1.0, np.ceil(1.0 / (60.0 / style.tempo_bpm)))  # at least one second
    total = bars * bpb
    start, degree = float(bpb), int(rng.integers(0, 5))  # the voice enters after one bar
    octave = 4 if style.tonic % 12 < 6 else 3  # the line stays within D3-A5 in every key
    while start < total - 1.0:
        phrase_end = min(start + 2 * bpb + rng.integers(0, bpb + 1), total)
        t = start
        while t < phrase_end - 0.5:
            length = float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))
            length = min(length, phrase_end - t)
            # A random walk in scale steps, kept inside a singer's octave and a half.
            degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]), -2, 9))
            pitch = _scale_pitch(style, degree, octave)
            # Notes are sung 85 % of their value: a short breath before the next attack.
            velocity = int(rng.integers(90, 115))
            vocal.notes.append(Note(t, max(0.25, 0.85 * length), pitch, velocity))
            t += length
        start = t + rest_beats + float(rng.integers(0, 2))
    return vocal


def compose(style: Style, seconds: float, seed: int) -> Song:
    """A song in ``style`` cut at ``seconds`` s (composed in whole bars); a seed gives one song."""
    rng = np.random.default_rng(seed)
    bars = max(2, int(np.ceil(seconds / (60.0 / style.tempo_bpm) / style.beats_per_bar)))
    parts = _accompaniment(style, bars) + [_melody(style, bars, rng)]
    return Song(style=style, bars=bars, parts=parts, seconds=float(seconds))

