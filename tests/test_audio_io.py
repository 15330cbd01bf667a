"""Reading real files of every supported layout, one-line errors for bad ones, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rtsep.errors import AudioFileError, ConfigError, OutputError, RtsepError
from rtsep.io.audio import is_silent, read_audio, write_audio, write_outputs_atomically

RATES = [8000, 11025, 16000, 22050, 44100, 48000, 88200, 96000]
# Quantisation step of each subtype: what a value may move by when written and read back.
SUBTYPES = {"PCM_U8": 2 ** -7, "PCM_16": 2 ** -15, "PCM_24": 2 ** -23, "PCM_32": 2 ** -31,
            "FLOAT": 1e-7, "DOUBLE": 1e-15}


def _tone(channels: int, n: int, sr: int) -> np.ndarray:
    """A different sine per channel, peak 0.8, shaped (channels, n)."""
    t = np.arange(n) / sr
    return np.stack([0.8 * np.sin(2 * np.pi * (220.0 * (c + 1)) * t + c) for c in range(channels)])


def _assert_one_line(exc: BaseException, *words: str) -> None:
    msg = str(exc)
    assert "\n" not in msg and msg.strip() == msg and msg
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("sr", RATES)
def test_reads_every_supported_rate(tmp_path, sr):
    x = _tone(2, sr // 10, sr)
    path = tmp_path / f"tone_{sr}.wav"
    sf.write(path, x.T, sr, subtype="PCM_16")
    y, got_sr = read_audio(path)
    assert got_sr == sr and y.shape == x.shape and y.dtype == np.float64
    assert np.max(np.abs(y - x)) <= 2 ** -15


@pytest.mark.parametrize("channels", [1, 2, 6, 8])
@pytest.mark.parametrize("subtype", list(SUBTYPES))
def test_reads_channels_and_sample_formats(tmp_path, channels, subtype):
    sr = 16000
    x = _tone(channels, 1600, sr)
    path = tmp_path / f"x_{channels}_{subtype}.wav"
    sf.write(path, x.T, sr, subtype=subtype)
    y, got_sr = read_audio(path)
    assert got_sr == sr and y.shape == (channels, 1600)
    assert np.all(y >= -1.0) and np.all(y < 1.0)
    assert np.max(np.abs(y - x)) <= SUBTYPES[subtype] * 1.01
    # Channels keep their order: each one correlates best with its own source.
    corr = y @ x.T
    assert np.all(np.argmax(corr, axis=1) == np.arange(channels))


@pytest.mark.parametrize("ext,subtype", [(".flac", "PCM_24"), (".ogg", "VORBIS"), (".mp3", None)])
def test_reads_compressed_formats(tmp_path, ext, subtype):
    sr = 44100
    x = _tone(2, sr // 2, sr)
    path = tmp_path / f"tone{ext}"
    if ext == ".mp3":
        if not sf.check_format("MP3"):
            pytest.skip("this libsndfile has no mp3")
        sf.write(path, x.T, sr, format="MP3")
    else:
        sf.write(path, x.T, sr, subtype=subtype)
    y, got_sr = read_audio(path)
    assert got_sr == sr and y.shape[0] == 2
    # Lossy codecs add delay and padding; the tone must still be there at the right level.
    assert abs(y.shape[1] - x.shape[1]) < 0.1 * sr
    assert abs(np.sqrt(np.mean(y ** 2)) - np.sqrt(np.mean(x ** 2))) < 0.05


def test_reads_m4a_through_ffmpeg(tmp_path):
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    sr = 44100
    src = tmp_path / "src.wav"
    sf.write(src, _tone(2, sr, sr).T, sr)
    m4a = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-c:a", "aac", str(m4a)],
                   check=True)
    y, got_sr = read_audio(m4a)
    assert got_sr == sr and y.shape[0] == 2 and abs(y.shape[1] - sr) < 4096
    assert 0.4 < np.sqrt(np.mean(y ** 2)) < 0.7


def test_silent_file_is_valid_input(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((4410, 2)), 44100)
    y, _ = read_audio(path)
    assert y.shape == (2, 4410) and is_silent(y)
    assert not is_silent(_tone(1, 100, 8000))


def _bad_files(tmp_path):
    rng = np.random.default_rng(0)
    random_wav = tmp_path / "noise.wav"
    random_wav.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    good = tmp_path / "good.wav"
    sf.write(good, _tone(1, 8000, 16000).T, 16000, subtype="PCM_16")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:20])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    no_frames = tmp_path / "no_frames.wav"
    sf.write(no_frames, np.zeros((0, 2)), 44100)
    nan_file = tmp_path / "nan.wav"
    data = _tone(2, 8000, 16000).T.copy()
    data[4000, 1] = np.nan
    data[4001:4003, 0] = np.inf
    sf.write(nan_file, data, 16000, subtype="FLOAT")
    return {
        "random bytes": (random_wav, AudioFileError, ["noise.wav", "cannot decode"]),
        "truncated header": (truncated, AudioFileError, ["truncated.wav", "cannot decode"]),
        "0 bytes": (empty, AudioFileError, ["empty.wav", "empty"]),
        "0 frames": (no_frames, AudioFileError, ["no_frames.wav", "no audio samples"]),
        "nan": (nan_file, AudioFileError, ["3 non-finite", "0.250 s"]),
        "directory": (tmp_path, AudioFileError, ["directory"]),
        "missing": (tmp_path / "missing.flac", AudioFileError, ["no such file", "missing.flac"]),
    }


def test_bad_files_give_one_line_errors(tmp_path):
    for label, (path, cls, words) in _bad_files(tmp_path).items():
        with pytest.raises(cls) as info:
            read_audio(path)
        _assert_one_line(info.value, *words)


@pytest.mark.parametrize("sr", [4000, 192000])
def test_unsupported_rates_are_config_errors(tmp_path, sr):
    path = tmp_path / f"rate_{sr}.wav"
    sf.write(path, np.zeros((sr // 10, 1)), sr)
    with pytest.raises(ConfigError) as info:
        read_audio(path)
    _assert_one_line(info.value, str(sr), "8000-96000 Hz")


def test_too_many_channels(tmp_path):
    path = tmp_path / "many.wav"
    sf.write(path, np.zeros((100, 65)), 16000, subtype="PCM_16")
    with pytest.raises(AudioFileError) as info:
        read_audio(path)
    _assert_one_line(info.value, "65 channels")


def _no_temps(folder) -> bool:
    return not [p for p in os.listdir(folder) if p.endswith(".tmp")]


def test_write_audio_round_trip_and_defaults(tmp_path):
    x = _tone(2, 4410, 44100)
    wav = write_audio(tmp_path / "sub" / "dir" / "x.wav", x, 44100)
    flac = write_audio(tmp_path / "x.flac", x, 44100)
    assert sf.info(wav).subtype == "FLOAT" and sf.info(flac).subtype == "PCM_24"
    assert np.max(np.abs(read_audio(wav)[0] - x)) < 1e-7
    assert np.max(np.abs(read_audio(flac)[0] - x)) < 2 ** -22
    # An integer format clips instead of wrapping around.
    pcm = write_audio(tmp_path / "loud.wav", np.array([[1.5, -1.5, 0.5]]), 8000, subtype="PCM_16")
    y = read_audio(pcm)[0][0]
    assert y[0] > 0.999 and y[1] == -1.0 and abs(y[2] - 0.5) < 1e-4
    assert _no_temps(tmp_path) and _no_temps(wav.parent)


def test_failed_write_leaves_nothing(tmp_path):
    x = _tone(2, 1000, 8000)
    x[1, 10] = np.nan
    with pytest.raises(AudioFileError) as info:
        write_audio(tmp_path / "bad.wav", x, 8000)
    _assert_one_line(info.value, "NaN or Inf")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ConfigError):
        write_audio(tmp_path / "bad.xyz", _tone(1, 10, 8000), 8000)
    assert os.listdir(tmp_path) == []


def test_unwritable_destination_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as info:
        write_audio(blocker / "out.wav", _tone(1, 10, 8000), 8000)
    _assert_one_line(info.value, "cannot write", "out.wav")


def test_failed_write_keeps_the_old_file(tmp_path):
    path = write_audio(tmp_path / "keep.wav", _tone(1, 100, 8000), 8000)
    before = path.read_bytes()
    with pytest.raises(RtsepError):
        write_audio(path, np.full((1, 100), np.inf), 8000)
    assert path.read_bytes() == before and _no_temps(tmp_path)


def test_outputs_are_written_as_a_set(tmp_path):
    good = _tone(2, 800, 8000)
    bad = good.copy()
    bad[0, 5] = np.inf
    with pytest.raises(AudioFileError):
        write_outputs_atomically({"vocals": (tmp_path / "vocals.wav", good),
                                  "karaoke": (tmp_path / "karaoke.wav", bad)}, 8000)
    assert os.listdir(tmp_path) == []
    paths = write_outputs_atomically({"vocals": (tmp_path / "vocals.wav", good),
                                      "karaoke": (tmp_path / "karaoke.wav", -good)}, 8000)
    assert sorted(os.listdir(tmp_path)) == ["karaoke.wav", "vocals.wav"]
    assert np.allclose(read_audio(paths["karaoke"])[0], -good, atol=1e-7)


DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".mp3"}


@pytest.mark.data
def test_reads_every_real_recording_in_shared_data():
    if not DATA.is_dir():
        pytest.skip(f"no shared data at {DATA}")
    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    assert files
    for path in files:
        if path.stat().st_size == 0:  # the data set holds an empty download: a clear error
            with pytest.raises(AudioFileError) as info:
                read_audio(path)
            _assert_one_line(info.value, path.name, "empty")
            continue
        x, sr = read_audio(path)
        assert 8000 <= sr <= 96000 and 1 <= x.shape[0] <= 8 and x.shape[1] > sr // 2, path
        # Lossy decoders (mp3, Vorbis) may overshoot full scale a little on loud masters; the
        # samples are returned as decoded, not clipped.
        limit = 1.0 if path.suffix.lower() in (".wav", ".flac") else 1.2
        assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= limit and not is_silent(x), path
