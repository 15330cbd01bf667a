"""A single-producer, single-consumer ring of float32 audio frames for the audio callback.

The audio callback must never allocate, lock or block, so the ring is preallocated and its
two positions are absolute frame counts held in plain Python ints: the producer only moves
``write_pos`` and the consumer only moves ``read_pos``. Under the GIL an int assignment is
atomic, and the producer copies the samples before it publishes the new ``write_pos``, so the
consumer never sees a frame that has not been written.

The consumer may run ahead of the producer (``read_into`` outputs zeros for frames that are
not there yet and still advances): a late frame is then skipped instead of delaying every
later frame, which keeps the latency of a live stream constant.

Shapes: blocks are channels-first ``(channels, frames)``; the callback passes ``indata.T`` /
``outdata.T``, which are views, not copies.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


class RingBuffer:
    """Fixed-capacity ring of ``(channels, capacity)`` float32 frames."""

    def __init__(self, channels: int, capacity: int):
        if int(channels) < 1 or int(capacity) < 1:
            raise ConfigError(f"ring buffer needs channels >= 1 and capacity >= 1, got {channels}, {capacity}")
        self.channels = int(channels)
        self.capacity = int(capacity)
        self._buf = np.zeros((self.channels, self.capacity), dtype=np.float32)
        self.write_pos = 0  # frames ever written (moved by the producer only)
        self.read_pos = 0  # frames ever consumed (moved by the consumer only)

    def reset(self) -> None:
        """Empty the ring; only call while neither thread uses it."""
        self._buf.fill(0.0)
        self.write_pos = 0
        self.read_pos = 0

    # -- either side ---------------------------------------------------------------------
    def available(self) -> int:
        """Frames written and not yet consumed (negative if the consumer ran ahead)."""
        return self.write_pos - self.read_pos

    def free(self) -> int:
        """Frames the producer may write without overwriting unread ones."""
        return self.capacity - max(0, self.write_pos - self.read_pos)

    # -- producer ------------------------------------------------------------------------
    def write(self, block: np.ndarray) -> int:
        """Copy ``block`` ``(channels, n)`` in; returns frames written (fewer when full).

        Frames the consumer already skipped (it ran ahead) are written too and simply never
        read: their positions lie behind ``read_pos``.
        """
        n = min(block.shape[1], self.free())
        if n <= 0:
            return 0
        self._copy_in(block, 0, self.write_pos, n)
        self.write_pos += n  # publish only after the samples are in place
        return n

    def write_zeros(self, n: int) -> int:
        """Append ``n`` frames of silence (used to prime an output ring)."""
        n = min(int(n), self.free())
        start = self.write_pos % self.capacity
        first = min(n, self.capacity - start)
        self._buf[:, start : start + first] = 0.0
        self._buf[:, : n - first] = 0.0
        self.write_pos += n
        return n

    # -- consumer ------------------------------------------------------------------------
    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` ``(channels, n)`` with the next ``n`` frames and advance by ``n``.

        Frames not written yet come out as zeros. Returns how many real frames were copied;
        ``n`` minus that is the number of frames skipped (an underrun).
        """
        n = out.shape[1]
        have = self.write_pos - self.read_pos  # one snapshot of the producer's position
        got = max(0, min(n, have))
        if got:
            self._copy_out(out, 0, self.read_pos, got)
        if got < n:
            out[:, got:] = 0.0
        self.read_pos += n
        return got

    def read_available_into(self, out: np.ndarray) -> int:
        """Fill ``out`` ``(channels, n)`` only if ``n`` frames are there; returns 0 or ``n``."""
        n = out.shape[1]
        if self.write_pos - self.read_pos < n:
            return 0
        self._copy_out(out, 0, self.read_pos, n)
        self.read_pos += n
        return n

    # -- wrap-around copies (two slices at most, no temporaries) ---------------------------
    def _copy_in(self, block: np.ndarray, offset: int, pos: int, n: int) -> None:
        start = pos % self.capacity
        first = min(n, self.capacity - start)
        self._buf[:, start : start + first] = block[:, offset : offset + first]
        if first < n:
            self._buf[:, : n - first] = block[:, offset + first : offset + n]

    def _copy_out(self, out: np.ndarray, offset: int, pos: int, n: int) -> None:
        start = pos % self.capacity
        first = min(n, self.capacity - start)
        out[:, offset : offset + first] = self._buf[:, start : start + first]
        if first < n:
            out[:, offset + first : offset + n] = self._buf[:, : n - first]
