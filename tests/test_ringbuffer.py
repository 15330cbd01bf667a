"""The SPSC ring of the audio callback: order, wrap-around, full ring, consumer running ahead."""

from __future__ import annotations

import numpy as np
import pytest

from rtsep.errors import ConfigError
from rtsep.live.ringbuffer import RingBuffer


def test_random_writes_and_reads_return_the_same_stream():
    rng = np.random.default_rng(1)
    ring = RingBuffer(2, 37)  # a capacity that no block size divides: every wrap is exercised
    stream = rng.standard_normal((2, 5000)).astype(np.float32)
    written = read = 0
    out = np.zeros((2, 5000), dtype=np.float32)
    while read < stream.shape[1]:
        n = int(rng.integers(1, 30))
        written += ring.write(stream[:, written : written + n])
        assert 0 <= ring.available() <= ring.capacity
        m = int(rng.integers(1, 30))
        m = min(m, ring.available())
        got = ring.read_available_into(out[:, read : read + m]) if m else 0
        assert got == m
        read += got
    np.testing.assert_array_equal(out, stream)


def test_full_ring_refuses_extra_frames_instead_of_overwriting():
    ring = RingBuffer(1, 8)
    assert ring.write(np.arange(6, dtype=np.float32)[None]) == 6
    assert ring.write(np.arange(6, dtype=np.float32)[None] + 10) == 2  # only 2 frames free
    assert ring.free() == 0
    out = np.zeros((1, 8), dtype=np.float32)
    assert ring.read_into(out) == 8
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 4, 5, 10, 11])


def test_consumer_ahead_gets_zeros_and_late_frames_are_skipped():
    ring = RingBuffer(1, 16)
    ring.write_zeros(4)  # priming, as the live output ring
    out = np.full((1, 6), 99.0, dtype=np.float32)
    assert ring.read_into(out) == 4  # two frames missing: an underrun
    np.testing.assert_array_equal(out[0], [0, 0, 0, 0, 0, 0])
    assert ring.available() == -2
    # The producer catches up: the two frames it was late with are dropped, the rest keep
    # their positions, so the delay of everything after the underrun is unchanged.
    ring.write(np.array([[1, 2, 3, 4, 5]], dtype=np.float32))
    out = np.zeros((1, 3), dtype=np.float32)
    assert ring.read_into(out) == 3
    np.testing.assert_array_equal(out[0], [3, 4, 5])


def test_read_available_into_waits_for_a_whole_block():
    ring = RingBuffer(2, 8)
    ring.write(np.ones((2, 3), dtype=np.float32))
    out = np.zeros((2, 4), dtype=np.float32)
    assert ring.read_available_into(out) == 0 and ring.available() == 3
    ring.write(np.ones((2, 1), dtype=np.float32))
    assert ring.read_available_into(out) == 4 and np.all(out == 1)


def test_transposed_views_from_a_callback_are_accepted():
    ring = RingBuffer(2, 16)
    indata = np.arange(10, dtype=np.float32).reshape(5, 2)  # sounddevice: (frames, channels)
    ring.write(indata.T)
    outdata = np.zeros((5, 2), dtype=np.float32)
    ring.read_into(outdata.T)
    np.testing.assert_array_equal(outdata, indata)


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError):
        RingBuffer(0, 8)
    with pytest.raises(ConfigError):
        RingBuffer(2, 0)
