"""The streaming engine: one hop at a time, the same code live and on files.

Shapes: ``process(block)`` takes ``(channels, samples)`` float64 of any length and returns
``(vocals, karaoke)``, each ``(channels, samples)``. Output sample ``n`` is the separation of
input sample ``n - latency_samples`` (earlier samples are zeros).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .config import EngineConfig, StftGeometry, geometry_for
from .confidence import StreamingConfidence
from .errors import ConfigError
from .masking import MaskCombiner
from .primitives import make_primitives
from .stft import StreamingSTFT


@dataclass
class HopTimings:
    """Seconds spent per stage for the most recent hop."""

    stft: float = 0.0
    primitives: float = 0.0
    combine: float = 0.0
    confidence: float = 0.0
    synthesis: float = 0.0

    @property
    def total(self) -> float:
        return self.stft + self.primitives + self.combine + self.confidence + self.synthesis


class Engine:
    """Separates vocals from accompaniment hop by hop.

    The engine owns its FIFOs: input samples are gathered into hops, each hop is analysed,
    masked and synthesised, and outputs are released with a fixed delay of
    ``latency_samples`` so that any block size, down to one sample, gives the same stream.
    """

    def __init__(self, sr: int, channels: int, config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.config.validate()
        if not (1 <= int(channels) <= 64):
            raise ConfigError(f"channel count {channels} is not supported (1 to 64)")
        self.sr = int(sr)
        self.channels = int(channels)
        self.geometry: StftGeometry = geometry_for(self.sr, self.config.preset)
        g = self.geometry
        self.hop = g.hop
        self.latency_samples = g.latency_samples
        self.stft = StreamingSTFT(g, self.channels)
        self.primitives = make_primitives(self.config.primitives, g)
        self.combiner = MaskCombiner(
            n_bins=g.n_bins,
            n_primitives=len(self.primitives),
            weights=self.config.weights,
            beta=self.config.beta,
            alpha=self.config.alpha,
        )
        self.confidence = StreamingConfidence(
            geometry=g,
            n_dims=len(self.primitives),
            rate_hz=self.config.confidence_rate_hz,
            n_points=self.config.confidence_points,
            window_s=self.config.confidence_window_s,
        )
        self.timings = HopTimings()
        self.hops_processed = 0
        self.cheap_hops = 0
        self._embedding = np.zeros((g.n_bins, len(self.primitives)))
        self._mask = np.zeros(g.n_bins)
        self._in = np.zeros((self.channels, g.hop))
        self._in_fill = 0
        # Output FIFO: primed with hop-1 zeros so that a full hop is always ready in time.
        self._out_v = np.zeros((self.channels, 0))
        self._out_k = np.zeros((self.channels, 0))
        self._dry = np.zeros((self.channels, self.latency_samples))
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def warmup(self) -> "Engine":
        """Compile and run every kernel once so the first live hop is not late."""
        for p in self.primitives:
            p.warmup()
        self.combiner.warmup()
        self.confidence.warmup()
        self.reset()
        return self

    def reset(self) -> None:
        self.stft.reset()
        for p in self.primitives:
            p.reset()
        self.confidence.reset()
        self._mask.fill(1.0 if self.config.bypass else 0.0)
        self._in_fill = 0
        prime = self.hop - 1
        self._out_v = np.zeros((self.channels, prime))
        self._out_k = np.zeros((self.channels, prime))
        self._dry = np.zeros((self.channels, self.latency_samples))
        self.hops_processed = 0
        self.cheap_hops = 0

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_samples / self.sr

    @property
    def primitive_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.primitives)

    # -- per hop -----------------------------------------------------------------------------
    def process_hop(self, hop_samples: np.ndarray, cheap: bool = False) -> np.ndarray:
        """Analyse one hop ``(channels, hop)`` and return the vocal hop it completes.

        The returned samples are those of input ``hop_samples`` delayed by one hop of the
        synthesis window (the engine adds the buffering hop). ``cheap=True`` reuses the last
        mask instead of running the primitives: the degraded path used when the worker is late.
        """
        t0 = time.perf_counter()
        spectrum = self.stft.analysis(hop_samples)
        if self.channels == 1:
            mag = np.abs(spectrum[0])
        else:
            mag = np.abs(spectrum).mean(axis=0)
        t1 = time.perf_counter()
        if self.config.bypass:
            t2 = t3 = t4 = t1
        elif cheap:
            self.cheap_hops += 1
            t2 = t3 = t4 = t1
        else:
            t2, t3, t4 = self._update_mask(mag)
        vocals = self.stft.synthesis(spectrum * self._mask)
        t5 = time.perf_counter()
        tm = self.timings
        tm.stft, tm.primitives, tm.combine = t1 - t0, t2 - t1, t3 - t2
        tm.confidence, tm.synthesis = t4 - t3, t5 - t4
        self.hops_processed += 1
        return vocals

    def _update_mask(self, mag: np.ndarray) -> tuple[float, float, float]:
        """Primitives, clustering and confidence for one frame's magnitude ``(bins,)``.

        Leaves the mask to apply in ``self._mask`` and returns the stage end times.
        """
        for d, p in enumerate(self.primitives):
            self._embedding[:, d] = p.step(mag)
        t2 = time.perf_counter()
        soft = self.combiner.combine(self._embedding)
        t3 = time.perf_counter()
        self.confidence.push(mag, self._embedding, soft)
        t4 = time.perf_counter()
        self._mask[:] = self.combiner.finalize(soft)
        return t2, t3, t4

    def frame_mask(self, mag: np.ndarray) -> np.ndarray:
        """The mask the engine would apply to a frame of magnitude ``mag`` ``(bins,)``.

        Advances the primitives' history exactly as a streamed hop does; used by the offline
        reference path (``rtsep.offline``), which does its own STFT.
        """
        self._update_mask(mag)
        return self._mask

    # -- any block size ----------------------------------------------------------------------
    def process(self, block: np.ndarray, cheap: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Feed ``(channels, n)`` samples, get ``(vocals, karaoke)`` of the same shape."""
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ConfigError(
                f"expected a block of shape (channels={self.channels}, samples), got {block.shape}"
            )
        n = block.shape[1]
        hop = self.hop
        produced_v, produced_k = [self._out_v], [self._out_k]
        dry = np.concatenate([self._dry, block], axis=1)
        out_len = self._out_v.shape[1]
        pos = 0
        while pos < n:
            take = min(hop - self._in_fill, n - pos)
            self._in[:, self._in_fill : self._in_fill + take] = block[:, pos : pos + take]
            self._in_fill += take
            pos += take
            if self._in_fill == hop:
                self._in_fill = 0
                v = self.process_hop(self._in, cheap=cheap).copy()
                k = dry[:, out_len : out_len + hop] - v
                produced_v.append(v)
                produced_k.append(k)
                out_len += hop
        vocals = np.concatenate(produced_v, axis=1)
        karaoke = np.concatenate(produced_k, axis=1)
        self._out_v, self._out_k = vocals[:, n:], karaoke[:, n:]
        self._dry = dry[:, n:]
        return vocals[:, :n], karaoke[:, :n]

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Push ``latency_samples`` zeros through, returning the delayed tail of the stream."""
        return self.process(np.zeros((self.channels, self.latency_samples)))
