"""Faults injected into the real command line (`live`, `eval`, `profile`).

Every command must end in one of three ways: success (0); one line `rtsep: error: ...` (2);
or, stopped by SIGINT, SIGTERM or SIGHUP, a one-line note and exit status 128 + signal. In
every case: no traceback, and no partial or corrupted output (files appear whole or not at
all, no temporaries are left). `rtsep separate` has its own fault tests.

Read-only folders and full disks are real: a read-only or tiny tmpfs where this process may
mount one (root, as in the project's containers), else a folder without write permission.
Signals come at random moments (a fixed seed, so a failure can be replayed) after the
process has installed its handlers.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .procs import Watched, assert_clean, rtsep, temporaries

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# -- folders that cannot be written ----------------------------------------------------------

def _mount_tmpfs(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nobody can write to: a read-only tmpfs (root), else mode 0555 (non-root)."""
    path = tmp_path / "ro"
    if _mount_tmpfs(path, "ro,size=64k"):
        yield path
        _umount(path)
        return
    if os.geteuid() == 0:
        pytest.skip("root without mount: no folder is read-only to it")
    path.mkdir()
    path.chmod(0o555)
    yield path
    path.chmod(0o755)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 16 KiB tmpfs: room for a table or two, not for a picture."""
    path = tmp_path / "tiny"
    if not _mount_tmpfs(path, "size=16k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield path
    _umount(path)


# -- data ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two rendered tracks of 1.5 s at 16 kHz mono, MUSDB-style: `eval` takes a few seconds."""
    from .music import song

    root = tmp_path_factory.mktemp("faults") / "set"
    for i, offset in enumerate((2.0, 5.0)):
        mix, voc = song(1.5, sr=16000, channels=1, with_vocals=True, offset_s=offset)
        folder = root / f"t{i}"
        folder.mkdir(parents=True)
        for name, x in (("mixture", mix), ("vocals", voc), ("accompaniment", mix - voc)):
            sf.write(str(folder / f"{name}.flac"), x.T, 16000, subtype="PCM_24")
    return root


@pytest.fixture(scope="module")
def six_channels(tmp_path_factory):
    """A 6-channel WAV of real music (channels 1-2 the song, 3-6 quieter copies), 44.1 kHz."""
    from .test_live import _music

    x = _music(4.0)
    six = np.concatenate([x, 0.5 * x, 0.25 * x], axis=0)
    path = tmp_path_factory.mktemp("six") / "six.wav"
    sf.write(path, six.T, 44100, subtype="FLOAT")
    return path


def _one_error_line(done, *needles) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtsep: error: "), done.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- eval: method names ----------------------------------------------------------------------

def test_eval_rejects_misspelt_methods_instead_of_running_pcl(dataset):
    done = rtsep("eval", dataset, "-m", "pcll", "-m", "hpsss", "-q")
    _one_error_line(done, "unknown method 'pcll'", "did you mean 'pcl'", "mixture", "oracle-irm")
    assert done.stdout == ""  # no table of pcl's numbers under a wrong name


# -- read-only folders and full disks ------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["eval", "{data}", "-m", "mixture", "-q", "--json", "{ro}/eval.json"],
    ["eval", "{data}", "-m", "mixture", "-q", "--csv", "{ok}/eval.csv", "--plot", "{ro}/eval.png"],
    ["profile", "--seconds", "1", "--json", "{ro}/profile.json"],
    ["live", "--in", "{data}/t0/mixture.flac", "--stats-json", "{ro}/stats.json"],
], ids=["eval-json", "eval-plot", "profile-json", "live-stats-json"])
def test_an_output_in_a_read_only_folder_fails_before_the_work(command, dataset, read_only_dir,
                                                                  tmp_path):
    ok = tmp_path / "ok"
    args = [a.format(data=dataset, ro=read_only_dir, ok=ok) for a in command]
    t0 = time.monotonic()
    done = rtsep(*args)
    _one_error_line(done, f"cannot write {read_only_dir}")
    assert done.stdout == ""  # failed before any result was computed
    assert not any(ok.glob("*")) if ok.exists() else True  # nothing else was written either
    assert list(read_only_dir.iterdir()) == []
    assert time.monotonic() - t0 < 60


def test_eval_writes_all_its_outputs_or_none_when_the_disk_fills(dataset, tiny_disk, tmp_path):
    """JSON and CSV fit, the picture does not: none of the three may appear."""
    done = rtsep("eval", dataset, "-m", "mixture", "-q", "--json", tiny_disk / "e.json",
                 "--csv", tiny_disk / "e.csv", "--plot", tiny_disk / "e.png")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"rtsep: error: cannot write {tiny_disk}/e.png")
    assert_clean(done.stderr)
    assert list(tiny_disk.iterdir()) == []  # no JSON or CSV without the plot, no temporaries


# -- signals -------------------------------------------------------------------------------------

def _check_interrupted(code: int, err: str, sig: int) -> None:
    assert code == 128 + sig, (code, err[-2000:])
    assert err.strip().splitlines()[-1] == f"rtsep: interrupted by {signal.Signals(sig).name}"
    assert_clean(err)


