"""Score inputs: what the engine holds to follow a score, hop by hop.

A ``ScoreInput`` owns a :class:`~rtsep.score.state.ScoreState` and knows where its events come
from. The engine calls ``advance(end_sample)`` before it computes a hop's mask (every event
stamped before the hop's last sample is applied, so events land on the hop whose audio they
belong to) and ``mask_ready()`` once the mask exists (live inputs time their events from arrival
to mask). ``gate`` is the factor the engine applies to the vocal mask for the hop: below 1 only
where the score is informative and says that nothing is sung.

``FileScore`` plays a :class:`~rtsep.score.smf.Timeline` against the audio's sample clock;
``rtsep.live.midi.LiveMidiInput`` is the live one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .smf import Timeline, read_score, timeline_notes
from .state import ScoreState, midi_to_hz

LATENCY_RING = 4096


@dataclass(frozen=True)
class ScoreGuidance:
    """How the engine uses a score (chosen on rendered songs and MIR-1K training singers;
    BENCHMARKS.md, "Score guidance"; the score's clustering weight is in ``rtsep.config``).

    ``rest_gain``: vocal-mask factor where the score says nobody sings (1 = no gate);
    ``gate_hold_s``: the gate waits this long after the last note (the sung release).
    ``lookahead_s``: a file score also offers the notes that start this soon, and does not
    gate before them (slack for a score that runs late, and for consonants before a sung
    vowel; a live score cannot see ahead). The score primitive
    (``rtsep.primitives.score.ScoreCue``) gets ``hold_s`` (how long an ended note's comb
    stays on offer), ``search_semitones`` (each note's f0 is refined to the strongest
    harmonic series within this many semitones in the audio), ``rest_value`` (its mask where
    no note sounds) and ``off_value`` (its mask between the partials of a note).
    """

    rest_gain: float = 0.5
    gate_hold_s: float = 0.25
    lookahead_s: float = 0.2
    hold_s: float = 0.25
    search_semitones: float = 1.0
    rest_value: float = 0.0
    off_value: float = 0.0

    def cue_params(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in ("hold_s", "search_semitones", "rest_value", "off_value")}


class ScoreInput:
    """Base class: a state, the per-hop gate and the event-to-mask timing."""

    kind = "score"

    def __init__(self, state: ScoreState, guidance: ScoreGuidance | None = None):
        self.state = state
        self.guidance = guidance or ScoreGuidance()
        self.sr = 0
        self.gate = 1.0
        self.latencies = np.zeros(LATENCY_RING)  # seconds from arrival to mask, a ring
        self.n_latencies = 0
        self._arrivals: list[float] = []  # perf_counter stamps of events applied, not yet timed

    def bind(self, sr: int) -> None:
        """Called by the engine with its sample rate (the score's clock)."""
        self.sr = int(sr)

    def reset(self) -> None:
        self.state.reset()
        self.gate = 1.0
        self.n_latencies = 0
        self._arrivals.clear()

    def advance(self, end_sample: int) -> None:
        """Apply the events before ``end_sample``; update the state and the gate."""
        t = end_sample / self.sr
        self._apply_until(t)
        st = self.state
        st.advance(t)
        g = self.guidance
        resting = (st.informative and st.n_f0 == 0 and st.n_upcoming == 0
                   and st.silent_for() > g.gate_hold_s)
        # a score the audio does not bear out gates less (``state.trust``, from the cue)
        self.gate = 1.0 - st.trust * (1.0 - g.rest_gain) if resting else 1.0

    def _apply_until(self, t: float) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def mask_ready(self) -> None:
        """The hop's mask is computed: time the events applied since the last mask."""
        if not self._arrivals:
            return
        now = time.perf_counter()
        for stamp in self._arrivals:
            self.latencies[self.n_latencies % LATENCY_RING] = now - stamp
            self.n_latencies += 1
        self._arrivals.clear()

    def latency_stats(self) -> dict:
        """Event-to-mask latency over the last events (ms): count, p50, p99, max."""
        n = min(self.n_latencies, LATENCY_RING)
        if n == 0:
            return {"events_timed": 0}
        lat = 1000.0 * self.latencies[:n]
        return {"events_timed": int(self.n_latencies),
                "latency_p50_ms": float(np.median(lat)),
                "latency_p99_ms": float(np.percentile(lat, 99)),
                "latency_max_ms": float(lat.max())}

    def summary(self) -> dict:
        return {**self.state.counters(), **self.latency_stats()}

    def status_text(self) -> str:
        """The score's part of the live status line."""
        st = self.state
        text = (f"score: notes {st.notes_active}, events {st.events_received} "
                f"(dropped {st.events_dropped})")
        n = min(self.n_latencies, LATENCY_RING)
        if n:
            recent = self.latencies[(self.n_latencies - min(n, 64) + np.arange(min(n, 64)))
                                    % LATENCY_RING]
            text += f", to mask {1000 * float(np.median(recent)):.1f} ms"
        return text


class FileScore(ScoreInput):
    """A MIDI file's part played in step with the audio: event time + ``offset_s`` is the
    moment in the audio it belongs to."""

    kind = "file"

    def __init__(self, timeline: Timeline, offset_s: float = 0.0,
                 guidance: ScoreGuidance | None = None, **state_kw):
        super().__init__(ScoreState(complete=True, **state_kw), guidance)
        self.timeline = timeline
        self.offset_s = float(offset_s)
        self._pos = 0
        notes = timeline_notes(timeline)
        self._onsets = np.array([n[0] for n in notes]) + self.offset_s
        self._keys = np.array([n[2] for n in notes], dtype=np.float64)

    @classmethod
    def from_file(cls, path, channel="auto", offset_s: float = 0.0, **kw) -> "FileScore":
        return cls(read_score(path, channel), offset_s, **kw)

    def reset(self) -> None:
        super().reset()
        self._pos = 0

    def _apply_until(self, t: float) -> None:
        times, msgs = self.timeline.times, self.timeline.messages
        shift = self.offset_s
        i, n = self._pos, times.shape[0]
        while i < n and times[i] + shift < t:
            s, d1, d2 = msgs[i]
            self.state.apply(int(s), int(d1), int(d2), float(times[i] + shift))
            i += 1
        self._pos = i
        st, ahead = self.state, self.guidance.lookahead_s
        st.n_upcoming = 0
        if ahead > 0 and self._onsets.size:
            lo, hi = np.searchsorted(self._onsets, [t, t + ahead])
            for key in self._keys[lo:hi][: st.upcoming_hz.shape[0]]:
                st.upcoming_hz[st.n_upcoming] = midi_to_hz(key)
                st.n_upcoming += 1
