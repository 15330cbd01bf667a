"""The score's state: which notes of the voice sound now, as f0s, one update per hop.

One vocabulary for every score source (a live MIDI port, a Standard MIDI File) and every reader
(the score primitive, the engine's gate, a model that takes the score as input): sources call
``receive`` (raw bytes) or ``apply`` (one parsed message) with the score time in seconds of
audio; the engine calls ``advance(t)`` once per hop; readers use ``f0_hz[:n_f0]`` (Hz, the most
recent note first, pitch bend included), ``velocity[:n_f0]`` (1-127) and the flags below.

Times are seconds of the audio stream (sample / sample rate), not wall-clock time. Everything
here runs on the engine's thread; a live port's callback only queues bytes (see
``rtsep.live.midi``).
"""

from __future__ import annotations

import numpy as np

from .parser import MidiParser

N_CHANNELS = 16
MAX_NOTES = 16  # f0s reported per hop; more simultaneous notes keep the most recent ones
SUSTAIN, DATA_MSB, DATA_LSB, RPN_LSB, RPN_MSB = 64, 6, 38, 100, 101
ALL_SOUND_OFF, RESET_CONTROLLERS, ALL_NOTES_OFF = 120, 121, 123


def midi_to_hz(note: float) -> float:
    """Equal-tempered frequency of a (fractional) MIDI note number, A4 = 69 = 440 Hz."""
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


