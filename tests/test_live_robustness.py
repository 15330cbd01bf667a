"""The live session's defences, driven by hand: bursts of callbacks, channel choice, real-time
scheduling, and stop signals that must not cut a step in half."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from rtsep import interrupts
from rtsep.config import EngineConfig
from rtsep.core.engine import Engine
from rtsep.errors import ConfigError
from rtsep.live.build import default_buffer_hops, pick_channels
from rtsep.live.realtime import request_realtime, thread_policy
from rtsep.live.session import LiveSession, burst_frames

SR = 44100


def _bursts(session: LiveSession, x: np.ndarray, period: int) -> None:
    """Feed ``x`` as a device with ``period``-frame cycles would through PortAudio with a
    smaller blocksize: all the callbacks of one cycle back to back, then an on-time worker
    computes whatever is ready before the next cycle."""
    session.prepare()
    b = session.blocksize
    for start in range(0, x.shape[1] - period + 1, period):
        for pos in range(start, start + period, b):
            indata = np.ascontiguousarray(x[:, pos : pos + b].T, dtype=np.float32)
            outdata = np.zeros((b, session.device_out_channels), dtype=np.float32)
            session._callback(indata, outdata, b, None, None)
        while session.step():
            pass


def test_callbacks_in_bursts_need_the_device_period_in_the_buffering():
    """Low-latency (hop 128) on a JACK period of 256, no extra buffering (the fault table's
    row: 519 xruns in 1036 hops). Buffering sized for evenly spaced 128-frame callbacks runs
    dry on every second callback; sized for the 256-frame burst, an on-time worker never
    misses, at the cost of exactly the one period it really takes."""
    from .test_live import _music

    x = _music(1.0)
    engine = Engine(SR, 2, EngineConfig(preset="low-latency"))
    naive = LiveSession(engine, "mic", blocksize=128, extra_buffer_hops=0)
    _bursts(naive, x, period=256)
    assert naive.xruns > naive.hops // 3

    aware = LiveSession(engine, "mic", blocksize=128, extra_buffer_hops=0, device_period=256)
    _bursts(aware, x, period=256)
    assert aware.xruns == 0 and aware.hops > 300
    assert aware.priming_samples - naive.priming_samples == 128
    assert burst_frames(128, 256) == burst_frames(256, 128) == 256
    assert burst_frames(256, None) == 256 and burst_frames(384, 256) == 640


def test_default_buffering_is_ten_ms_of_slack_in_whole_hops():
    assert default_buffer_hops(256, 44100) == 2  # 2 x 5.8 ms
    assert default_buffer_hops(128, 44100) == 4  # 4 x 2.9 ms
    assert default_buffer_hops(512, 96000) == 2  # 2 x 5.3 ms
    assert default_buffer_hops(1024, 44100) == 1


def test_channel_choice_is_said_or_chosen_never_silent():
    notes = []
    assert pick_channels(None, 6, "input X", notes) == (0, 2)
    assert "input X has 6 channels; separating channels 1-2" in notes[0]
    notes.clear()
    assert pick_channels(None, 2, "input X", notes) == (0, 2) and notes == []
    assert pick_channels(None, 1, "input X", notes) == (0, 1) and notes == []
    assert pick_channels("3-4", 6, "input X", notes) == (2, 2)
    assert pick_channels("5", 6, "input X", notes) == (4, 1)
    for bad in ("0-1", "5-7", "x", "4-3"):
        with pytest.raises(ConfigError, match="--in-channels"):
            pick_channels(bad, 6, "input X", notes)


def test_a_looping_file_source_wraps_without_a_gap():
    x = np.arange(2 * 1000, dtype=np.float32).reshape(2, 1000)
    session = LiveSession(Engine(SR, 2), x, out="karaoke", blocksize=256, loop=True)
    session.prepare()
    fed = []
    for _ in range(10):
        session._output_callback(np.zeros((256, 2), dtype=np.float32), 256, None, None)
        got = np.zeros((2, 256), dtype=np.float32)
        session._in_ring.read_available_into(got)
        fed.append(got)
    fed = np.concatenate(fed, axis=1)
    np.testing.assert_array_equal(fed, np.tile(x, (1, 3))[:, : fed.shape[1]])


def test_real_time_scheduling_where_allowed_and_a_plain_answer_where_not():
    got = {}
    thread = threading.Thread(target=lambda: got.update(answer=request_realtime(5),
                                                        policy=thread_policy()))
    thread.start()
    thread.join()
    if got["answer"].startswith("SCHED_FIFO"):
        assert got["policy"] == "SCHED_FIFO 5"
    else:
        assert got["answer"].startswith(("normal (", "rtkit ")), got
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return
    # Without CAP_SYS_NICE and with no real-time limit (an ordinary user; no rtkit here either):
    # it degrades and says why.
    code = ("import resource; resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0));"
            "from rtsep.live.realtime import request_realtime, thread_policy;"
            "print(request_realtime(5)); print(thread_policy())")
    done = subprocess.run([setpriv, "--bounding-set", "-sys_nice", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    answer, policy = done.stdout.strip().splitlines()
    assert answer.startswith(("normal (SCHED_FIFO: ", "rtkit ")), answer
    if answer.startswith("normal"):
        assert "rtkit: " in answer and policy == "SCHED_OTHER 0"


@pytest.fixture
def handlers():
    """rtsep's stop-signal handlers in this process, the old ones restored afterwards."""
    old = {s: signal.getsignal(s) for s in interrupts.STOP_SIGNALS}
    interrupts.install_handlers()
    yield
    interrupts.take_pending()
    for s, h in old.items():
        signal.signal(s, h)


