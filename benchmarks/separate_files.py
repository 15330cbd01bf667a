"""`rtsep separate` on files, through the installed program, as a user runs it.

    .venv/bin/python benchmarks/separate_files.py [--baseline DIR] [--repeats 3]
        [--long 1,10,60] [--clips 50] [--ray] [--write]

- one 60 s file: wall time, peak RSS and x real time of `rtsep separate` (this tree, and the
  tree at ``--baseline``, e.g. ``git archive main | tar -x -C DIR``, in the same run), and of
  librosa's offline REPET-SIM recipe and HPSS as peers (read, separate, write both stems), each
  pinned to one core; medians of ``--repeats`` runs, alternating, with ratios;
- start-up to first hop: from starting the program to the engine taking its first hop
  (``first_hop_at`` in the song's summary), on a cached install;
- long files of ``--long`` minutes (stereo, 44.1 kHz, 16-bit WAV): peak RSS and time;
- a folder of ``--clips`` 10 s clips with ``--jobs 1`` and ``--jobs 2`` (and ``--ray``: a local
  two-CPU Ray cluster started here): songs per minute and audio minutes per wall minute.

Every run uses ``--primitives-only`` (the model-free path). ``--write`` replaces the
"## Separating files" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from common import ROOT, machine, replace_section

PY = sys.executable
RTSEP = str(Path(PY).with_name("rtsep"))
PEER = r"""
import sys, time, numpy as np, soundfile as sf
sys.path.insert(0, {bench!r})
from librosa_refs import REFERENCES
t0 = time.perf_counter()
x, sr = sf.read(sys.argv[1], always_2d=True, dtype="float64")
v, k = REFERENCES[sys.argv[2]](x.T, sr)
sf.write(sys.argv[3] + "/vocals.wav", v.T, sr, subtype="FLOAT")
sf.write(sys.argv[3] + "/karaoke.wav", k.T, sr, subtype="FLOAT")
print("compute", time.perf_counter() - t0)
"""


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(cmd, env=None, core=None, cwd=None) -> dict:
    """Run ``cmd``; returns wall seconds, peak RSS (MB) of the process, exit status, output."""
    def pin():
        if core is not None:
            os.sched_setaffinity(0, {core})

    t0 = time.perf_counter()
    t_epoch = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, preexec_fn=pin, cwd=cwd)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    return {"wall": wall, "rc": proc.returncode, "stdout": out, "stderr": err,
            "started": t_epoch}


def measured(cmd, env=None, core=None, cwd=None) -> dict:
    """``run`` inside a small wrapper process, so ``ru_maxrss`` of its children is this
    command's alone."""
    wrapper = ("import resource, subprocess, sys, json, time\n"
               "t0 = time.perf_counter()\n"
               "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "w = time.perf_counter() - t0\n"
               "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
               "print(json.dumps({'rc': p.returncode, 'wall': w, 'rss': rss, "
               "'stdout': p.stdout[-4000:], 'stderr': p.stderr[-4000:]}))\n")
    r = run([PY, "-c", wrapper, *map(str, cmd)], env=env, core=core, cwd=cwd)
    if r["rc"] != 0:
        raise RuntimeError(r["stderr"][-2000:])
    res = json.loads(r["stdout"].strip().splitlines()[-1])
    res["started"] = r["started"]
    if res["rc"] != 0:
        raise RuntimeError(f"{cmd} failed: {res['stderr'][-2000:]}")
    return res


def song_file(path: Path, seconds: float, subtype: str = "PCM_16") -> Path:
    """The rendered default song, looped to ``seconds`` (stereo, 44.1 kHz), written in blocks."""
    sys.path.insert(0, str(ROOT))
    from rtsep.evaluation.profile import rendered_signal

    loop = rendered_signal(44100, 30.0, channels=2)
    n = int(seconds * 44100)
    with sf.SoundFile(path, "w", 44100, 2, subtype=subtype) as f:
        done = 0
        while done < n:
            take = min(loop.shape[1], n - done)
            f.write(loop[:, :take].T)
            done += take
    return path


def compute_speed(stdout: str) -> float:
    m = re.search(r"\(([\d.]+)x real time\)", stdout)
    return float(m.group(1)) if m else float("nan")


