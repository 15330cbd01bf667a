"""Data loaders: both MUSDB-style layouts, any rate and channel count, clear errors."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from rtsep.errors import AudioFileError, ConfigError
from rtsep.io.datasets import (
    dev_set,
    iter_tracks,
    load_track,
    shared_data_root,
    solo_recordings,
    track_folders,
    unlabelled_mixtures,
)

from .music import song

SHARED_DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


def write(path: Path, x: np.ndarray, sr: int) -> None:
    """``x`` is ``(channels, samples)``; 24-bit files keep the stems' sum exact enough."""
    soundfile.write(str(path), x.T, sr, subtype="PCM_24")


def make_track(folder: Path, sr: int, channels: int, layout: str, suffix: str = ".flac"):
    """A track from the rendered song: vocals + accompaniment, or the accompaniment split in
    three MUSDB stems (by frequency band, so each stem is real, different music)."""
    mix, voc = song(1.5, sr=sr, channels=channels, with_vocals=True)
    mix, voc = 0.5 * mix, 0.5 * voc
    acc = mix - voc
    folder.mkdir(parents=True)
    write(folder / f"mixture{suffix}", mix, sr)
    write(folder / f"vocals{suffix}", voc, sr)
    if layout == "two":
        write(folder / f"accompaniment{suffix}", acc, sr)
    else:
        spec = np.fft.rfft(acc, axis=-1)
        edges = np.linspace(0, spec.shape[-1], 4).astype(int)
        for stem, lo, hi in zip(("bass", "drums", "other"), edges[:-1], edges[1:]):
            band = np.zeros_like(spec)
            band[:, lo:hi] = spec[:, lo:hi]
            write(folder / f"{stem}{suffix}", np.fft.irfft(band, n=acc.shape[-1], axis=-1), sr)
    return mix, voc, acc


def test_two_stem_layout_stereo_44k(tmp_path):
    mix, voc, acc = make_track(tmp_path / "set" / "song A", 44100, 2, "two")
    tracks = list(iter_tracks(tmp_path / "set"))
    assert [t.name for t in tracks] == ["song A"]
    t = tracks[0]
    assert t.sr == 44100 and t.mixture.shape == mix.shape == (2, int(1.5 * 44100))
    np.testing.assert_allclose(t.vocals, voc, atol=1e-6)
    np.testing.assert_allclose(t.accompaniment, acc, atol=1e-6)
    assert t.seconds == pytest.approx(1.5)


def test_four_stem_layout_mono_16k_sums_the_accompaniment(tmp_path):
    mix, voc, acc = make_track(tmp_path / "set" / "b", 16000, 1, "four", suffix=".wav")
    t = load_track(tmp_path / "set" / "b")
    assert t.sr == 16000 and t.mixture.shape == (1, 24000)
    np.testing.assert_allclose(t.accompaniment, acc, atol=1e-5)
    np.testing.assert_allclose(t.mixture, t.vocals + t.accompaniment, atol=1e-5)


def test_tracks_come_sorted_and_hidden_folders_are_ignored(tmp_path):
    make_track(tmp_path / "set" / "zeta", 22050, 2, "two")
    make_track(tmp_path / "set" / "alpha", 8000, 1, "four")
    (tmp_path / "set" / ".cache").mkdir()
    assert [t.name for t in iter_tracks(tmp_path / "set")] == ["alpha", "zeta"]
    assert [t.sr for t in iter_tracks(tmp_path / "set")] == [8000, 22050]


@pytest.mark.parametrize("bad, message", [
    ("rate", "Hz"), ("length", "samples"), ("channels", "channel"),
])
def test_mismatched_stems_are_a_one_line_error(tmp_path, bad, message):
    folder = tmp_path / "t"
    mix, voc, acc = make_track(folder, 16000, 2, "two", suffix=".wav")
    if bad == "rate":
        write(folder / "vocals.wav", voc, 22050)
    elif bad == "length":
        write(folder / "vocals.wav", voc[:, :-10], 16000)
    else:
        write(folder / "vocals.wav", voc[:1], 16000)
    with pytest.raises(AudioFileError, match=message) as err:
        load_track(folder)
    assert "\n" not in str(err.value) and "vocals.wav" in str(err.value)


def test_missing_stems_and_folders_are_clear_errors(tmp_path):
    folder = tmp_path / "t"
    make_track(folder, 16000, 1, "four")
    (folder / "other.flac").unlink()
    with pytest.raises(AudioFileError, match="missing other"):
        load_track(folder)
    (folder / "mixture.flac").unlink()
    with pytest.raises(AudioFileError, match="missing other"):
        load_track(folder)
    with pytest.raises(AudioFileError, match="does not exist"):
        track_folders(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioFileError, match="no track folders"):
        track_folders(tmp_path / "empty")


def test_a_track_without_a_mixture_is_the_sum_of_its_stems(tmp_path):
    folder = tmp_path / "t"
    make_track(folder, 16000, 2, "four")
    with_mix = load_track(folder)
    (folder / "mixture.flac").unlink()
    track = load_track(folder)
    assert np.allclose(track.mixture, track.vocals + track.accompaniment)
    assert np.allclose(track.mixture, with_mix.mixture, atol=1e-3)


def test_shared_data_defaults_to_the_folder_beside_the_checkout(monkeypatch):
    monkeypatch.delenv("RTSEP_SHARED_DATA", raising=False)
    assert shared_data_root() == Path(__file__).resolve().parents[2] / "shared" / "data"


def test_shared_data_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("RTSEP_SHARED_DATA", str(tmp_path / "none"))
    assert shared_data_root() == tmp_path / "none"
    assert dev_set() is None
    with pytest.raises(ConfigError, match="RTSEP_SHARED_DATA"):
        dev_set(required=True)
    assert unlabelled_mixtures() == [] and solo_recordings("speech") == []
    with pytest.raises(ConfigError, match="unknown solo kind"):
        solo_recordings("drums")


@pytest.mark.data
def test_dev_set_tracks_are_exact_mixtures(monkeypatch):
    if not (SHARED_DATA / "dev").is_dir():
        pytest.skip("shared data absent")
    monkeypatch.setenv("RTSEP_SHARED_DATA", str(SHARED_DATA))
    tracks = list(iter_tracks(dev_set(required=True)))
    assert len(tracks) >= 2
    assert {t.sr for t in tracks} >= {44100}
    for t in tracks:
        # the README promises mixture = vocals + accompaniment exactly (up to 24-bit rounding)
        assert np.abs(t.mixture - t.vocals - t.accompaniment).max() < 1e-5


@pytest.mark.data
def test_unlabelled_and_solo_recordings_carry_their_licences(monkeypatch):
    if not (SHARED_DATA / "mixtures").is_dir():
        pytest.skip("shared data absent")
    monkeypatch.setenv("RTSEP_SHARED_DATA", str(SHARED_DATA))
    mixes = unlabelled_mixtures(required=True)
    by_name = {m.path.name: m for m in mixes}
    assert "Karissa_Hobbs_-_Lets_Go_Fishin.hq.ogg" in by_name
    assert "Creative Commons" in by_name["Karissa_Hobbs_-_Lets_Go_Fishin.hq.ogg"].licence
    assert by_name["test.mp3"].licence is None  # no licence file beside it
    speech = solo_recordings("speech")
    assert len(speech) >= 1 and all(r.licence for r in speech)
    x, sr = solo_recordings("vocals")[0].load()
    assert x.ndim == 2 and x.shape[1] > sr  # more than a second of real singing