def test_a_signal_is_an_interrupted_exception_that_knows_its_signal(handlers):
    with pytest.raises(interrupts.Interrupted) as caught:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes of the main thread
            pass
    assert caught.value.signum == signal.SIGTERM and caught.value.exit_code == 143
    assert isinstance(caught.value, KeyboardInterrupt)  # code that stops on Ctrl-C stops too
    assert interrupts.last_raised() == signal.SIGTERM


def test_deferred_steps_finish_before_the_signal_is_raised(handlers):
    done = []
    with pytest.raises(interrupts.Interrupted) as caught:
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(1000):
                pass
            done.append("renamed")  # still runs: the signal waits for the block's end
    assert done == ["renamed"] and caught.value.signum == signal.SIGHUP
    with interrupts.held():  # held: recorded for whoever polls, never raised here
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
        assert interrupts.pending() == signal.SIGINT
    assert interrupts.take_pending() == signal.SIGINT and interrupts.pending() is None


def test_a_signal_during_the_atomic_renames_waits_for_the_whole_set(handlers, tmp_path):
    from rtsep.io.atomic import atomic_write_set

    def write(text, kill=False):
        def go(tmp):
            with open(tmp, "w") as f:
                f.write(text)
        return go

    real_replace = os.replace
    calls = []

    def replace_and_signal(src, dst):  # the signal lands between the two renames
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass

    os.replace = replace_and_signal
    try:
        with pytest.raises(interrupts.Interrupted):
            atomic_write_set({tmp_path / "a.txt": write("a"), tmp_path / "b.txt": write("b")})
    finally:
        os.replace = real_replace
    assert (tmp_path / "a.txt").read_text() == "a" and (tmp_path / "b.txt").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_period_unlike_the_hop_or_the_blocksize_is_said():
    from rtsep.live.build import _pick_blocksize

    notes = []
    assert _pick_blocksize(None, 256, 256, SR, notes) == 256 and notes == []
    assert _pick_blocksize(None, 256, 128, SR, notes) == 256  # low-latency on period 256
    assert "does not match the hop (128)" in notes[-1] and "2.9 ms more" in notes[-1]
    assert _pick_blocksize(128, 256, 128, SR, notes) == 128
    assert "PortAudio calls back in bursts" in notes[-1]
    notes.clear()
    assert _pick_blocksize(None, None, 256, SR, notes) == 256 and notes == []  # not JACK
