"""Scores: the voice's notes from a MIDI file or a live MIDI port, in step with the audio.

``state.ScoreState`` is the one vocabulary (sounding notes as f0s per hop, counters) that the
score primitive, the engine's gate and models read; ``source`` holds the inputs the engine
follows (``FileScore``; the live port is ``rtsep.live.midi``); ``smf`` reads MIDI files and
chooses the voice's part; ``parser`` turns raw bytes into messages.
"""

from .smf import (
    Timeline,
    notes_from_pitch_track,
    read_score,
    timeline_from_notes,
    timeline_notes,
)
from .source import FileScore, ScoreGuidance, ScoreInput
from .state import MAX_NOTES, ScoreState, midi_to_hz

__all__ = ["ScoreState", "ScoreInput", "FileScore", "ScoreGuidance", "Timeline", "read_score",
           "timeline_from_notes", "timeline_notes", "notes_from_pitch_track", "midi_to_hz", "MAX_NOTES"]
