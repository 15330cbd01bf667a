"""Faults during `rtsep separate`, each through the installed program (issue 12): a disk that
fills during the write, a picture into a read-only folder, Ctrl-C and SIGTERM mid-song and at
random points (one song, and a pool of workers), a model file swapped while a batch runs, and
mutated audio headers. Each ends in success, one `rtsep: error:` line with exit 2, or an
interruption (130/143) with one line, and never leaves a partial or corrupted output."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .music import song

RTSEP = str(Path(sys.executable).with_name("rtsep"))
ROOT = Path(__file__).resolve().parents[1]


def _env(**extra):
    return {**os.environ, "COLUMNS": "200", **extra}


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _assert_clean(proc_rc: int, stderr: str, codes) -> None:
    assert proc_rc in codes, (proc_rc, stderr)
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 1, stderr


def _can_mount() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def _in_a_small_mount(mount: Path, options: str, command: list[str], out: Path):
    """Run ``command`` with a tmpfs (``options``) mounted on ``mount`` in a private mount
    namespace; returns (exit status, stderr, files left under ``out``)."""
    script = (f"mount -t tmpfs -o {options} tmpfs '{mount}' || exit 99; "
              f"\"$@\" 2>'{mount.parent}/stderr'; rc=$?; "
              f"(cd '{out}' 2>/dev/null && find . -mindepth 1) > '{mount.parent}/left'; exit $rc")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *command],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode != 99, "mounting the tmpfs failed"
    left = (mount.parent / "left").read_text().split()
    return proc.returncode, (mount.parent / "stderr").read_text(), left


def test_a_disk_that_fills_during_the_write_is_one_line_and_leaves_nothing(tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, song(3.0, channels=2).T, 44100, subtype="PCM_16")  # 1 MB of float output each
    cmd = [RTSEP, "separate", str(src), "--primitives-only"]
    if _can_mount():
        disk = tmp_path / "disk"
        disk.mkdir()
        out = disk / "out"
        rc, stderr, left = _in_a_small_mount(disk, "size=600k", [*cmd, "--out", str(out)], out)
        assert "no space left" in stderr, stderr
    else:  # a file size limit cuts the write short the same way
        import resource

        out = tmp_path / "out"

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

        proc = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True,
                              timeout=300, env=_env(), preexec_fn=limit)
        rc, stderr, left = proc.returncode, proc.stderr, _files(out)
    _assert_clean(rc, stderr, {2})
    assert stderr.startswith("rtsep: error: cannot write") and "/out/song/" in stderr
    assert left == [], left


def test_a_picture_into_a_read_only_folder_publishes_nothing(tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, song(1.0, channels=2).T, 44100)
    out = tmp_path / "out"
    ro = tmp_path / "ro"
    ro.mkdir()
    cmd = [RTSEP, "separate", str(src), "--out", str(out), "--primitives-only",
           "--plot", str(ro / "p.png")]
    if _can_mount():
        rc, stderr, left = _in_a_small_mount(ro, "ro,size=64k", cmd, out)
    elif os.geteuid() != 0:
        ro.chmod(0o555)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env())
        rc, stderr, left = proc.returncode, proc.stderr, _files(out)
    else:
        pytest.skip("root ignores folder permissions and no mount namespace is available")
    _assert_clean(rc, stderr, {2})
    assert stderr.startswith("rtsep: error: cannot write") and "p.png" in stderr, stderr
    assert left == []


def _start(args, env=None):
    return subprocess.Popen([RTSEP, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or _env())


def _wait_for(predicate, proc, timeout=120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


@pytest.fixture(scope="module")
def long_song(tmp_path_factory) -> Path:
    """A minute of music: long enough that a signal lands while it is being separated."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    x = np.tile(song(6.0, channels=2), (1, 10))
    sf.write(path, x.T, 44100, subtype="PCM_16")
    return path


