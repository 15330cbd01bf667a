"""The built-in song: exact stems, a voice that is there, a score that lines up, a cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rtsep.errors import RtsepError
from rtsep.io.audio import read_audio
from tests._alignment import energy_onsets, max_misalignment, midi_notes, phrase_onsets

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None,
                                reason="fluidsynth not installed (apt-get install fluidsynth)")
SR = 44100
SECONDS = 12.0
WAVS = ("mixture", "vocals", "accompaniment")


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    from rtsep.songs.default import render_default_song

    paths = render_default_song(tmp_path_factory.mktemp("song"), sr=SR, seconds=SECONDS, seed=0)
    audio = {name: read_audio(paths[name]) for name in WAVS}
    return paths, {name: x for name, (x, _) in audio.items()}, {sr for _, sr in audio.values()}


def _rms(x):
    return float(np.sqrt(np.mean(x ** 2)))


def test_stems_add_up_to_the_mixture(song):
    paths, audio, rates = song
    assert rates == {SR}
    for name in WAVS:
        assert audio[name].shape == (2, round(SECONDS * SR))
        assert sf.info(paths[name]).subtype == "FLOAT"
        assert np.max(np.abs(audio[name])) <= 0.9  # normalised with headroom: nothing clips
    err = np.max(np.abs(audio["mixture"] - audio["vocals"] - audio["accompaniment"]))
    assert err <= 1e-6
    assert paths["song_midi"].is_file() and paths["vocals_midi"].is_file()


def test_voice_is_present_and_balanced(song):
    _, audio, _ = song
    v, a = audio["vocals"], audio["accompaniment"]
    assert _rms(v) > 0.01
    # The default song mixes the voice at 0 dB re the accompaniment.
    assert abs(20 * np.log10(_rms(v) / _rms(a))) < 0.5
    # The voice sings in a singer's range: most of its energy lies between 150 Hz and 2 kHz.
    spec = np.abs(np.fft.rfft(v.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(v.shape[1], 1 / SR)
    band = spec[(freqs > 150) & (freqs < 2000)].sum() / spec.sum()
    assert band > 0.6


def test_vocal_score_lines_up_with_the_vocal_stem(song):
    paths, audio, _ = song
    notes = midi_notes(paths["vocals_midi"])
    starts = phrase_onsets(notes)
    onsets = energy_onsets(audio["vocals"], SR)
    assert len(starts) >= 2 and len(notes) >= 10
    to_audio, _ = max_misalignment(starts, onsets, SR)
    _, to_score = max_misalignment(np.array([on for on, _ in notes]), onsets, SR)
    assert to_audio <= 256 and to_score <= 256


def _spectra(x, n_fft=4096, hop=2048):
    mono = x.mean(axis=0)
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop] * np.hanning(n_fft)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    return mag / (np.linalg.norm(mag, axis=1, keepdims=True) + 1e-12), hop


def test_accompaniment_loops(song):
    from rtsep.songs.default import default_song_style

    _, audio, _ = song
    style = default_song_style()
    loop_s = len(style.progression) * style.beats_per_bar * 60.0 / style.tempo_bpm
    mag, hop = _spectra(audio["accompaniment"])
    lag = round(loop_s * SR / hop)
    # Frames one loop apart hold the same bar of the loop; half a loop apart, another chord.
    same = np.mean(np.sum(mag[:-lag] * mag[lag:], axis=1))
    half = lag // 2
    other = np.mean(np.sum(mag[:-half] * mag[half:], axis=1))
    assert same > 0.9 and same > other + 0.1


def test_melody_never_repeats_a_loop():
    from rtsep.songs.compose import compose
    from rtsep.songs.default import default_song_style

    style = default_song_style()
    loop = len(style.progression) * style.beats_per_bar
    vocal = compose(style, 120.0, seed=0).stem_parts("vocals")[0]
    groups: dict[int, tuple] = {}
    for n in vocal.notes:
        k = int(n.start // loop)
        groups[k] = groups.get(k, ()) + ((n.start % loop, n.length, n.pitch),)
    lines = list(groups.values())
    assert len(lines) >= 10 and len(set(lines)) == len(lines)


def test_same_seed_same_files_and_a_new_seed_a_new_tune(song, tmp_path):
    from rtsep.songs.default import render_default_song

    paths, audio, _ = song
    again = render_default_song(tmp_path / "again", sr=SR, seconds=SECONDS, seed=0)
    for name, path in paths.items():
        assert again[name].read_bytes() == path.read_bytes(), name
    other = render_default_song(tmp_path / "other", sr=SR, seconds=SECONDS, seed=1)
    v1 = read_audio(other["vocals"])[0]
    assert np.max(np.abs(v1 - audio["vocals"])) > 0.1
    assert other["vocals_midi"].read_bytes() != paths["vocals_midi"].read_bytes()


def test_second_call_is_a_cache_hit(song):
    from rtsep.songs.default import render_default_song

    paths, _, _ = song
    folder = paths["mixture"].parent
    before = {p: p.stat().st_mtime_ns for p in paths.values()}
    again = render_default_song(folder, sr=SR, seconds=SECONDS, seed=0)
    # nothing was rendered or written again: every file is the one written the first time
    assert again == paths and {p: p.stat().st_mtime_ns for p in paths.values()} == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_default_song_lives_in_the_user_cache():
    from kernels import user_cache_dir
    from rtsep.songs.default import render_default_song

    paths = render_default_song()  # what `make demo` and the profiler use
    # the tests' own cache (conftest), never the user's real ~/.cache
    assert paths["mixture"].is_relative_to(user_cache_dir() / "songs")
    assert not paths["mixture"].is_relative_to(Path.home() / ".cache")
    before = {p: p.stat().st_mtime_ns for p in paths.values()}
    assert render_default_song() == paths
    assert {p: p.stat().st_mtime_ns for p in paths.values()} == before
    x, sr = read_audio(paths["mixture"])
    assert sr == 44100 and x.shape == (2, 20 * 44100)


def test_other_sample_rates(tmp_path):
    from rtsep.songs.default import render_default_song

    paths = render_default_song(tmp_path, sr=16000, seconds=3.0, seed=0)
    m, sr = read_audio(paths["mixture"])
    v, _ = read_audio(paths["vocals"])
    a, _ = read_audio(paths["accompaniment"])
    assert sr == 16000 and m.shape == (2, 48000)
    assert np.max(np.abs(m - v - a)) <= 1e-6


def test_damaged_stamp_renders_again_and_bad_options_are_config_errors(tmp_path):
    from rtsep.errors import ConfigError
    from rtsep.songs.default import render_default_song

    paths = render_default_song(tmp_path, sr=8000, seconds=1.0, seed=0)
    good = paths["vocals"].read_bytes()
    (tmp_path / "song.json").write_text("{not json")
    paths["vocals"].write_bytes(b"garbage")
    assert render_default_song(tmp_path, sr=8000, seconds=1.0, seed=0) == paths
    assert paths["vocals"].read_bytes() == good
    for bad in ({"sr": 4000}, {"seconds": 0.0}):
        with pytest.raises(ConfigError):
            render_default_song(tmp_path / "bad", **bad)


def test_missing_soundfont_and_bad_midi_are_one_line_errors(tmp_path, monkeypatch):
    import rtsep.songs.fluidsynth as render

    with pytest.raises(RtsepError) as info:
        render.render_midi(tmp_path / "none.mid", None, SR)
    assert "no such MIDI file" in str(info.value)
    junk = tmp_path / "junk.mid"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    with pytest.raises(RtsepError) as info:
        render.render_midi(junk, None, SR)
    assert "junk.mid" in str(info.value) and "\n" not in str(info.value)
    monkeypatch.delenv("RTSEP_SOUNDFONT", raising=False)
    monkeypatch.setattr(render, "SOUNDFONT_DIRS", (tmp_path,))
    with pytest.raises(RtsepError) as info:
        render.find_soundfont()
    assert "apt-get install fluidsynth fluid-soundfont-gm" in str(info.value)


def test_score_timing_swing_fades_and_advance(tmp_path):
    import mido

    from rtsep.songs.compose import Style, compose
    from rtsep.songs.midi import note_times, write_midi

    style = Style(tempo_bpm=120.0, swing=1.0, counter_program=73)
    song = compose(style, 9.3, seed=3)
    vocal = song.stem_parts("vocals")[0]
    written = write_midi(song, [vocal], tmp_path / "v.mid")
    got = [on for on, _ in midi_notes(written)]
    want = [on for on, _, _, _ in note_times(song, vocal)]
    assert np.allclose(got, want, atol=1e-9) and max(want) < 9.3  # nothing after the end
    assert abs(mido.MidiFile(str(written)).length - 9.3) < 0.01
    # Full swing puts an off-beat eighth on the last triplet: 2/3 of the beat, 1/3 s at 120 bpm.
    offbeats = [on % 0.5 for on in want if abs(on % 0.5) > 1e-6]
    assert offbeats and np.allclose(offbeats, 1 / 3, atol=1e-3)
    # Each long rest holds a fade of the expression controller to 0, then an all-sound-off.
    controls = [m for m in mido.MidiFile(str(written)) if m.type == "control_change"]
    assert [m.value for m in controls if m.control == 11].count(0) >= 1
    assert any(m.control == 120 for m in controls)
    # ``advance`` sends the notes early by the amount given for their pitch (to one tick).
    early = write_midi(song, [vocal], tmp_path / "early.mid", advance={"lead": np.full(128, 0.02)})
    shifted = [on for on, _ in midi_notes(early)]
    assert np.allclose(np.array(got) - np.array(shifted), 0.02, atol=0.5 / 480 + 1e-9)