def one_file(work: Path, baseline: str | None, repeats: int, core: int) -> tuple[list, dict]:
    src = song_file(work / "song60.wav", 60.0)
    env_base = None
    variants = {"rtsep separate (this tree)": ([RTSEP, "separate", src, "--primitives-only"],
                                               None)}
    if baseline:
        env_base = {**os.environ, "PYTHONPATH": baseline}
        variants["rtsep separate (baseline)"] = ([PY, "-m", "rtsep", "separate", src,
                                                  "--primitives-only"], env_base)
    bench = str(Path(__file__).resolve().parent)
    for name in ("librosa-repet-sim", "librosa-hpss"):
        variants[name] = ([PY, "-c", PEER.format(bench=bench), src, name], None)
    results = {k: [] for k in variants}
    for name, (cmd, env) in variants.items():  # warm: numba caches, page cache
        out = work / "warm"
        out.mkdir(exist_ok=True)
        measured([*cmd, *(["--out", out] if "rtsep" in name else [out])], env, core)
    for _ in range(repeats):
        for name, (cmd, env) in variants.items():
            out = work / f"o-{len(results[name])}-{abs(hash(name))}"
            out.mkdir()
            r = measured([*cmd, *(["--out", out] if "rtsep" in name else [out])], env, core)
            r["speed"] = (compute_speed(r["stdout"]) if "rtsep" in name
                          else 60.0 / float(r["stdout"].split()[-1]))
            results[name].append(r)
            shutil.rmtree(out)
    rows = []
    base = statistics.median(r["wall"] for r in results["rtsep separate (this tree)"])
    for name, rs in results.items():
        wall = statistics.median(r["wall"] for r in rs)
        rows.append((name, wall, statistics.median(r["rss"] for r in rs),
                     statistics.median(r["speed"] for r in rs), 60.0 / wall, wall / base))
    return rows, results


def startup(work: Path, repeats: int, core: int) -> list[float]:
    src = song_file(work / "short.wav", 2.0)
    times = []
    for i in range(repeats + 1):
        out = work / f"start{i}"
        t0 = time.time()
        r = run([RTSEP, "separate", src, "--out", out, "--primitives-only"], core=core)
        summary = json.loads((out / "short" / "separation.json").read_text())
        if i:  # the first run warms the page cache
            times.append(summary["first_hop_at"] - t0)
        assert r["rc"] == 0
    return times


def long_files(work: Path, minutes: list[float], core: int) -> list:
    rows = []
    for m in minutes:
        src = song_file(work / f"long{m:g}.wav", 60.0 * m)
        out = work / f"long-out{m:g}"
        r = measured([RTSEP, "separate", src, "--out", out, "--primitives-only"], core=core)
        rows.append((m, r["wall"], r["rss"], compute_speed(r["stdout"])))
        shutil.rmtree(out)
        src.unlink()
    return rows


def folder_of_clips(work: Path, clips: int, use_ray: bool) -> list:
    folder = work / "clips"
    folder.mkdir()
    one = song_file(work / "clip.wav", 10.0)
    for i in range(clips):
        shutil.copy(one, folder / f"clip{i:03d}.wav")
    audio_min = clips * 10.0 / 60.0
    rows = []
    setups = [("--jobs 1", ["--jobs", "1"], None), ("--jobs 2", ["--jobs", "2"], None)]
    head = temp = None
    if use_ray:
        head, address, temp = start_ray()
        setups.append(("--ray (local cluster, 2 CPUs)", ["--ray", address],
                       {**os.environ, "RAY_TMPDIR": str(temp)}))
    try:
        for label, extra, env in setups:
            out = work / f"clips-{label.split()[0].strip('-')}{len(rows)}"
            r = measured([RTSEP, "separate", folder, "--out", out, "--primitives-only",
                          *extra], env=env)
            wall_min = r["wall"] / 60.0
            rows.append((label, r["wall"], clips / wall_min, audio_min / wall_min, r["rss"]))
            shutil.rmtree(out)
    finally:
        if head is not None:
            os.killpg(head.pid, signal.SIGTERM)
            try:
                head.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
            shutil.rmtree(temp, ignore_errors=True)
    return rows


