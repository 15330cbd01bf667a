"""The streaming engine: one hop at a time, the same code live and on files.

Shapes: ``process(block)`` takes ``(channels, samples)`` float64 of any length and returns
``(vocals, karaoke)``, each ``(channels, samples)``. Output sample ``n`` is the separation of
input sample ``n - latency_samples`` (earlier samples are zeros).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..config import MAX_CHANNELS, EngineConfig, StftGeometry, geometry_for
from ..errors import ConfigError
from .candidates import PrimitiveCandidate
from .confidence import hops_per_update
from .stft import StreamingSTFT
from .switching import ConfidenceSwitcher


@dataclass
class HopTimings:
    """Seconds spent per stage for the most recent hop.

    ``primitives`` is primitive clustering (the cues and Eq. 1), ``models`` the separators'
    inference, ``confidence`` every candidate's confidence update, ``mix`` the switcher and the
    blend of candidates' masks (and the Deep Karaoke threshold).
    """

    stft: float = 0.0
    primitives: float = 0.0
    models: float = 0.0
    confidence: float = 0.0
    mix: float = 0.0
    synthesis: float = 0.0

    @property
    def total(self) -> float:
        return (self.stft + self.primitives + self.models + self.confidence + self.mix
                + self.synthesis)


class Engine:
    """Separates vocals from accompaniment hop by hop.

    The engine owns its FIFOs: input samples are gathered into hops, each hop is analysed,
    masked and synthesised, and outputs are released with a fixed delay of
    ``latency_samples`` so that any block size, down to one sample, gives the same stream.
    The karaoke is the input, delayed by the same amount, minus the vocals; the engine keeps
    that delay line, so every caller (files, live) gets both stems from one place.

    Candidates (primitive clustering, models) each give a mask per hop; the switcher picks one
    by confidence and crossfades. A candidate with look-ahead sees ``lookahead_frames`` more
    frames; the engine then delays the spectrum to match and adds that to the latency.
    """

    def __init__(self, sr: int, channels: int, config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.config.validate()
        if not (1 <= int(channels) <= MAX_CHANNELS):
            raise ConfigError(f"channel count {channels} is not supported (1 to {MAX_CHANNELS})")
        self.sr = int(sr)
        self.channels = int(channels)
        self.geometry: StftGeometry = geometry_for(self.sr, self.config.preset)
        g = self.geometry
        self.hop = g.hop
        self.stft = StreamingSTFT(g, self.channels)
        self.candidates = candidates = build_candidates(g, self.config)
        self.switcher = ConfidenceSwitcher(
            [c.name for c in candidates], hop_s=g.hop / g.sr, mode=self.config.switch
        )
        self.confidence_every = hops_per_update(g, self.config.confidence_rate_hz)
        self.lookahead_frames = la = max(c.lookahead_frames for c in candidates)
        self.latency_samples = g.latency_samples + la * g.hop
        # ``process_hop`` returns the hop that entered ``hop_delay_samples`` ago (one hop of
        # synthesis delay plus the look-ahead); ``process`` adds ``hop - 1`` samples of FIFO.
        self.hop_delay_samples = (1 + la) * g.hop
        # spectra wait ``la`` hops for the look-ahead candidates' masks; masks of candidates
        # with less look-ahead wait the difference
        self._spectra = np.zeros((la + 1, self.channels, g.n_bins), dtype=complex)
        self._masks = [np.zeros((la - c.lookahead_frames + 1, g.n_bins)) for c in candidates]
        self._outputs: list = [None] * len(candidates)
        # the input hops whose vocals are not out yet, oldest at ``_dry_pos``
        self._dry = np.zeros((la + 1, self.channels, g.hop))
        self._karaoke = np.zeros((self.channels, g.hop))
        self.timings = HopTimings()
        self._mask = np.zeros(g.n_bins)
        self._soft = np.zeros(g.n_bins)
        self._in = np.zeros((self.channels, g.hop))
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def warmup(self) -> "Engine":
        """Compile and run every kernel once so the first live hop is not late."""
        for c in self.candidates:
            c.warmup()
        self.reset()
        return self

    def reset(self) -> None:
        self.stft.reset()
        for c in self.candidates:
            c.reset()
        self.switcher.reset()
        self._spectra.fill(0.0)
        for m in self._masks:
            m.fill(0.0)
        self._mask.fill(1.0 if self.config.bypass else 0.0)
        self._dry.fill(0.0)
        self._dry_pos = 0
        self._in_fill = 0
        prime = self.hop - 1
        self._out_v = np.zeros((self.channels, prime))
        self._out_k = np.zeros((self.channels, prime))
        self.hops_processed = 0
        self.cheap_hops = 0

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_samples / self.sr

    @property
    def active(self):
        """The candidate whose mask is (mostly) applied now."""
        return self.candidates[self.switcher.active]

    @property
    def confidence(self):
        """Streaming confidence of the active candidate (``.value``, updated ~10 times/s)."""
        return self.active.confidence

    @property
    def candidate_names(self) -> list[str]:
        return [c.name for c in self.candidates]

    @property
    def backends(self) -> dict[str, dict]:
        """Per model candidate: the inference backend in use and why it was chosen."""
        return {c.name: c.describe_backend() for c in self.candidates if c.kind == "model"}

    # -- per hop -----------------------------------------------------------------------------
    def process_hop(self, hop_samples: np.ndarray, cheap: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Analyse one hop ``(channels, hop)``; return the ``(vocals, karaoke)`` hops it completes.

        Both belong to the input hop from ``hop_delay_samples`` ago and are views that the next
        call overwrites. ``cheap=True`` reuses the last mask instead of running the candidates:
        the degraded path used when the live worker is late.
        """
        t0 = time.perf_counter()
        spectrum = self.stft.analysis(hop_samples)
        if self.channels == 1:
            mag = np.abs(spectrum[0])
        else:
            mag = np.abs(spectrum).mean(axis=0)
        t1 = time.perf_counter()
        tm = self.timings
        tm.primitives = tm.models = tm.confidence = tm.mix = 0.0
        if cheap and not self.config.bypass:
            self.cheap_hops += 1
        elif not self.config.bypass:
            self._update_mask(mag)
        t2 = time.perf_counter()
        if self.lookahead_frames:
            self._spectra[:-1] = self._spectra[1:]
            self._spectra[-1] = spectrum
            spectrum = self._spectra[0]
        vocals = self.stft.synthesis(spectrum * self._mask)
        dry = self._dry[self._dry_pos]
        np.subtract(dry, vocals, out=self._karaoke)
        dry[:] = hop_samples
        self._dry_pos = (self._dry_pos + 1) % self._dry.shape[0]
        tm.stft = t1 - t0
        tm.synthesis = time.perf_counter() - t2
        self.hops_processed += 1
        return vocals, self._karaoke

    def _update_mask(self, mag: np.ndarray) -> None:
        """Run the candidates on one frame's magnitude ``(bins,)``; leave the mask in ``_mask``.

        Fills the ``primitives``, ``models``, ``confidence`` and ``mix`` timings.
        """
        tm = self.timings
        run_all = self.switcher.mode != "off"
        outputs = self._outputs
        for i, c in enumerate(self.candidates):
            if not run_all and i != self.switcher.active:
                outputs[i] = None
                continue
            mask = c.step(mag)
            if c.kind == "model":
                tm.models += c.compute_s
            else:
                tm.primitives += c.compute_s
            tm.confidence += c.confidence_s
            ring = self._masks[i]
            if ring.shape[0] > 1:
                ring[:-1] = ring[1:]
            ring[-1] = mask
            outputs[i] = ring[0]
        t0 = time.perf_counter()
        if (run_all and len(self.candidates) > 1
                and self.hops_processed % self.confidence_every == 0):
            self.switcher.observe([c.confidence.value for c in self.candidates])
        weights = self.switcher.advance()
        soft = self._soft
        soft.fill(0.0)
        for w, out in zip(weights, outputs):
            if w > 0.0 and out is not None:
                soft += w * out
        if self.config.alpha is None:
            self._mask[:] = soft
        else:  # Deep Karaoke (paper 003): binary mask where the posterior exceeds alpha
            np.greater(soft, self.config.alpha, out=self._mask)
        tm.mix = time.perf_counter() - t0

    def frame_mask(self, mag: np.ndarray) -> np.ndarray:
        """The mask the engine applies for a frame of magnitude ``mag`` ``(bins,)``.

        Advances the candidates exactly as a streamed hop does; used by the offline reference
        path (``rtsep.core.offline``), which does its own STFT. With look-ahead, the mask
        returned belongs to the frame ``lookahead_frames`` hops earlier.
        """
        if not self.config.bypass:
            self._update_mask(mag)
        self.hops_processed += 1
        return self._mask

    # -- any block size ----------------------------------------------------------------------
    def process(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed ``(channels, n)`` samples, get ``(vocals, karaoke)`` of the same shape."""
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ConfigError(
                f"expected a block of shape (channels={self.channels}, samples), got {block.shape}"
            )
        n = block.shape[1]
        hop = self.hop
        produced_v, produced_k = [self._out_v], [self._out_k]
        pos = 0
        while pos < n:
            take = min(hop - self._in_fill, n - pos)
            self._in[:, self._in_fill : self._in_fill + take] = block[:, pos : pos + take]
            self._in_fill += take
            pos += take
            if self._in_fill == hop:
                self._in_fill = 0
                v, k = self.process_hop(self._in)
                produced_v.append(v.copy())
                produced_k.append(k.copy())
        vocals = np.concatenate(produced_v, axis=1)
        karaoke = np.concatenate(produced_k, axis=1)
        self._out_v, self._out_k = vocals[:, n:], karaoke[:, n:]
        return vocals[:, :n], karaoke[:, :n]


def build_candidates(geometry: StftGeometry, config: EngineConfig) -> list:
    """Primitive clustering (unless disabled) followed by each model in ``config.models``."""
    from .model_candidates import resolve_default

    config = resolve_default(config, geometry.sr)
    candidates = []
    if config.use_primitives:
        candidates.append(PrimitiveCandidate(geometry, config))
    if config.models:
        from .model_candidates import load_model_candidates

        candidates.extend(load_model_candidates(config.models, geometry, config))
    if not candidates:
        raise ConfigError("nothing to run: primitives are off and no model is loaded")
    return candidates
