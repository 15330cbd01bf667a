"""A signal fed in blocks, separated with its latency taken back out: the file path's stream.

``AlignedSeparator.push(block)`` returns vocals and karaoke aligned with the input sample for
sample (the first ``latency`` samples of engine output are dropped, and ``finish()`` feeds that
many zeros to release the end), so a file of any length is separated in constant memory and
the outputs have exactly the input's length. The engine is the streaming engine itself, fed
whole batches of hops.

When the engine runs at another rate than the input (models trained at 44.1 kHz), the signal
is resampled on the way in and the vocals on the way out with soxr's streaming resampler
("HQ", the ``soxr_hq`` of ``librosa.resample``; chunked and whole-signal resampling give the
same samples). The karaoke is then the input minus the vocals, so the two still sum to the
input. Shapes: blocks are ``(channels, n)`` float64 at the input rate ``sr``.
"""

from __future__ import annotations

import numpy as np


class AlignedSeparator:
    """Latency-compensated separation of a stream at ``sr`` Hz by ``engine`` (running at
    ``engine.sr``); the engine is reset here and belongs to this stream until ``finish``."""

    def __init__(self, engine, sr: int):
        self.engine = engine
        self.sr = int(sr)
        self.channels = engine.channels
        engine.reset()
        self._skip = engine.latency_samples  # engine output still to drop
        self.samples_in = 0
        self.samples_out = 0
        self.resampled = engine.sr != self.sr
        if self.resampled:
            import soxr  # librosa's resampler; imported only when a rate differs

            C = self.channels
            self._down = soxr.ResampleStream(self.sr, engine.sr, C, dtype="float64",
                                             quality="HQ")
            self._up = soxr.ResampleStream(engine.sr, self.sr, C, dtype="float64",
                                           quality="HQ")
            self._dry: list[np.ndarray] = []  # input at sr whose vocals are not out yet
            self._dry_len = 0

    # -- the engine at its own rate, latency dropped -------------------------------------------
    def _engine(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v, k = self.engine.process(x)
        if self._skip:
            drop = min(self._skip, v.shape[1])
            self._skip -= drop
            v, k = v[:, drop:], k[:, drop:]
        return v, k

    def _tail(self) -> tuple[np.ndarray, np.ndarray]:
        """Zeros through the engine to release the last ``latency`` samples."""
        return self._engine(np.zeros((self.channels, self.engine.latency_samples)))

    # -- the stream ------------------------------------------------------------------------------
    def push(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Separate the next ``(channels, n)`` samples; returns the aligned ``(vocals, karaoke)``
        finished so far (fewer samples than given near the start)."""
        block = np.asarray(block, dtype=np.float64)
        self.samples_in += block.shape[1]
        if not self.resampled:
            v, k = self._engine(block)
            self.samples_out += v.shape[1]
            return v, k
        y = self._down.resample_chunk(np.ascontiguousarray(block.T), last=False)
        self._keep_dry(block)
        v_rate, _ = self._engine(np.ascontiguousarray(y.T))
        v = self._up.resample_chunk(np.ascontiguousarray(v_rate.T), last=False).T
        return self._pair(v, last=False)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """The rest of the outputs: after this, exactly as many samples came out as went in."""
        if not self.resampled:
            v, k = self._tail()
            v, k = v[:, : self.samples_in - self.samples_out], k[:, : self.samples_in - self.samples_out]
            self.samples_out += v.shape[1]
            return v, k
        y = self._down.resample_chunk(np.zeros((0, self.channels)), last=True)
        v1, _ = self._engine(np.ascontiguousarray(y.T))
        v2, _ = self._tail()
        v_rate = np.concatenate([v1, v2], axis=1)
        v = self._up.resample_chunk(np.ascontiguousarray(v_rate.T), last=True).T
        return self._pair(v, last=True)

    def _keep_dry(self, block: np.ndarray) -> None:
        self._dry.append(block)
        self._dry_len += block.shape[1]

    def _take_dry(self, n: int) -> np.ndarray:
        out = np.empty((self.channels, n))
        got = 0
        while got < n:
            head = self._dry[0]
            take = min(n - got, head.shape[1])
            out[:, got : got + take] = head[:, :take]
            got += take
            if take == head.shape[1]:
                self._dry.pop(0)
            else:
                self._dry[0] = head[:, take:]
        self._dry_len -= n
        return out

    def _pair(self, v: np.ndarray, last: bool) -> tuple[np.ndarray, np.ndarray]:
        """Cut or pad the resampled vocals to the input's length; karaoke = input - vocals."""
        room = self.samples_in - self.samples_out
        v = v[:, :room]
        if last and v.shape[1] < room:  # the resampler may come out a sample short
            v = np.concatenate([v, np.zeros((self.channels, room - v.shape[1]))], axis=1)
        dry = self._take_dry(v.shape[1])
        self.samples_out += v.shape[1]
        return v, dry - v
