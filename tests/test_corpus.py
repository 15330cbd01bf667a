"""The rendered multitrack corpus: exact stems, an aligned vocal score, bitwise reproducible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rtsep.io.audio import read_audio
from tests._alignment import energy_onsets, max_misalignment, midi_notes, phrase_onsets

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None,
                                reason="fluidsynth not installed (apt-get install fluidsynth)")
SONGS, SECONDS, SEED, SR = 3, 6.0, 11, 44100
FILES = {"mixture.wav", "vocals.wav", "accompaniment.wav", "drums.wav", "bass.wav", "other.wav",
         "vocals.mid", "song.mid", "meta.json"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from offline_training.corpus import render_corpus

    out = tmp_path_factory.mktemp("corpus")
    return out, render_corpus(out, SONGS, SECONDS, SEED, sr=SR, workers=2)


def _load(folder, name):
    x, sr = read_audio(folder / f"{name}.wav")
    assert sr == SR and x.shape == (2, round(SECONDS * SR))
    return x


def _rms(x):
    return float(np.sqrt(np.mean(x ** 2)))


def test_each_song_has_its_files_and_meta(corpus):
    out, folders = corpus
    assert [f.name for f in folders] == [f"song_{i:04d}" for i in range(SONGS)]
    assert sorted(p.name for p in out.iterdir()) == [f.name for f in folders]  # no temporaries
    for folder in folders:
        assert {p.name for p in folder.iterdir()} == FILES
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["sr"] == SR and meta["seconds"] == SECONDS and meta["corpus_seed"] == SEED
        assert meta["style"] in ("straight", "swing", "waltz") and 80 <= meta["tempo_bpm"] <= 150
        assert meta["licence"] == "rendered by rtsep from generated MIDI with FluidR3_GM (MIT)"
        assert meta["programs"]["vocals"]["program"] in (52, 53)
        assert {"bass", "chords", "counter", "drums"} <= set(meta["programs"])
        assert -6.0 <= meta["vocal_to_accompaniment_db"] <= 3.0


def test_stems_add_up(corpus):
    _, folders = corpus
    for folder in folders:
        s = {n: _load(folder, n) for n in ("mixture", "vocals", "accompaniment", "drums", "bass",
                                             "other")}
        assert np.max(np.abs(s["drums"] + s["bass"] + s["other"] - s["accompaniment"])) <= 1e-6
        assert np.max(np.abs(s["vocals"] + s["accompaniment"] - s["mixture"])) <= 1e-6
        assert np.max(np.abs(s["mixture"])) <= 0.9
        for name in ("vocals", "drums", "bass", "other"):
            assert _rms(s[name]) > 1e-3, (folder.name, name)
        # The ratio written in meta.json is the one in the audio.
        meta = json.loads((folder / "meta.json").read_text())
        ratio = 20 * np.log10(_rms(s["vocals"]) / _rms(s["accompaniment"]))
        assert abs(ratio - meta["vocal_to_accompaniment_db"]) < 0.05


def test_vocal_score_lines_up_with_the_vocal_stem(corpus):
    _, folders = corpus
    checked = 0
    for folder in folders:
        notes = midi_notes(folder / "vocals.mid")
        starts = phrase_onsets(notes)
        onsets = energy_onsets(_load(folder, "vocals"), SR)
        # Every phrase the score starts after a rest is heard within one hop (256 samples) of
        # it, and every onset heard is a note of the score.
        to_audio, _ = max_misalignment(starts, onsets, SR)
        _, to_score = max_misalignment(np.array([on for on, _ in notes]), onsets, SR)
        assert to_audio <= 256 and to_score <= 256, (folder.name, to_audio, to_score)
        checked += len(starts)
    assert checked >= SONGS


def test_same_seed_gives_identical_files(corpus, tmp_path):
    from offline_training.corpus import render_corpus

    out, folders = corpus
    again = render_corpus(tmp_path / "again", SONGS, SECONDS, SEED, sr=SR, workers=1)
    for a, b in zip(folders, again):
        for name in FILES:
            assert (a / name).read_bytes() == (b / name).read_bytes(), (a.name, name)


def test_rendering_again_keeps_finished_songs(corpus):
    from offline_training.corpus import render_corpus

    out, folders = corpus
    before = {p: p.stat().st_mtime_ns for f in folders for p in f.iterdir()}
    render_corpus(out, SONGS, SECONDS, SEED, sr=SR)
    assert {p: p.stat().st_mtime_ns for f in folders for p in f.iterdir()} == before


def test_styles_vary_across_songs():
    from offline_training.corpus import random_style, song_seed

    styles = [random_style(np.random.default_rng(song_seed(0, i))) for i in range(60)]
    assert {name for _, name in styles} == {"straight", "swing", "waltz"}
    assert len({s.tonic % 12 for s, _ in styles}) >= 8
    tempi = [s.tempo_bpm for s, _ in styles]
    assert min(tempi) >= 80 and max(tempi) <= 150 and max(tempi) - min(tempi) > 40
    assert {s.vocal_program for s, _ in styles} == {52, 53}
    assert len({s.chord_program for s, _ in styles}) >= 4
    assert all((s.beats_per_bar == 3) == (name == "waltz") for s, name in styles)
    assert all((s.swing > 0) == (name == "swing") for s, name in styles)


def test_command_line(tmp_path):
    env = dict(os.environ)
    ok = subprocess.run([sys.executable, "-m", "offline_training", "render-corpus",
                         str(tmp_path / "c"), "--songs", "1", "--seconds", "2", "--seed", "5"],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert {p.name for p in (tmp_path / "c" / "song_0000").iterdir()} == FILES
    bad = subprocess.run([sys.executable, "-m", "offline_training", "render-corpus",
                          str(tmp_path / "d"), "--songs", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert not (tmp_path / "d").exists()
