"""LiveSession's callback and worker, driven by hand: exact delay, xruns, cheap hops.

The real callback and worker code run on real music with the real engine; only the device
is replaced by the test calling the callback with sounddevice-shaped arrays, and the worker
by calls to ``step()`` (all the hops that are ready, as an infinitely fast worker would).
"""

from __future__ import annotations

import numpy as np
import pytest

from rtsep.config import EngineConfig
from rtsep.core.engine import Engine
from rtsep.live.session import LiveSession
from rtsep.separate import separate_array

from .test_live import _music

SR = 44100


def _drive(session: LiveSession, x: np.ndarray, stall: range = range(0)) -> np.ndarray:
    """Feed ``x`` ``(channels, n)`` through the callback; returns device output ``(ch, n)``."""
    session.prepare()
    b = session.blocksize
    n = x.shape[1] - x.shape[1] % b
    out = np.zeros((session.device_out_channels, n), dtype=np.float32)
    for k, pos in enumerate(range(0, n, b)):
        indata = np.ascontiguousarray(x[:, pos : pos + b].T, dtype=np.float32)
        outdata = np.full((b, session.device_out_channels), 7.0, dtype=np.float32)
        session._callback(indata, outdata, b, None, None)
        out[:, pos : pos + b] = outdata.T
        if k not in stall:
            while session.step():
                pass
    return out


@pytest.fixture(scope="module")
def music():
    x = _music(3.0)
    _, karaoke = separate_array(x.astype(np.float64), SR, EngineConfig())
    return x, karaoke


@pytest.mark.parametrize("blocksize", [64, 65, 256, 1000])
def test_output_is_the_offline_karaoke_delayed_by_the_declared_latency(music, blocksize):
    x, karaoke = music
    session = LiveSession(Engine(SR, 2), "mic", out="karaoke", blocksize=blocksize)
    out = _drive(session, x)
    d = session.measured_latency_samples
    assert d == session.engine_delay + session.priming_samples
    assert session.engine_delay == session.engine.latency_samples - session.hop + 1
    assert session.xruns == 0 and session.engine.cheap_hops == 0
    n = out.shape[1]
    np.testing.assert_allclose(out[:, :d], 0.0, atol=1e-9)  # silence until the delay has passed
    np.testing.assert_allclose(out[:, d:], karaoke[:, : n - d], atol=2e-6)


def test_both_puts_vocals_on_1_2_and_karaoke_on_3_4(music):
    x, karaoke = music
    session = LiveSession(Engine(SR, 2), "mic", out="both", blocksize=256)
    out = _drive(session, x)
    d, n = session.measured_latency_samples, out.shape[1]
    np.testing.assert_allclose(out[2:, d:], karaoke[:, : n - d], atol=2e-6)
    np.testing.assert_allclose(out[:2, d:] + out[2:, d:], x[:, : n - d], atol=4e-6)


def test_a_stalled_worker_costs_xruns_and_cheap_hops_but_not_latency(music):
    x, _ = music
    session = LiveSession(Engine(SR, 2), "mic", out="sum", out_channels=1, blocksize=256)
    stall = range(100, 106)  # the worker misses six callbacks
    out = _drive(session, x, stall=stall)[0]
    d = session.measured_latency_samples
    assert session.xruns > 0  # the callback found the ring short and played silence
    assert session.engine.cheap_hops > 0  # the worker caught up the cheap way
    dry = x.mean(axis=0)
    # After recovery every frame comes out at the same delay as before the stall.
    after = 120 * 256
    np.testing.assert_allclose(out[after:], dry[after - d : out.shape[0] - d], atol=2e-6)
    before = 99 * 256
    np.testing.assert_allclose(out[d:before], dry[: before - d], atol=2e-6)
    # During the gap some frames were skipped (zeros), not played late.
    gap = out[before : after]
    assert np.any(gap == 0.0)


def test_file_source_plays_the_file_through_the_engine(music):
    x, karaoke = music
    session = LiveSession(Engine(SR, 2), x, out="karaoke", blocksize=256)
    session.prepare()
    out = np.zeros((2, x.shape[1]), dtype=np.float32)
    for pos in range(0, x.shape[1] - 256, 256):
        outdata = np.zeros((256, 2), dtype=np.float32)
        session._output_callback(outdata, 256, None, None)
        out[:, pos : pos + 256] = outdata.T
        while session.step():
            pass
    d, n = session.measured_latency_samples, x.shape[1] - 256
    np.testing.assert_allclose(out[:, d:n], karaoke[:, : n - d], atol=2e-6)


def test_the_callback_allocates_no_arrays():
    import tracemalloc

    session = LiveSession(Engine(SR, 2), "mic", out="both", blocksize=256)
    session.prepare()
    rng = np.random.default_rng(0)
    indata = rng.standard_normal((256, 2)).astype(np.float32)
    outdata = np.zeros((256, 4), dtype=np.float32)
    session._callback(indata, outdata, 256, None, None)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(40):  # past the priming: the underrun path (zero fill) runs too
            session._callback(indata, outdata, 256, None, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One copied block would be 2 KiB (256 frames x 2 channels x float32); views are bytes.
    assert peak - base < 1024, peak - base
    assert session.xruns > 0  # the zero-fill path was exercised
