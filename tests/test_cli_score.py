"""`rtsep separate --score`: the command follows the file's voice part exactly as the API does,
and a bad score or a score option without a score is one line and exit status 2."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from rtsep.config import SCORE_PRIMITIVES, EngineConfig
from rtsep.score import FileScore
from rtsep.separate import separate_array

from .music import song
from .test_cli_separate import assert_clean_failure, rtsep
from .test_score import _write_song


@pytest.fixture(scope="module")
def song_and_score(tmp_path_factory):
    from rtsep.songs.default import render_default_song

    tmp = tmp_path_factory.mktemp("score")
    x = song(3.0, sr=44100, channels=2, offset_s=2.0)
    wav = tmp / "in.wav"
    sf.write(wav, x.T, 44100, subtype="FLOAT")
    return wav, render_default_song(sr=44100)["song_midi"]


def test_separate_follows_the_scores_voice_part(song_and_score, tmp_path):
    wav, midi = song_and_score
    out = tmp_path / "out"
    proc = rtsep("separate", wav, "--out", out, "--score", midi, "--score-offset", "-2",
                 "--primitives-only")
    assert proc.returncode == 0, proc.stderr
    assert "score: track 'lead', channel 5" in proc.stderr  # the voice, among every part
    x, _ = sf.read(wav, always_2d=True)
    score = FileScore.from_file(midi, offset_s=-2.0)
    want, _ = separate_array(x.T, 44100, EngineConfig(primitives=SCORE_PRIMITIVES), score=score)
    got, _ = sf.read(out / "in" / "vocals.wav", always_2d=True)  # OUT/SONG/
    np.testing.assert_allclose(got.T, want, atol=1e-6)
    plain, _ = separate_array(x.T, 44100, EngineConfig())
    assert np.abs(got.T - plain).max() > 1e-3  # and the score changed the result


@pytest.mark.parametrize("args,fragment", [
    (["--score", "CUT"], "truncated"),
    (["--score", "GOOD", "--score-channel", "17"], "channels are 1 to 16"),
    (["-p", "score"], "needs a score"),
    (["--score-offset", "0.5"], "needs --score"),
])
def test_bad_scores_are_one_line(song_and_score, tmp_path, args, fragment):
    wav, _ = song_and_score
    cut = _write_song(tmp_path / "cut.mid", truncate=True)
    good = _write_song(tmp_path / "good.mid")
    args = [str(cut) if a == "CUT" else str(good) if a == "GOOD" else a for a in args]
    out = tmp_path / "out"
    assert_clean_failure(rtsep("separate", wav, "--out", out, *args), out, fragment)


def test_a_score_follows_one_song_not_a_batch(song_and_score, tmp_path):
    wav, _ = song_and_score
    good = _write_song(tmp_path / "good.mid")
    other = tmp_path / "other.wav"
    other.write_bytes(wav.read_bytes())
    out = tmp_path / "out"
    assert_clean_failure(rtsep("separate", wav, other, "--out", out, "--score", good),
                         out, "--score follows one song")
