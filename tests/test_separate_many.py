"""`rtsep separate` on several songs, through the installed program: each song in its own
folder, a corrupt file reported while the others finish (with worker processes), a rerun that
skips finished songs by content, stems and formats, standard input and output in a pipe, a
clear error for --out naming a file, and the same job on a local two-worker Ray cluster."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rtsep.config import EngineConfig
from rtsep.separate import separate_array

from .music import song

RTSEP = str(Path(sys.executable).with_name("rtsep"))


def rtsep(*args, timeout=300, env=None, **kw):
    return subprocess.run([RTSEP, *map(str, args)], capture_output=True, timeout=timeout,
                          env={**(env or os.environ), "COLUMNS": "200"}, **kw)


def _text(proc):
    return proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def _library(root: Path) -> dict[str, Path]:
    """Two short songs (one in a subfolder, as FLAC) and a corrupt file."""
    (root / "album").mkdir(parents=True)
    files = {"one": root / "one.wav", "album/two": root / "album" / "two.flac",
             "album/broken": root / "album" / "broken.wav"}
    sf.write(files["one"], song(1.0, channels=2).T, 44100, subtype="PCM_16")
    sf.write(files["album/two"], song(0.7, channels=1, offset_s=4.0).T, 44100)
    files["album/broken"].write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + os.urandom(512))
    return files


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_folder_with_a_corrupt_file_finishes_the_others_and_a_rerun_skips_them(tmp_path):
    files = _library(tmp_path / "lib")
    out = tmp_path / "out"
    proc = rtsep("separate", tmp_path / "lib", "--out", out, "--jobs", "2", "--json",
                 tmp_path / "run1.json", "--primitives-only")
    stdout, stderr = _text(proc)
    assert proc.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtsep: error: 1 of 3 songs failed"), stderr
    assert "broken" in lines[0] and "Traceback" not in stderr
    report = json.loads((tmp_path / "run1.json").read_text())
    status = {r["song"]: r["status"] for r in report["songs"]}
    assert status == {"one": "done", "album/two": "done", "album/broken": "failed"}
    assert report["totals"]["done"] == 2 and report["totals"]["failed"] == 1
    for name in ("one", "album/two"):
        x, sr = sf.read(files[name], always_2d=True)
        v, sr_v = sf.read(out / name / "vocals.wav", always_2d=True)
        k, _ = sf.read(out / name / "karaoke.wav", always_2d=True)
        assert sr_v == sr and v.shape == x.shape
        np.testing.assert_allclose(v + k, x, atol=1e-6)
    assert not (out / "album" / "broken").exists() and not _temporaries(out)
    # the same command again: nothing left to do but the broken file
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    proc = rtsep("separate", tmp_path / "lib", "--out", out, "--json", tmp_path / "run2.json",
                 "--primitives-only")
    assert proc.returncode == 2
    report = json.loads((tmp_path / "run2.json").read_text())
    assert {r["song"]: r["status"] for r in report["songs"]} == {
        "one": "skipped", "album/two": "skipped", "album/broken": "failed"}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamps
    # a song whose content changed is separated again; other settings redo everything
    sf.write(files["one"], song(1.0, channels=2, offset_s=6.0).T, 44100, subtype="PCM_16")
    proc = rtsep("separate", files["one"], files["album/two"], "--out", tmp_path / "flat",
                 "--json", tmp_path / "run3.json", "--primitives-only")
    assert proc.returncode == 0, _text(proc)[1]
    assert sorted(p.name for p in (tmp_path / "flat").iterdir()) == ["one", "two"]


def test_stems_and_formats(tmp_path):
    x = song(1.0, channels=2)
    src = tmp_path / "mix.wav"
    sf.write(src, x.T, 44100, subtype="FLOAT")
    out = tmp_path / "out"
    proc = rtsep("separate", src, "--out", out, "--stem", "karaoke", "--format", "flac",
                 "--primitives-only")
    assert proc.returncode == 0, _text(proc)[1]
    assert sorted(p.name for p in (out / "mix").iterdir()) == ["karaoke.flac", "separation.json"]
    k, sr = sf.read(out / "mix" / "karaoke.flac", always_2d=True)
    assert sf.info(out / "mix" / "karaoke.flac").subtype == "PCM_24"
    _, ref_k = separate_array(x.astype(np.float32).astype(np.float64), 44100, EngineConfig())
    np.testing.assert_allclose(k.T, ref_k, atol=2 ** -22)


def test_standard_input_to_standard_output_in_a_pipe(tmp_path):
    x = song(1.0, channels=2)
    src = tmp_path / "mix.flac"
    sf.write(src, x.T, 44100, subtype="PCM_24")
    x_read, _ = sf.read(src, always_2d=True)
    proc = rtsep("separate", "-", "--stem", "vocals", "--out", "-", "--primitives-only",
                 input=src.read_bytes())
    stdout, stderr = proc.stdout, proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert len(stderr.strip().splitlines()) == 1 and "latency 11.6 ms" in stderr
    v, sr = sf.read(io.BytesIO(stdout), always_2d=True)
    assert sr == 44100 and v.shape == x_read.shape
    ref_v, _ = separate_array(x_read.T, 44100, EngineConfig())
    np.testing.assert_allclose(v.T, ref_v, atol=1e-6)  # float32 stream
    # /dev/stdin in a pipe is read the same way (it used to be "empty (0 bytes)")
    proc = rtsep("separate", "/dev/stdin", "--out", tmp_path / "o", "--primitives-only",
                 input=src.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    v2, _ = sf.read(tmp_path / "o" / "stdin" / "vocals.wav", always_2d=True)
    np.testing.assert_array_equal(v2, v)
    # both stems cannot share one stream; garbage on stdin is a clear error
    for args, stdin, fragment in ((["--stem", "both"], src.read_bytes(), "one stem"),
                                  (["--stem", "vocals"], os.urandom(3000), "standard input")):
        proc = rtsep("separate", "-", "--out", "-", *args, "--primitives-only", input=stdin)
        stderr = proc.stderr.decode()
        assert proc.returncode == 2 and proc.stdout == b"", stderr
        assert stderr.startswith("rtsep: error:") and fragment in stderr
        assert len(stderr.strip().splitlines()) == 1


def test_out_naming_an_existing_file_is_a_clear_error(tmp_path):
    src = tmp_path / "mix.wav"
    sf.write(src, song(0.3, channels=1).T, 44100)
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    proc = rtsep("separate", src, "--out", afile, "--primitives-only")
    stdout, stderr = _text(proc)
    assert proc.returncode == 2 and stderr.count("\n") == 1
    assert stderr.startswith("rtsep: error: --out") and "existing file" in stderr
    assert afile.read_text() == "not a folder"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_local_ray_cluster_with_two_workers_runs_the_same_job(tmp_path):
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).with_name("ray")
    files = _library(tmp_path / "lib")
    port = _free_port()
    # A private temporary folder for this cluster (its sockets need a short path); the
    # driver finds the cluster's node by it, so both get it through RAY_TMPDIR.
    temp = Path(tempfile.mkdtemp(prefix="rtsep-ray-"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(temp)}
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--num-cpus", "2", "--port", str(port),
         "--node-ip-address", "127.0.0.1", "--include-dashboard", "false",
         "--disable-usage-stats", "--block"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "Ray did not start"
                time.sleep(0.3)
        out = tmp_path / "out"
        proc = rtsep("separate", tmp_path / "lib", "--out", out, "--ray", f"127.0.0.1:{port}",
                     "--json", tmp_path / "ray.json", "--primitives-only", timeout=400,
                     env=env)
        stdout, stderr = _text(proc)
        assert proc.returncode == 2 and "1 of 3 songs failed" in stderr, stderr
        report = json.loads((tmp_path / "ray.json").read_text())
        assert {r["song"]: r["status"] for r in report["songs"]} == {
            "one": "done", "album/two": "done", "album/broken": "failed"}
        # the same samples as in this process
        x, _ = sf.read(files["one"], always_2d=True)
        v, _ = sf.read(out / "one" / "vocals.wav", always_2d=True)
        ref_v, _ = separate_array(x.T, 44100, EngineConfig())
        np.testing.assert_allclose(v.T, ref_v, atol=1e-6)
    finally:
        # our own cluster: its processes share the session the head was started in
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_ray_address_nobody_answers_is_one_line(tmp_path):
    pytest.importorskip("ray")
    src = tmp_path / "mix.wav"
    sf.write(src, song(0.3, channels=1).T, 44100)
    proc = rtsep("separate", src, "--out", tmp_path / "o", "--ray", f"127.0.0.1:{_free_port()}",
                 "--primitives-only", timeout=200)
    stdout, stderr = _text(proc)
    assert proc.returncode == 2 and stderr.startswith("rtsep: error: cannot reach the Ray")
    assert stderr.count("\n") == 1 and not (tmp_path / "o").exists()