class ScoreState:
    """Sounding notes of the chosen MIDI channels, with sustain pedal and pitch bend.

    ``channels``: 0-based channels to follow (``None``: all). ``max_note_s``: a note held longer
    is taken as stuck (a lost note-off) and ended, and counted in ``stuck_notes``. ``idle_s``:
    how long after its last note a live score still counts as ``informative`` (a rest within a
    song rather than a score that stopped); ``complete`` scores (files) are informative
    throughout, since their rests are known to be rests.
    """

    def __init__(self, channels=None, max_note_s: float = 12.0, idle_s: float = 4.0,
                 complete: bool = False):
        self.channels = None if channels is None else frozenset(int(c) for c in channels)
        self.max_note_s = float(max_note_s)
        self.idle_s = float(idle_s)
        self.complete = bool(complete)
        self.f0_hz = np.zeros(MAX_NOTES)
        self.velocity = np.zeros(MAX_NOTES)
        # Notes that start soon (Hz), for sources that know the future (a file); readers use
        # them as slack for a score that runs late. Live sources leave ``n_upcoming`` at 0.
        self.upcoming_hz = np.zeros(MAX_NOTES)
        self.n_upcoming = 0
        self.parser = MidiParser()
        self.reset()

    def reset(self) -> None:
        """Silence every note and zero the counters (at the start of a stream)."""
        self._down: dict[tuple[int, int], tuple[int, float]] = {}  # (ch, key) -> (vel, onset)
        self._held: dict[tuple[int, int], tuple[int, float]] = {}  # released under the pedal
        self._pedal = [False] * N_CHANNELS
        self._bend = [0.0] * N_CHANNELS  # semitones
        self._bend_range = [2.0] * N_CHANNELS
        self._rpn = [(127, 127)] * N_CHANNELS  # (msb, lsb) selected; 127/127 = none
        self.parser.reset()
        self.parser.messages = self.parser.ignored = self.parser.dropped = 0
        self.now = 0.0
        self.n_f0 = 0
        self.n_upcoming = 0
        self.f0_hz.fill(0.0)
        self.velocity.fill(0.0)
        self.last_note_event = -np.inf  # score time of the last note on or off
        self.last_sounding = -np.inf  # score time of the last hop with a note sounding
        self.events_received = 0  # messages or byte chunks handed to the state
        self.other_channels = 0  # channel messages for channels not followed
        self.overflows = 0  # events a source had to drop (its queue was full)
        self.stuck_notes = 0
        self.notes_started = 0
        # How far the audio bears the score out, in [0, 1]: written by the score cue (its
        # presence in clustering), read by the rest gate; 1 when nothing measures it.
        self.trust = 1.0

    def release_all(self) -> None:
        """End every note and forget pedals and bends (the source went away); counters stay."""
        self._down.clear()
        self._held.clear()
        self._pedal = [False] * N_CHANNELS
        self._bend = [0.0] * N_CHANNELS
        self.parser.reset()
        self.last_note_event = -np.inf  # a live score that went away is not informative

    # -- input -------------------------------------------------------------------------------
    def receive(self, data, t: float) -> None:
        """Raw MIDI bytes (one port event or any chunk) at score time ``t``."""
        self.events_received += 1
        for status, d1, d2 in self.parser.feed(data):
            self._apply(status, d1, d2, t)

    def apply(self, status: int, d1: int, d2: int, t: float) -> None:
        """One complete channel message (e.g. from a MIDI file) at score time ``t``."""
        self.events_received += 1
        self._apply(status, d1, d2, t)

    def _apply(self, status: int, d1: int, d2: int, t: float) -> None:
        kind, ch = status >> 4, status & 0x0F
        if self.channels is not None and ch not in self.channels:
            self.other_channels += 1
            return
        key = (ch, d1)
        if kind == 0x9 and d2 > 0:
            self._down[key] = (d2, t)
            self._held.pop(key, None)
            self.notes_started += 1
            self.last_note_event = t
        elif kind == 0x8 or kind == 0x9:
            note = self._down.pop(key, None)
            if note is not None and self._pedal[ch]:
                self._held[key] = note
            self.last_note_event = t
        elif kind == 0xE:
            self._bend[ch] = ((d2 << 7 | d1) - 8192) / 8192.0 * self._bend_range[ch]
        elif kind == 0xB:
            self._control(ch, d1, d2)

    def _control(self, ch: int, number: int, value: int) -> None:
        if number == SUSTAIN:
            self._pedal[ch] = value >= 64
            if not self._pedal[ch]:
                for key in [k for k in self._held if k[0] == ch]:
                    del self._held[key]
        elif number in (ALL_SOUND_OFF, ALL_NOTES_OFF):
            for notes in (self._down, self._held):
                for key in [k for k in notes if k[0] == ch]:
                    del notes[key]
        elif number == RESET_CONTROLLERS:
            self._pedal[ch], self._bend[ch] = False, 0.0
            self._rpn[ch] = (127, 127)
            for key in [k for k in self._held if k[0] == ch]:
                del self._held[key]
        elif number == RPN_MSB:
            self._rpn[ch] = (value, self._rpn[ch][1])
        elif number == RPN_LSB:
            self._rpn[ch] = (self._rpn[ch][0], value)
        elif number in (DATA_MSB, DATA_LSB) and self._rpn[ch] == (0, 0):  # bend sensitivity
            semis, cents = divmod(self._bend_range[ch] * 100.0, 100.0)
            if number == DATA_MSB:
                semis = float(value)
            else:
                cents = float(value)
            self._bend_range[ch] = semis + cents / 100.0

    # -- per hop -----------------------------------------------------------------------------
    def advance(self, t: float) -> None:
        """Move to score time ``t``: end stuck notes, refresh ``f0_hz``/``velocity``/``n_f0``."""
        self.now = t
        if self._down or self._held:
            limit = t - self.max_note_s
            for notes in (self._down, self._held):
                stuck = [k for k, (_, on) in notes.items() if on < limit]
                for key in stuck:
                    del notes[key]
                self.stuck_notes += len(stuck)
        sounding = sorted(list(self._down.items()) + list(self._held.items()),
                          key=lambda item: -item[1][1])[:MAX_NOTES]
        self.n_f0 = len(sounding)
        for i, ((ch, key), (vel, _)) in enumerate(sounding):
            self.f0_hz[i] = midi_to_hz(key + self._bend[ch])
            self.velocity[i] = vel
        if sounding:
            self.last_sounding = t

    # -- what readers ask --------------------------------------------------------------------
    @property
    def notes_active(self) -> int:
        return len(self._down) + len(self._held)

    @property
    def events_dropped(self) -> int:
        """Bytes that could not be parsed, plus events a full queue had to drop."""
        return self.parser.dropped + self.overflows

    @property
    def informative(self) -> bool:
        """Whether the score speaks now: a note sounds, the score is complete (a file), or a
        live score had a note recently (a rest in the song, not a score that stopped)."""
        return (self.n_f0 > 0 or self.complete
                or self.now - self.last_note_event < self.idle_s)

    def silent_for(self) -> float:
        """Seconds since a note last sounded (inf if none ever did)."""
        return self.now - self.last_sounding

    def counters(self) -> dict:
        """Counts for status lines and summaries."""
        return {"notes_active": self.notes_active, "events_received": self.events_received,
                "events_dropped": self.events_dropped, "events_ignored": self.parser.ignored,
                "other_channels": self.other_channels, "stuck_notes": self.stuck_notes,
                "notes_started": self.notes_started}