@pytest.mark.parametrize("signum,code,name", [(signal.SIGINT, 130, "SIGINT"),
                                              (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_mid_song_exits_130_or_143_with_one_line_and_nothing_partial(
        tmp_path, long_song, signum, code, name):
    out = tmp_path / "out"
    proc = _start(["separate", long_song, "--out", out, "--primitives-only"])
    # the temporaries appear once the engine is ready: the song is being separated
    started = _wait_for(lambda: any(p.name.endswith(".tmp") for p in out.rglob("*")), proc)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert started, stderr
    _assert_clean(proc.returncode, stderr, {code})
    assert stderr.strip() == f"rtsep: interrupted by {name}; no output was written"
    assert _files(out) == [] and stdout == ""


def _our_processes(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (a run's workers, if any survived)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if mark.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


def test_signals_at_random_points_leave_whole_songs_or_nothing(tmp_path, long_song):
    """Four songs through a pool of two workers and in one process, signalled at moments drawn
    over the length of an uninterrupted run: start-up, mid-song, between songs, the end."""
    rng = random.Random(12)
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        sf.write(lib / f"s{i}.wav", song(2.0, channels=2, offset_s=2.0 + 2 * i).T, 44100)
    sf.write(lib / "s3.wav", sf.read(long_song)[0][: 10 * 44100], 44100)

    def run(k, extra, signum=None, after=0.0):
        out = tmp_path / f"out{k}"
        mark = uuid.uuid4().hex
        t0 = time.monotonic()
        proc = _start(["separate", lib, "--out", out, "--primitives-only", *extra],
                      env=_env(RTSEP_TEST_RUN=mark))
        if signum is not None:
            time.sleep(after)
            proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=300)
        took = time.monotonic() - t0
        codes = {0} if signum is None else {0, 128 + signum}
        if signum is not None:
            # before Python's own handlers exist (interpreter start-up), or after they are
            # gone (interpreter exit)
            codes.add(-signum)
        _assert_clean(proc.returncode, stderr, codes)
        if signum is not None and proc.returncode == -signum:
            # killed with the default disposition: before Python's handlers exist (nothing
            # begun), or after the interpreter restored the defaults on its way out (every
            # song done); never in between
            songs = sorted(p.name for p in out.glob("*") if p.is_dir()) if out.exists() else []
            assert stderr == "" and (_files(out) == [] or songs == ["s0", "s1", "s2", "s3"]), \
                _files(out)
        for folder in (p for p in out.glob("*") if p.is_dir()) if out.exists() else ():
            # a song folder is complete or absent
            assert sorted(p.name for p in folder.iterdir()) == [
                "karaoke.wav", "separation.json", "vocals.wav"], _files(out)
            x, _ = sf.read(lib / f"{folder.name}.wav", always_2d=True)
            v, _ = sf.read(folder / "vocals.wav", always_2d=True)
            k_, _ = sf.read(folder / "karaoke.wav", always_2d=True)
            assert v.shape == x.shape
            np.testing.assert_allclose(v + k_, x, atol=1e-6)
        assert not [p for p in out.rglob("*.tmp")] if out.exists() else True
        assert _our_processes(mark) == []  # every worker is gone
        return took

    full = run(0, ["--jobs", "2"])
    for k, (extra, signum) in enumerate([(["--jobs", "2"], signal.SIGTERM),
                                         ([], signal.SIGINT), (["--jobs", "2"], signal.SIGINT)]):
        run(k + 1, extra, signum, after=rng.uniform(0.1, 1.0) * full)


def test_a_model_file_swapped_during_a_batch_changes_no_song(tmp_path):
    """All songs of a run use the weights it started with; the swapped file is refused later,
    and the earlier outputs stay as they were."""
    models = tmp_path / "models"
    models.mkdir()
    weights = ROOT / "models" / "weights"
    for ext in ("json", "safetensors"):
        shutil.copy(weights / f"bootstrap-gru.{ext}", models / f"bootstrap-gru.{ext}")
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        sf.write(lib / f"s{i}.wav", song(1.0, channels=2, offset_s=3.0 + i).T, 44100)
    out = tmp_path / "out"
    model = str(models / "bootstrap-gru")
    proc = _start(["separate", lib, "--out", out, "--model", model, "--backend", "torch"])
    first = _wait_for(lambda: (out / "s0" / "separation.json").exists(), proc, timeout=300)
    # another model's weights under this model's name, mid-run
    shutil.copy(weights / "supervised-gru.safetensors", models / "bootstrap-gru.safetensors")
    stdout, stderr = proc.communicate(timeout=300)
    assert first and proc.returncode == 0, stderr
    summaries = [json.loads((out / f"s{i}" / "separation.json").read_text()) for i in range(3)]
    original = json.loads((weights / "bootstrap-gru.json").read_text())["weights"]["sha256"]
    assert all(s["models"] == {"bootstrap-gru": original} for s in summaries)
    before = {p: p.read_bytes() for p in out.rglob("*.wav")}
    # a new run must load the file again: the swap is caught, nothing is overwritten
    proc = subprocess.run([RTSEP, "separate", lib / "s1.wav", "--out", out, "--model", model,
                           "--backend", "torch", "--force"], capture_output=True, text=True,
                          timeout=300, env=_env())
    _assert_clean(proc.returncode, proc.stderr, {2})
    assert "sha256" in proc.stderr and "bootstrap-gru.safetensors" in proc.stderr
    assert {p: p.read_bytes() for p in out.rglob("*.wav")} == before


def _mutations(base: bytes, rng: random.Random, n: int) -> list[bytes]:
    """``n`` copies of ``base`` with its header damaged: bytes flipped or overwritten, fields
    set to extremes, the file cut inside or just after the header."""
    out = []
    for _ in range(n):
        b = bytearray(base)
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(64)] ^= 1 << rng.randrange(8)
        elif kind == 1:
            pos = rng.randrange(4, 60)
            b[pos : pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00",
                                           b"\x00\x00\x00\x80", b"\x01\x00\x00\x00"])
        elif kind == 2:
            b = b[: rng.randrange(0, 80)]
        else:
            pos = rng.randrange(64)
            b[pos : pos + 8] = bytes(rng.randrange(256) for _ in range(8))
        out.append(bytes(b))
    return out


def fuzz_folder(folder: Path, n: int, seed: int = 0) -> dict[str, Path]:
    """``n`` mutated WAV and FLAC headers of a short song in ``folder`` (shared with
    benchmarks/fuzz_headers.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    x = song(0.3, channels=2)
    bases = []
    for fmt, subtype in (("wav", "PCM_16"), ("wav", "FLOAT"), ("flac", "PCM_16")):
        p = folder.parent / f"base.{fmt}"
        sf.write(p, x.T, 44100, subtype=subtype)
        bases.append((fmt, p.read_bytes()))
    rng = random.Random(seed)
    files = {}
    for i in range(n):
        fmt, base = bases[i % len(bases)]
        data = _mutations(base, rng, 1)[0]
        path = folder / f"m{i:04d}.{fmt}"
        path.write_bytes(data)
        files[path.stem] = path
    return files


def check_fuzz_run(proc, report_path: Path, files: dict, out: Path) -> dict:
    """The properties every fuzz run must have; returns the counts."""
    _assert_clean(proc.returncode, proc.stderr, {0, 2})
    rows = json.loads(report_path.read_text())["songs"]
    assert len(rows) == len(files)
    for r in rows:
        if r["status"] == "failed":
            assert r["error"] and "\n" not in r["error"] and "internal error" not in r["error"]
            assert not (out / r["song"]).exists()
        else:  # the outputs hold exactly the audio the file holds
            x, sr_x = sf.read(files[r["song"]], always_2d=True)
            v, sr = sf.read(out / r["song"] / "vocals.wav", always_2d=True)
            assert sr == sr_x and v.shape == x.shape and np.all(np.isfinite(v))
    assert not list(out.rglob("*.tmp"))
    return {s: sum(r["status"] == s for r in rows) for s in ("done", "failed")}


def test_mutated_audio_headers_separate_or_fail_cleanly(tmp_path):
    files = fuzz_folder(tmp_path / "fuzz", 30, seed=1)
    out = tmp_path / "out"
    proc = subprocess.run([RTSEP, "separate", tmp_path / "fuzz", "--out", out, "--json",
                           tmp_path / "r.json", "--primitives-only"], capture_output=True,
                          text=True, timeout=300, env=_env())
    counts = check_fuzz_run(proc, tmp_path / "r.json", files, out)
    assert counts["failed"] > 0  # the mutations do break files