def start_ray():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temp = Path(tempfile.mkdtemp(prefix="rtsep-ray-"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(temp)}
    head = subprocess.Popen([str(Path(PY).with_name("ray")), "start", "--head", "--num-cpus",
                             "2", "--port", str(port), "--node-ip-address", "127.0.0.1",
                             "--include-dashboard", "false", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    time.sleep(5)  # the raylet registers after the GCS answers
    return head, f"127.0.0.1:{port}", temp


def report(args, speed_rows, start_times, long_rows, clip_rows, loads) -> str:
    cmd = " ".join(["benchmarks/separate_files.py", *sys.argv[1:]]).replace(" --write", "")
    lines = [
        "## Separating files",
        "",
        f"Machine: {machine()}. Date: {datetime.date.today()}. Command: `.venv/bin/python "
        f"{cmd}` (`--baseline`: `git archive main` of the commit before this work). "
        f"Load average (1/5/15 min) before and after: {loads[0]} / {loads[1]}; the machine "
        "is shared, so re-measure the absolute figures on a quiet machine; ratios are within "
        "one run. Every row is the installed program or a fresh Python process, pinned to one "
        "core, `--primitives-only`, the rendered default song looped to length, stereo 44.1 kHz "
        "16-bit WAV; peak RSS is the process's maximum resident set.",
        "",
        f"One 60 s file, medians of {args.repeats} runs (x real time of rtsep = audio / its "
        "own compute time; of the peers = audio / read+separate+write):",
        "",
        "| method | wall s | peak RSS MB | x real time (compute) | x real time (wall) | "
        "wall / this tree |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, wall, rss, speed, wall_speed, ratio in speed_rows:
        lines.append(f"| {name} | {wall:.2f} | {rss:.0f} | {speed:.1f} | {wall_speed:.1f} | "
                     f"{ratio:.2f} |")
    lines += ["", "What changed (this tree against the baseline): the engine takes 64 hops per "
              "kernel call (STFT, each primitive, Eq. 1; confidence and switching still hop by "
              "hop, bit for bit the hop-by-hop output, `tests/test_batched.py`), computes no "
              "streaming confidence when one candidate makes it moot, REPET-SIM's median uses a "
              "pruned Batcher network, and files are read and written in blocks."]
    if start_times:
        lines += ["", f"Start-up to first hop (program start to the engine's first hop, cached "
                  f"install, 2 s file): median {statistics.median(start_times):.2f} s over "
                  f"{len(start_times)} runs (min {min(start_times):.2f}, max "
                  f"{max(start_times):.2f}); goal under 1 s."]
    if long_rows:
        lines += ["", "Long files (one run each): memory stays flat, time grows linearly.", "",
                  "| minutes of audio | wall s | wall s per audio minute | peak RSS MB | "
                  "x real time (compute) |", "| --- | --- | --- | --- | --- |"]
        for m, wall, rss, speed in long_rows:
            lines.append(f"| {m:g} | {wall:.1f} | {wall / m:.2f} | {rss:.0f} | {speed:.1f} |")
    if clip_rows:
        lines += ["", f"A folder of {args.clips} clips of 10 s (not pinned):", "",
                  "| run | wall s | songs per minute | audio minutes per wall minute | "
                  "peak RSS MB (driver) |", "| --- | --- | --- | --- | --- |"]
        for label, wall, spm, amm, rss in clip_rows:
            lines.append(f"| {label} | {wall:.1f} | {spm:.1f} | {amm:.1f} | {rss:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="a checkout of the code to compare with")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long", default="1,10,60", help="minutes, comma-separated ('' for none)")
    ap.add_argument("--clips", type=int, default=50)
    ap.add_argument("--ray", action="store_true", help="also run the clips on a Ray cluster")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    core = sorted(os.sched_getaffinity(0))[-1]
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="rtsep-bench-") as tmp:
        work = Path(tmp)
        speed_rows, _ = one_file(work, args.baseline, args.repeats, core)
        start_times = startup(work, 5, core)
        long_rows = long_files(work, [float(m) for m in args.long.split(",") if m], core)
        clip_rows = folder_of_clips(work, args.clips, args.ray) if args.clips else []
    loads.append(load_average())
    text = report(args, speed_rows, start_times, long_rows, clip_rows, loads)
    print(text)
    if args.write:
        replace_section("## Separating files", text)


if __name__ == "__main__":
    main()
