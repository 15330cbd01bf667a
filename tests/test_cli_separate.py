"""`rtsep separate` end to end through the installed console script: outputs line up with the
input, and every kind of bad input gives one clear line, exit status 2, and no output file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rtsep.config import EngineConfig
from rtsep.separate import separate_array

from .music import song

RTSEP = str(Path(sys.executable).with_name("rtsep"))


def rtsep(*args, timeout=300):
    return subprocess.run([RTSEP, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def assert_clean_failure(proc, out_dir: Path, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("rtsep: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f.lower() in lines[0].lower(), lines[0]
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_separate_writes_aligned_outputs_matching_the_engine(tmp_path):
    x = song(3.0, sr=44100, channels=2)
    src = tmp_path / "in.wav"
    sf.write(src, x.T, 44100, subtype="PCM_24")
    x_read, _ = sf.read(src, always_2d=True)
    out = tmp_path / "out"
    proc = rtsep("separate", src, "--out", out, "--primitives-only", "--plot", out / "p.png")
    assert proc.returncode == 0, proc.stderr
    v, sr_v = sf.read(out / "in" / "vocals.wav", always_2d=True)
    k, sr_k = sf.read(out / "in" / "karaoke.wav", always_2d=True)
    assert sr_v == sr_k == 44100 and v.shape == k.shape == x_read.shape
    ref_v, ref_k = separate_array(x_read.T, 44100, EngineConfig())
    np.testing.assert_allclose(v.T, ref_v, atol=1e-6)  # float32 files
    np.testing.assert_allclose(v + k, x_read, atol=1e-6)
    assert (out / "p.png").stat().st_size > 10000
    assert "latency 11.6 ms" in proc.stdout


@pytest.mark.parametrize("sr,channels,subtype", [(8000, 1, "PCM_U8"), (22050, 6, "PCM_16"),
                                                 (96000, 2, "PCM_32"), (48000, 8, "FLOAT")])
def test_odd_rates_channels_and_depths_separate_correctly(tmp_path, sr, channels, subtype):
    x = song(1.0, sr=sr, channels=channels) * 0.5
    src = tmp_path / "in.wav"
    sf.write(src, x.T, sr, subtype=subtype)
    proc = rtsep("separate", src, "--out", tmp_path / "o", "--primitives-only",
                 "--preset", "low-latency")
    assert proc.returncode == 0, proc.stderr
    v, rate = sf.read(tmp_path / "o" / "in" / "vocals.wav", always_2d=True)
    k, _ = sf.read(tmp_path / "o" / "in" / "karaoke.wav", always_2d=True)
    x_read, _ = sf.read(src, always_2d=True)
    assert rate == sr and v.shape == x_read.shape
    np.testing.assert_allclose(v + k, x_read, atol=1e-5)
    assert 0.0 < np.sum(v**2) < np.sum(x_read**2)


def test_silent_file_gives_silent_outputs_and_a_note(tmp_path):
    src = tmp_path / "silence.wav"
    sf.write(src, np.zeros((44100, 2)), 44100)
    proc = rtsep("separate", src, "--out", tmp_path / "o", "--primitives-only")
    assert proc.returncode == 0, proc.stderr
    assert "silent" in proc.stderr
    v, _ = sf.read(tmp_path / "o" / "silence" / "vocals.wav")
    assert v.shape == (44100, 2) and np.all(v == 0)


def _nan_file(p: Path):
    x = np.zeros((4410, 1), dtype=np.float32)
    x[100] = np.nan
    sf.write(p, x, 44100, subtype="FLOAT")


BAD_INPUTS = {
    "missing": (lambda p: None, ["no such file"]),
    "empty": (lambda p: p.write_bytes(b""), ["empty"]),
    "corrupt": (lambda p: p.write_bytes(os.urandom(4096)), ["decode"]),
    "no-frames": (lambda p: sf.write(p, np.zeros((0, 2)), 44100), ["no audio samples"]),
    "nan": (_nan_file, ["nan"]),
    "4kHz": (lambda p: sf.write(p, np.zeros((400, 1)), 4000), ["4000", "8000"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, case):
    make, fragments = BAD_INPUTS[case]
    src = tmp_path / "in.wav"
    make(src)
    out = tmp_path / "out"
    proc = rtsep("separate", src, "--out", out, "--primitives-only")
    assert_clean_failure(proc, out, *fragments)


@pytest.mark.parametrize("args,fragment", [(["--preset", "turbo"], "preset"),
                                           (["--alpha", "1.5"], "alpha"),
                                           (["--primitive", "magic"], "magic"),
                                           (["--model", "no-such-model"], "no-such-model")])
def test_bad_options_are_one_line(tmp_path, args, fragment):
    src = tmp_path / "in.wav"
    sf.write(src, song(0.5, channels=1).T, 44100)
    out = tmp_path / "out"
    proc = rtsep("separate", src, "--out", out, *args)
    assert_clean_failure(proc, out, fragment)


def test_profile_reports_latency_rtf_and_stages(tmp_path):
    proc = rtsep("profile", "--seconds", "3", "--json", tmp_path / "p.json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["latency_samples"] == 511 and report["latency_ms"] < 12
    # how fast is for benchmarks/speed.py; here: every hop timed, and the stages add up
    assert report["hops"] == int(3 * 44100) // 256 and report["rtf"] > 0
    for stage in ("stft", "primitives", "models", "confidence", "mix", "synthesis", "total"):
        s = report["stages"][stage]
        assert 0 <= s["p50_ms"] <= s["p99_ms"] <= s["max_ms"]
    parts = sum(report["stages"][s]["mean_ms"] for s in
                ("stft", "primitives", "models", "confidence", "mix", "synthesis"))
    assert parts == pytest.approx(report["stages"]["total"]["mean_ms"], rel=1e-6)
    # with no flag the profile runs what `rtsep live` would: the default model, which reads
    # the primitives itself
    assert report["candidates"] == ["refiner-local"]
    assert report["stages"]["models"]["max_ms"] > 0
    assert "p99 ms" in proc.stdout


def test_profile_of_a_model_says_which_backend_auto_chose_and_why(tmp_path):
    proc = rtsep("profile", "--seconds", "1", "--model", "bootstrap-gru", "--json",
                 tmp_path / "p.json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["candidates"] == ["bootstrap-gru"]
    choice = report["backends"]["bootstrap-gru"]
    ok = {t["backend"]: t["p50_us"] for t in choice["trials"] if t["status"] == "ok"}
    assert choice["backend"] == min(ok, key=ok.get)
    assert f"backend of bootstrap-gru: {choice['backend']} (fastest" in proc.stdout


def test_unknown_option_is_a_usage_error_not_a_traceback(tmp_path):
    proc = rtsep("separate", tmp_path / "x.wav", "--out", tmp_path / "o", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.startswith("rtsep: error: No such option") and len(proc.stderr.splitlines()) == 1
