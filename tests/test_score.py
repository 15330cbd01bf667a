"""The score: MIDI bytes and files to sounding f0s per hop, whatever the input throws at it."""

from __future__ import annotations

import numpy as np
import pytest

from rtsep.errors import ScoreFileError
from rtsep.score import (
    FileScore,
    ScoreState,
    midi_to_hz,
    notes_from_pitch_track,
    read_score,
    timeline_from_notes,
    timeline_notes,
)
from rtsep.score.parser import MidiParser


# -- bytes --------------------------------------------------------------------------------------
def test_parser_follows_running_status_realtime_bytes_and_split_messages():
    p = MidiParser()
    # note on, then two more notes in running status, a clock byte inside the second
    got = p.feed([0x90, 60, 100, 62, 0xF8, 101, 64])
    assert got == [(0x90, 60, 100), (0x90, 62, 101)]
    assert p.feed([102]) == [(0x90, 64, 102)]  # the message completes in the next chunk
    assert p.feed(bytes([0xE3, 0x00, 0x40, 0xC0, 5])) == [(0xE3, 0, 64), (0xC0, 5, 0)]
    assert p.ignored == 1 and p.dropped == 0 and p.messages == 5


def test_parser_skips_sysex_and_counts_garbage_without_raising():
    p = MidiParser()
    got = p.feed([0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7,  # SysEx (GM on): ignored whole
                  0x45, 0x12,  # data bytes with no status: dropped
                  0x90, 60,  # cut short by the next status byte: dropped
                  0x80, 60, 0,  # a whole note off
                  0xF4, 0xF5, 0xFD,  # undefined system bytes: ignored
                  0xF2, 1, 2,  # song position: ignored, and it ends running status
                  61, 0xF7])  # a data byte without status, a stray end of SysEx: dropped
    assert got == [(0x80, 60, 0)]
    assert p.dropped == 5 and p.ignored == 5
    rng = np.random.default_rng(0)
    p.feed(rng.integers(0, 256, 5000).astype(np.uint8).tobytes())  # noise parses, somehow
    assert p.dropped > 5


# -- state --------------------------------------------------------------------------------------
def _f0s(st: ScoreState) -> list[float]:
    return sorted(np.round(st.f0_hz[: st.n_f0], 3).tolist())


def test_state_notes_sustain_bend_and_channel_filter():
    st = ScoreState(channels=[4])
    st.receive([0x94, 69, 100], 0.0)
    st.receive([0x90, 40, 100], 0.0)  # another channel: not the voice
    st.advance(0.01)
    assert _f0s(st) == [440.0] and st.other_channels == 1
    st.receive([0xE4, 0x00, 0x60], 0.02)  # bend up half the range (2 semitones): +1 semitone
    st.advance(0.03)
    assert _f0s(st) == [round(midi_to_hz(70), 3)]
    st.receive([0xB4, 64, 127, 0x84, 69, 0, 0x94, 72, 90], 0.04)  # pedal down, 69 up, 72 on
    st.advance(0.05)
    assert st.notes_active == 2  # 69 sustained by the pedal
    st.receive([0xB4, 64, 0], 0.06)  # pedal up: 69 ends
    st.advance(0.07)
    assert st.notes_active == 1 and st.f0_hz[0] == pytest.approx(midi_to_hz(73))
    # bend range 12 semitones by RPN 0, then the full bend down: an octave
    st.receive([0xB4, 101, 0, 0xB4, 100, 0, 0xB4, 6, 12, 0xE4, 0, 0], 0.08)
    st.advance(0.09)
    assert st.f0_hz[0] == pytest.approx(midi_to_hz(60))
    st.receive([0xB4, 123, 0], 0.1)  # all notes off
    st.advance(0.11)
    assert st.n_f0 == 0 and st.silent_for() == pytest.approx(0.02)


def test_stuck_notes_end_and_a_live_score_falls_silent_when_idle():
    st = ScoreState(max_note_s=2.0, idle_s=1.0)
    assert not st.informative  # nothing heard yet: the score has no opinion
    st.receive([0x90, 60, 100], 0.0)  # its note off never comes
    st.advance(1.0)
    assert st.n_f0 == 1 and st.informative
    st.advance(2.5)
    assert st.n_f0 == 0 and st.stuck_notes == 1
    assert st.informative is False  # idle for longer than idle_s
    st.receive([0x90, 62, 0], 2.6)  # a note off (velocity 0) of a note that never sounded
    st.advance(2.7)
    assert st.informative and st.n_f0 == 0  # a rest in a score that speaks
    assert st.counters()["events_received"] == 2