def test_signals_at_random_points_of_eval_leave_all_outputs_or_none(dataset, tmp_path):
    rng = random.Random(1201)
    for run in range(3):
        sig, delay = rng.choice(SIGNALS), rng.uniform(0.0, 2.0)
        out = tmp_path / f"run{run}"
        names = ("e.json", "e.csv", "e.png")
        proc = Watched("eval", dataset, "-m", "mixture", "-q",
                       "--json", out / names[0], "--csv", out / names[1],
                       "--plot", out / names[2])
        try:
            proc.wait_for_handlers()
            time.sleep(delay)
            proc.proc.send_signal(sig)
            code, err = proc.finish()
        finally:
            proc.kill()
        where = f"run {run}: {signal.Signals(sig).name} after {delay:.2f} s"
        written = sorted(p.name for p in out.glob("*")) if out.exists() else []
        if code == 0:  # the evaluation finished before the signal came: all complete
            assert written == sorted(names), where
            json.loads((out / "e.json").read_text())
        else:
            _check_interrupted(code, err, sig)
            assert written in ([], sorted(names)), (where, written)
        assert temporaries(out) == [], where


@pytest.mark.jack
def test_sigterm_stops_live_with_its_summary_and_statistics(jack, tmp_path, six_channels):
    """The fault table's row: SIGTERM used to kill `live` at once, with no summary and no
    statistics. Also: a 6-channel file says which channels it separates."""
    stats = tmp_path / "stats.json"
    proc = Watched("live", "--in", six_channels, "--device", "system", "--seconds", "60",
                   "--stats-json", stats, env=jack.env())
    try:
        proc.wait_for_line("latency", timeout=90)  # streaming: a status line came
        proc.proc.send_signal(signal.SIGTERM)
        code, err = proc.finish()
    finally:
        proc.kill()
    _check_interrupted(code, err, signal.SIGTERM)
    assert "has 6 channels; separating channels 1-2" in err  # no silent choice
    summary = json.loads(stats.read_text())
    assert summary["stopped_by"] == "SIGTERM" and summary["interrupted"] is True
    assert summary["hops"] > 0 and summary["worker_scheduling"]
    assert "stopped by SIGTERM" in err and "ran " in err  # the summary was printed
    assert temporaries(tmp_path) == []


@pytest.mark.jack
def test_signals_at_random_points_of_live(jack, tmp_path, six_channels):
    """Anywhere from start-up to streaming: exit 128 + signal with the note; the statistics
    are absent (stopped before the stream opened) or complete and name the signal."""
    rng = random.Random(1202)
    for run in range(4):
        sig, delay = rng.choice(SIGNALS), rng.uniform(0.0, 4.0)
        stats = tmp_path / f"run{run}" / "stats.json"
        proc = Watched("live", "--in", six_channels, "--in-channels", "3-4", "--device",
                       "system", "--seconds", "60", "--quiet", "--stats-json", stats,
                       env=jack.env())
        try:
            proc.wait_for_handlers()
            time.sleep(delay)
            proc.proc.send_signal(sig)
            code, err = proc.finish()
        finally:
            proc.kill()
        where = f"run {run}: {signal.Signals(sig).name} after {delay:.2f} s: {err[-1500:]}"
        _check_interrupted(code, err, sig)
        assert "separating channels" not in err, where  # --in-channels chose: no note
        if stats.exists():
            summary = json.loads(stats.read_text())
            assert summary["stopped_by"] == signal.Signals(sig).name, where
            assert f"stopped by {summary['stopped_by']}" in err, where
        assert temporaries(stats.parent) == [], where


@pytest.mark.jack
def test_a_model_file_replaced_during_a_live_run_does_not_disturb_it(jack, tmp_path):
    """The weights are read once, as bytes (hashed, then loaded from those bytes): truncating
    the file in place or replacing it while the session runs changes nothing. (Weights that
    stayed memory-mapped would kill the process with SIGBUS on the next access.)"""
    pytest.importorskip("torch")
    import shutil

    from models.catalog import resolve

    stem = resolve("bootstrap-gru")
    model = tmp_path / "mine" / stem.name  # its JSON names the weights file: keep the name
    model.parent.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(stem.with_suffix(suffix), model.with_suffix(suffix))
    song = tmp_path / "song.wav"
    from .test_live import _music

    sf.write(song, _music(4.0).T, 44100, subtype="FLOAT")
    stats = tmp_path / "stats.json"
    proc = Watched("live", "--in", song, "--device", "system", "--model", model, "--backend",
                   "torch", "--buffer-hops", "8", "--seconds", "60", "--stats-json", stats,
                   env=jack.env())
    try:
        proc.wait_for_line("latency", timeout=120)
        weights = model.with_suffix(".safetensors")
        with open(weights, "r+b") as f:  # damaged in place...
            f.truncate(64)
        garbage = tmp_path / "new.json"
        garbage.write_text("{not json")
        os.replace(garbage, model.with_suffix(".json"))  # ...and its description replaced
        proc.wait_for_line("latency", timeout=30)  # still streaming
        time.sleep(1.5)
        proc.proc.send_signal(signal.SIGINT)
        code, err = proc.finish()
    finally:
        proc.kill()
    _check_interrupted(code, err, signal.SIGINT)
    summary = json.loads(stats.read_text())
    assert summary["hops"] > 0 and summary["stopped_by"] == "SIGINT"
    # The next load reads the damaged files and says so (`rtsep` prints it as one line).
    from models.io import load_model
    from rtsep.errors import ModelFileError

    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(model)
