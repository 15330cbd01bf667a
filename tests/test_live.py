"""`rtsep live` through a JACK dummy server matches `rtsep separate`, delayed by its latency.

A player process (tests/jack_player.py) plays real music into the live session's input
ports and records its output ports; the session runs as the real CLI (`rtsep live --in mic`)
and is stopped with SIGINT like a user's Ctrl-C. The recording must equal the offline
karaoke of the same samples, shifted by the delay the session declares plus the JACK
feedback period, to float32 precision.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .jackserver import raise_priority

pytestmark = pytest.mark.jack

SR = 44100
PERIOD = 256
SECONDS = 11.0
HERE = Path(__file__).resolve().parent
SHARED_DATA = Path(os.environ.get("RTSEP_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FALLBACK_SONG = SHARED_DATA / "mixtures" / "Karissa_Hobbs_-_Lets_Go_Fishin.hq.ogg"


def _music(seconds: float) -> np.ndarray:
    """``(2, samples)`` float32 of real music with vocals at 44.1 kHz.

    The project's FluidSynth song when it is long enough, else a real CC BY recording from the
    shared data.
    """
    from .music import song

    x = song(seconds, sr=SR, channels=2, offset_s=2.0)
    if x.shape[1] < int(seconds * SR):
        if not FALLBACK_SONG.exists():
            pytest.skip("the rendered song is too short and there is no shared data for a real "
                        "recording")
        from rtsep.io.audio import read_audio

        x, sr = read_audio(FALLBACK_SONG)
        assert sr == SR
        x = x[:, int(20 * SR) : int((20 + seconds) * SR)]
    return np.ascontiguousarray(0.8 * x / np.max(np.abs(x)), dtype=np.float32)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no answer from {proc.args} within {timeout} s")
    return proc.stdout.readline().strip()


def _run_live_session(jack, tmp_path: Path, music: np.ndarray, extra_args: list[str]):
    """Run `rtsep live` and the player.

    Returns the recording ``(2, n)``, the session's stats, its stderr, and the player stream's
    reported latency (frames).
    """
    wav, rec_path, stats_path = tmp_path / "in.wav", tmp_path / "rec.wav", tmp_path / "stats.json"
    sf.write(wav, music.T, SR, subtype="FLOAT")
    env = jack.env()
    live = subprocess.Popen(
        [sys.executable, "-m", "rtsep", "live", "--in", "mic", "--device", "system",
         "--jack-name", "rtl", "--stats-json", str(stats_path), *extra_args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=raise_priority)
    player = subprocess.Popen(
        [sys.executable, str(HERE / "jack_player.py"), "--name", "player", "--play", str(wav),
         "--record", str(rec_path), "--tail", "1.0", "--period", str(PERIOD)],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=raise_priority)
    try:
        assert _readline(player, 60) == "ready"
        jack.wait_for_ports([f"rtl:{d}_{c}" for d in ("in", "out") for c in (0, 1)], timeout=60)
        for c in (0, 1):
            jack.connect(f"player:out_{c}", f"rtl:in_{c}")
            jack.connect(f"rtl:out_{c}", f"player:in_{c}")
        player.stdin.write("go\n")
        player.stdin.flush()
        done = _readline(player, SECONDS + 30).split()
        assert done[0] == "done", done
        player_latency = int(done[2])
        assert player.wait(timeout=10) == 0
        live.send_signal(signal.SIGINT)  # what Ctrl-C does
        _, err = live.communicate(timeout=20)
    except BaseException as exc:
        for proc in (player, live):
            if proc.poll() is None:
                proc.kill()
        _, live_err = live.communicate(timeout=10)
        raise AssertionError(f"{exc!r}; graph {jack.connections()}; rtsep live said: "
                             f"{live_err[-1500:]}") from exc
    finally:
        for proc in (player, live):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # Ctrl-C is an interruption (exit status 130) after a complete summary and statistics.
    assert live.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == "rtsep: interrupted by SIGINT"
    assert "Traceback" not in err
    rec, sr = sf.read(rec_path, dtype="float32", always_2d=True)
    assert sr == SR
    return rec.T, json.loads(stats_path.read_text()), err, player_latency


def _offline_karaoke(music: np.ndarray, pad: int) -> np.ndarray:
    """`rtsep separate`'s karaoke of what the live engine saw: ``pad`` zeros, then the music."""
    from rtsep.cli.options import engine_config_from_options
    from rtsep.separate import separate_array

    # The same options as the live command line: default preset, primitives only.
    config = engine_config_from_options("default", None, None, None, 5.0, primitives_only=True)
    x = np.concatenate([np.zeros((2, pad)), music.astype(np.float64)], axis=1)
    _, karaoke = separate_array(x, SR, config)
    return karaoke[:, pad:]