# -- files --------------------------------------------------------------------------------------
def _write_song(path, names=("bass", "lead vocal", "flute"), truncate=False):
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000),
                           mido.MetaMessage("set_tempo", tempo=1000000, time=960)])
    mid.tracks.append(meta)
    for name, ch, keys in zip(names, (0, 4, 5), ([36, 38], [60, 62, 64], [84, 86])):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)] if name else [])
        for key in keys:
            track.append(mido.Message("note_on", channel=ch, note=key, velocity=90))
            track.append(mido.Message("note_off", channel=ch, note=key, time=480))
        mid.tracks.append(track)
    drums = mido.MidiTrack([mido.Message("note_on", channel=9, note=100, velocity=90),
                            mido.Message("note_off", channel=9, note=100, time=10)])
    mid.tracks.append(drums)
    mid.save(str(path))
    if truncate:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 20])
    return path


def test_midi_file_part_choice_and_tempo_map(tmp_path):
    path = _write_song(tmp_path / "song.mid")
    tl = read_score(path)
    assert "lead vocal" in tl.part and tl.n_notes == 3  # by name
    notes = timeline_notes(tl)
    # 120 bpm for two beats, then 60 bpm: the third note starts at 1 s and lasts 1 s
    assert [(round(a, 6), round(b, 6), k) for a, b, k in notes] == \
        [(0.0, 0.5, 60), (0.5, 1.0, 62), (1.0, 2.0, 64)]
    assert "flute" in read_score(path, "6").part
    assert "bass" in read_score(path, "BASS").part
    unnamed = read_score(_write_song(tmp_path / "unnamed.mid", names=("", "", "")))
    assert unnamed.part.endswith("channel 6")  # the highest melodic part; drums never
    with pytest.raises(ScoreFileError, match="no notes on channel 3 .*1, 5, 6, 10"):
        read_score(path, "3")
    with pytest.raises(ScoreFileError, match="no track named like 'choir'"):
        read_score(path, "choir")


def test_bad_midi_files_are_one_line_errors(tmp_path):
    truncated = _write_song(tmp_path / "cut.mid", truncate=True)
    with pytest.raises(ScoreFileError, match="truncated") as info:
        read_score(truncated)
    assert "\n" not in str(info.value)
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(ScoreFileError, match="not a readable MIDI file"):
        read_score(garbage)
    with pytest.raises(ScoreFileError, match="no such file"):
        read_score(tmp_path / "missing.mid")


def test_file_score_applies_each_event_on_the_hop_of_its_sample():
    tl = timeline_from_notes([(0.5, 1.0, 69)])
    score = FileScore(tl, offset_s=0.25)
    score.bind(1000)
    score.advance(750)  # the note starts at 0.75 s: not before sample 750
    assert score.state.n_f0 == 0
    score.advance(751)
    assert score.state.n_f0 == 1 and score.gate == 1.0
    score.advance(1251)
    assert score.state.n_f0 == 0
    score.advance(1600)  # rested longer than the gate's hold: the vocal mask is scaled down
    assert score.gate == score.guidance.rest_gain < 1.0


def test_file_score_offers_the_notes_that_start_soon():
    from rtsep.score import ScoreGuidance

    score = FileScore(timeline_from_notes([(1.0, 1.5, 69), (1.1, 1.5, 72)]),
                      guidance=ScoreGuidance(lookahead_s=0.2, gate_hold_s=0.1))
    score.bind(1000)
    score.advance(700)
    assert score.state.n_upcoming == 0 and score.gate < 1.0  # a rest: the mask is scaled
    score.advance(850)
    assert score.state.n_upcoming == 1 and score.state.upcoming_hz[0] == pytest.approx(440.0)
    assert score.gate == 1.0  # the voice may come in early: no gate before a note
    score.advance(1001)
    assert score.state.n_f0 == 1 and score.state.n_upcoming == 1  # 72 starts at 1.1 s


def test_pitch_track_to_notes():
    # 20 ms frames from 20 ms: 10 frames of A4 with a one-frame blip, rest, 3 frames (too short)
    track = np.array([69.2] * 5 + [70.6] + [68.8] * 4 + [0] * 5 + [72.0] * 2 + [0])
    notes = notes_from_pitch_track(track)
    assert notes == [(pytest.approx(0.01), pytest.approx(0.21), 69)]
