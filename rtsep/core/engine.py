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
from .blocks import BlockFifo
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


# Hops handed to the kernels per call when a caller gives the engine many at once (files).
# Each kernel steps through them with its state carried exactly, so any batch size gives the
# same output; 64 hops (0.37 s at the default preset) keeps every buffer small.
BATCH_HOPS = 64


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

    ``process_hops`` runs up to ``BATCH_HOPS`` consecutive hops per call: each stage (STFT,
    every primitive's kernel, Eq. 1, synthesis) handles the whole batch in one call, with
    state carried exactly, while confidence and switching still advance hop by hop. A single
    hop (``process_hop``, the live path) is the batch of one, so both are one implementation
    and give the same samples bit for bit (a test checks it).

    ``track_confidence=False`` skips the streaming confidence where it cannot change the
    output (one candidate, or ``switch="off"``); ``separate`` uses it, ``live`` shows it.

    ``score`` (a ``rtsep.score.ScoreInput``: a MIDI file or a live port) is followed hop by hop:
    before each hop's mask, its events up to the hop's last input sample are applied; the
    ``score`` primitive and the models read its state, and its ``gate`` scales the vocal mask.
    With a score, the candidates step one hop at a time (the STFT still takes the batch).
    """

    def __init__(self, sr: int, channels: int, config: EngineConfig | None = None, *,
                 track_confidence: bool = True, score=None):
        self.config = config or EngineConfig()
        self.config.validate(score=score is not None)
        if not (1 <= int(channels) <= MAX_CHANNELS):
            raise ConfigError(f"channel count {channels} is not supported (1 to {MAX_CHANNELS})")
        self.sr = int(sr)
        self.channels = int(channels)
        self.geometry: StftGeometry = geometry_for(self.sr, self.config.preset)
        g = self.geometry
        self.hop = g.hop
        self.stft = StreamingSTFT(g, self.channels, max_frames=BATCH_HOPS)
        self.score = score
        if score is not None:
            score.bind(self.sr)
        self.candidates = candidates = build_candidates(g, self.config, score)
        self.switcher = ConfidenceSwitcher(
            [c.name for c in candidates], hop_s=g.hop / g.sr, mode=self.config.switch
        )
        self.confidence_every = hops_per_update(g, self.config.confidence_rate_hz)
        self._switching = self.config.switch != "off" and len(candidates) > 1
        self.track_confidence = bool(track_confidence) or self._switching
        self.lookahead_frames = la = max(c.lookahead_frames for c in candidates)
        self.latency_samples = g.latency_samples + la * g.hop
        # ``process_hop`` returns the hop that entered ``hop_delay_samples`` ago (one hop of
        # synthesis delay plus the look-ahead); ``process`` adds ``hop - 1`` samples of FIFO.
        self.hop_delay_samples = (1 + la) * g.hop
        C, F, bins = self.channels, BATCH_HOPS, g.n_bins
        # Delay lines as "history + batch" buffers: the first rows are the frames (or hops)
        # still waiting from earlier calls. Spectra wait ``la`` frames for the look-ahead
        # candidates' masks; a candidate with less look-ahead has its masks wait the difference.
        self._spectra = np.zeros((C, la + F, bins), dtype=complex)
        self._mask_delay = [la - c.lookahead_frames for c in candidates]
        self._cand_masks = [np.zeros((d + F, bins)) for d in self._mask_delay]
        self._ran = [False] * len(candidates)
        # the input hops whose vocals are not out yet, then the batch's own
        self._dry = np.zeros((C, (la + 1 + F) * g.hop))
        self._karaoke = np.zeros((C, F * g.hop))
        self.timings = HopTimings()
        self._mask = np.zeros(bins)  # the mask applied to the latest hop
        self._masks = np.zeros((F, bins))  # the masks applied to the hops of a batch
        self._weights = np.zeros((F, len(candidates)))
        self._term = np.zeros((F, bins))
        self._abs = np.zeros((C, F, bins))
        self._masked = np.zeros((C, F, bins), dtype=complex)
        self._mags = np.zeros((F, bins))
        self._blocks = BlockFifo(self.process_hops, C, g.hop, BATCH_HOPS)
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
        if self.score is not None:
            self.score.reset()
        for c in self.candidates:
            c.reset()
        self.switcher.reset()
        self._spectra.fill(0.0)
        for m in self._cand_masks:
            m.fill(0.0)
        self._mask.fill(1.0 if self.config.bypass else 0.0)
        self._dry.fill(0.0)
        self._blocks.reset()
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
        return self.process_hops(hop_samples, cheap)

    def process_hops(self, hops: np.ndarray, cheap: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
        """``process_hop`` for 1 to ``BATCH_HOPS`` consecutive hops ``(channels, B * hop)``.

        Returns ``(vocals, karaoke)`` ``(channels, B * hop)``, views valid until the next call;
        bit for bit what B calls of ``process_hop`` return. Timings are for the whole batch.
        """
        t0 = time.perf_counter()
        spectra = self.stft.analysis_many(hops)  # (channels, B, bins)
        B = spectra.shape[1]
        mags = self._mags[:B]
        if self.channels == 1:
            np.abs(spectra[0], out=mags)
        else:  # the channels' mean magnitude (numpy's mean: sum in order, then divide)
            absolute = self._abs[:, :B]
            np.abs(spectra, out=absolute)
            np.add.reduce(absolute, axis=0, out=mags)
            np.divide(mags, self.channels, out=mags)
        t1 = time.perf_counter()
        tm = self.timings
        tm.primitives = tm.models = tm.confidence = tm.mix = 0.0
        masks = self._masks[:B]
        if self.config.bypass or cheap:
            masks[:] = self._mask
            if cheap and not self.config.bypass:
                self.cheap_hops += B
            self.hops_processed += B
            if self.score is not None:  # events up to this batch's last sample
                self.score.advance(self.hops_processed * self.hop)
        elif self.score is not None and B > 1:  # the score's state changes from hop to hop
            for b in range(B):
                self._update_masks(mags[b : b + 1], masks[b : b + 1])
        else:
            self._update_masks(mags, masks)
        t2 = time.perf_counter()
        la = self.lookahead_frames
        if la:
            self._spectra[:, la : la + B] = spectra
            spectra = self._spectra[:, :B]
        masked = self._masked[:, :B]
        # real and imaginary parts times the real mask: the same values as a complex product,
        # without the casting buffer numpy would allocate for one
        np.multiply(spectra.real, masks, out=masked.real)
        np.multiply(spectra.imag, masks, out=masked.imag)
        if la:
            self._spectra[:, :la] = self._spectra[:, B : B + la]
        vocals = self.stft.synthesis_many(masked)
        n = B * self.hop
        lag = (la + 1) * self.hop
        dry = self._dry
        dry[:, lag : lag + n] = hops
        karaoke = self._karaoke[:, :n]
        np.subtract(dry[:, :n], vocals, out=karaoke)
        dry[:, :lag] = dry[:, n : n + lag]
        tm.stft = t1 - t0
        tm.synthesis = time.perf_counter() - t2
        return vocals, karaoke

    def _update_masks(self, mags: np.ndarray, masks: np.ndarray) -> None:
        """Run the candidates on B frames' magnitudes ``(B, bins)``; fill ``masks`` ``(B, bins)``
        with the masks to apply and leave the last one in ``_mask``.

        Each candidate computes its B masks in one call; confidence, switching and the blend
        then advance hop by hop, as they would with one hop per call. Fills the
        ``primitives``, ``models``, ``confidence`` and ``mix`` timings.
        """
        tm = self.timings
        B = mags.shape[0]
        if self.score is not None:  # B == 1 here: events up to this hop's last sample
            self.score.advance((self.hops_processed + 1) * self.hop)
        run_all = self.switcher.mode != "off"
        ran = self._ran
        for i, c in enumerate(self.candidates):
            ran[i] = run_all or i == self.switcher.active
            if not ran[i]:
                continue
            out = c.step_many(mags)
            if c.kind == "model":
                tm.models += c.compute_s
            else:
                tm.primitives += c.compute_s
            d = self._mask_delay[i]
            ring = self._cand_masks[i]
            ring[d : d + B] = out
        t0 = time.perf_counter()
        weights = self._weights[:B]
        track = self.track_confidence
        for b in range(B):
            if track:
                for i, c in enumerate(self.candidates):
                    if ran[i]:
                        c.push_confidence(b)
            if self._switching and self.hops_processed % self.confidence_every == 0:
                self.switcher.observe([c.confidence.value for c in self.candidates])
            weights[b] = self.switcher.advance()
            self.hops_processed += 1
        if track:
            tm.confidence += sum(c.confidence_s for i, c in enumerate(self.candidates) if ran[i])
        masks.fill(0.0)
        term = self._term[:B]
        for i in range(len(self.candidates)):
            if not ran[i]:
                continue
            w = weights[:, i : i + 1]
            np.multiply(w, self._cand_masks[i][:B], out=term)
            if w.min() > 0.0:
                np.add(masks, term, out=masks)
            else:  # a hop where this candidate weighs nothing takes nothing from it
                for b in range(B):
                    if w[b, 0] > 0.0:
                        np.add(masks[b], term[b], out=masks[b])
        for i, d in enumerate(self._mask_delay):
            if d and ran[i]:
                ring = self._cand_masks[i]
                ring[:d] = ring[B : B + d]
        score = self.score
        if score is not None and score.gate != 1.0:  # the score says nobody sings now
            np.multiply(masks, score.gate, out=masks)
        if self.config.alpha is not None:  # Deep Karaoke (paper 003): binary where p > alpha
            np.greater(masks, self.config.alpha, out=masks)
        self._mask[:] = masks[B - 1]
        if score is not None:
            score.mask_ready()
        tm.mix = time.perf_counter() - t0 - (tm.confidence if track else 0.0)

    def frame_mask(self, mag: np.ndarray) -> np.ndarray:
        """The mask the engine applies for a frame of magnitude ``mag`` ``(bins,)``.

        Advances the candidates exactly as a streamed hop does; used by the offline reference
        path (``rtsep.core.offline``), which does its own STFT. With look-ahead, the mask
        returned belongs to the frame ``lookahead_frames`` hops earlier.
        """
        if self.config.bypass:
            self.hops_processed += 1
        else:
            mags = self._mags[:1]
            mags[0] = mag
            self._update_masks(mags, self._masks[:1])
        return self._mask

    # -- any block size ----------------------------------------------------------------------
    def process(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed ``(channels, n)`` samples, get ``(vocals, karaoke)`` of the same shape.

        Whole hops go to ``process_hops`` up to ``BATCH_HOPS`` at a time
        (``rtsep.core.blocks``); the result does not depend on how the signal is cut.
        """
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ConfigError(
                f"expected a block of shape (channels={self.channels}, samples), got {block.shape}"
            )
        return self._blocks.process(block)


def build_candidates(geometry: StftGeometry, config: EngineConfig, score=None) -> list:
    """Primitive clustering (unless disabled) followed by each model in ``config.models``;
    ``score`` (or None) is handed to each."""
    from .model_candidates import resolve_default

    config = resolve_default(config, geometry.sr)
    candidates = []
    if config.use_primitives:
        candidates.append(PrimitiveCandidate(geometry, config, score))
    if config.models:
        from .model_candidates import load_model_candidates

        candidates.extend(load_model_candidates(config.models, geometry, config, score))
    if not candidates:
        raise ConfigError("nothing to run: primitives are off and no model is loaded")
    return candidates
