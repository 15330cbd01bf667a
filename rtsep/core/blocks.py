"""Any block size in, the same block size out: the FIFOs around the engine's whole hops.

Input samples are gathered into whole hops, which go to ``process_hops`` as many at once as
the block holds (up to the batch size); their outputs are released in blocks of the size that
came in. The first ``hop - 1`` output samples are zeros, so a block of any size, down to one
sample, always finds its output ready; with the synthesis delay of one hop that gives the
engine's ``2 * hop - 1`` samples of latency. Shapes: ``(channels, samples)`` float64.
"""

from __future__ import annotations

import numpy as np


class BlockFifo:
    """``process(block)`` for any block size, on top of ``process_hops(hops)``."""

    def __init__(self, process_hops, channels: int, hop: int, batch_hops: int):
        self._process_hops = process_hops
        self.channels, self.hop, self.batch_hops = int(channels), int(hop), int(batch_hops)
        self._in = np.zeros((self.channels, self.hop))
        self._out_v = np.zeros((self.channels, self.hop - 1))
        self._out_k = np.zeros((self.channels, self.hop - 1))
        self.reset()

    def reset(self) -> None:
        self._in_fill = 0
        # output computed but not returned yet; it starts as hop - 1 zeros (see above), and
        # input held plus output held always add up to hop - 1 samples
        self._out_v.fill(0.0)
        self._out_k.fill(0.0)
        self._carry = self.hop - 1

    def process(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = block.shape[1]
        hop = self.hop
        vocals = np.empty((self.channels, n))
        karaoke = np.empty((self.channels, n))
        # outputs computed by earlier calls come first
        done = min(self._carry, n)
        vocals[:, :done] = self._out_v[:, :done]
        karaoke[:, :done] = self._out_k[:, :done]
        left = self._carry - done
        self._out_v[:, :left] = self._out_v[:, done : done + left]
        self._out_k[:, :left] = self._out_k[:, done : done + left]
        self._carry = left

        def emit(v: np.ndarray, k: np.ndarray) -> None:
            nonlocal done
            m = v.shape[1]
            take = min(m, n - done)
            vocals[:, done : done + take] = v[:, :take]
            karaoke[:, done : done + take] = k[:, :take]
            done += take
            rest = m - take
            if rest:  # at most hop - 1 samples wait for the next call
                c = self._carry
                self._out_v[:, c : c + rest] = v[:, take:]
                self._out_k[:, c : c + rest] = k[:, take:]
                self._carry = c + rest

        pos = 0
        if self._in_fill:  # complete the partial hop of earlier calls first
            take = min(hop - self._in_fill, n)
            self._in[:, self._in_fill : self._in_fill + take] = block[:, :take]
            self._in_fill += take
            pos = take
            if self._in_fill == hop:
                self._in_fill = 0
                emit(*self._process_hops(self._in))
        while n - pos >= hop:
            B = min((n - pos) // hop, self.batch_hops)
            emit(*self._process_hops(block[:, pos : pos + B * hop]))
            pos += B * hop
        if pos < n:
            take = n - pos
            self._in[:, self._in_fill : self._in_fill + take] = block[:, pos:]
            self._in_fill += take
        return vocals, karaoke