def _lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int) -> int:
    from scipy.signal import correlate

    ref = reference[: reference.shape[0] - max_lag]
    c = correlate(delayed[: reference.shape[0]], ref, mode="valid", method="fft")
    return int(np.argmax(c[: max_lag + 1]))


def test_live_karaoke_through_jack_matches_offline_separation(jack, tmp_path):
    music = _music(SECONDS)
    rec, stats, err, player_latency = _run_live_session(jack, tmp_path, music,
                                        ["--out", "karaoke", "--primitives-only", "--buffer-hops", "16", "--quiet"])
    assert stats["interrupted"] is True  # stopped by SIGINT, cleanly, with a summary
    assert "xruns" in err and "latency" in err
    assert stats["duration_s"] >= 10.0
    # The session's own xruns (output not ready in time); the dummy server's timer may still
    # wake late on a busy machine, which PortAudio reports as device xruns without losing audio.
    assert stats["xruns"] == 0 and stats["input_overflows"] == 0, stats
    assert stats["cheap_hops"] == 0

    # Where the music began in the engine's input stream (the session ran before the player).
    first = int(np.argmax(np.any(music != 0, axis=0)))
    pad = stats["signal_onset_sample"] - first
    assert pad > 0
    karaoke = _offline_karaoke(music, pad)

    lag = _lag(karaoke.mean(axis=0), rec.mean(axis=0), max_lag=SR // 2)
    declared = stats["latency_samples"]
    # Device buffering on the path: the session's stream and the player's stream, as
    # PortAudio reports them. JACK closes the loop player -> session -> player (a feedback
    # cycle in its graph) with one more period, which the check's tolerance covers.
    buffering = round(stats["device_latency_ms"] * SR / 1000) + player_latency
    assert declared + buffering <= lag <= declared + buffering + PERIOD, (lag, declared, buffering)

    n = music.shape[1]
    mid = slice(SR, n - SR)
    got = rec[:, lag : lag + n][:, mid].astype(np.float64)
    want = karaoke[:, mid]
    snr = 10 * np.log10(np.sum(want**2) / np.sum((got - want) ** 2))
    assert snr > 30.0, snr
    # The karaoke is not the input: the session really separated something.
    dry = music[:, mid].astype(np.float64)
    assert 10 * np.log10(np.sum(dry**2) / np.sum((dry - want) ** 2)) < 20.0


def test_jack_server_dying_mid_run_is_a_one_line_device_error(tmp_path):
    """The server is killed (SIGKILL, as a crash) while the session streams, then restarted.

    The session notices at once through its JACK watchdog and ends with one line, exit status
    2, no statistics; it never closes its PortAudio stream on the dead server (PortAudio's JACK
    code asserts there: exit status -6). A server started again under the same name serves a
    new session as if nothing had happened.
    """
    from .jackserver import JackServer, missing_tools
    from .procs import Watched, assert_clean, rtsep

    if missing_tools():
        pytest.skip("JACK tools not installed")
    stats = tmp_path / "stats.json"
    server = JackServer().start()  # its own server: this test kills it
    live = None
    try:
        live = Watched("live", "--device", "system", "--jack-name", "doomed", "--seconds", "120",
                       "--stats-json", stats, env=server.env())
        try:
            live.wait_for_line("latency", timeout=90)  # a status line: the stream runs
        finally:
            server.kill()
        code, err = live.finish(timeout=30)
    finally:
        if live is not None:
            live.kill()
        server.stop()
    assert code == 2, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(("rtsep: error: the JACK server stopped",
                            "rtsep: error: the audio device stopped delivering audio")), err[-2000:]
    assert_clean(err)
    assert not stats.exists()

    again = JackServer()
    again.name = server.name  # the same server name, as a user restarting jackd would
    again.start()
    try:
        done = rtsep("live", "--device", "system", "--seconds", "2", "--quiet",
                     "--stats-json", stats, env=again.env())
    finally:
        again.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(stats.read_text())["hops"] > 0
