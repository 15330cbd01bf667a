"""The primitive interface and what every primitive shares (input checks, warm-up).

Each primitive is an object with ``name``, ``reset()``, ``warmup()`` and
``step(mag (bins,)) -> mask (bins,)`` in [0, 1] (1 = vocals) for the newest frame, given the
magnitude spectrum (mean over channels). Only past and current frames are used. All state is
allocated in ``__init__``; ``step`` returns an internal buffer that the caller copies.

``step_many(mags (B, bins), out (B, bins))`` steps through B consecutive frames at once. The
numba primitives run the same per-frame kernel in a loop inside one compiled call (state
carried exactly, so the masks equal B calls of ``step`` bit for bit, which a test checks);
``step`` is ``step_many`` on one frame, so there is one implementation of each primitive.
Durations are given in seconds and frequencies in Hz, and converted with the STFT geometry,
so every preset and sample rate behaves alike.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import StftGeometry
from ..errors import ConfigError


def frames_for(geometry: StftGeometry, seconds: float) -> int:
    """A duration in seconds as a whole number of hops (at least one)."""
    return max(1, int(round(seconds * geometry.sr / geometry.hop)))


class Primitive:
    """Base class: input checks and warm-up; subclasses implement ``reset`` and ``_step``."""

    name = ""
    # How much this cue's opinion counts in primitive clustering for the latest frame, as a
    # factor on its weight: 1 always, except for a score that is silent (``ScoreCue``).
    presence = 1.0

    def __init__(self, geometry: StftGeometry):
        self.geometry = geometry
        self.n_bins = geometry.n_bins
        self.bin_hz = geometry.sr / geometry.n_fft
        self._out = np.zeros(self.n_bins)
        self._clean = np.zeros(self.n_bins)

    def warmup(self) -> None:
        """Compile the kernels and run a few frames, then forget them.

        Noise and then a harmonic tone, so that paths taken only on voiced frames (the pitch
        cue's comb) compile now: on a cold cache a first sung note would otherwise compile one
        mid-stream (~170 ms, a burst of xruns).
        """
        rng = np.random.default_rng(0)
        for _ in range(3):
            self.step(rng.random(self.n_bins))
        tone = self._harmonic_frame(220.0)
        for _ in range(4):
            self.step(tone)
        self.reset()

    def _harmonic_frame(self, f0_hz: float) -> np.ndarray:
        """A magnitude frame with ten partials of ``f0_hz`` over a low noise floor."""
        mag = np.full(self.n_bins, 1e-3)
        for h in range(1, 11):
            b = int(round(h * f0_hz / self.bin_hz))
            if b < self.n_bins:
                mag[b] = 1.0 / h
        return mag

    def reset(self) -> None:  # pragma: no cover - every primitive overrides it
        raise NotImplementedError

    def step(self, mag: np.ndarray) -> np.ndarray:
        """Vocal mask ``(bins,)`` of the newest frame, from its magnitude ``mag`` ``(bins,)``."""
        if mag.shape != self._out.shape or mag.dtype != np.float64:
            self._reject(mag)
        if not mag.flags.c_contiguous:
            np.copyto(self._clean, mag)
            mag = self._clean
        out = self._out[None]
        self.step_many(mag[None], out)
        return self._out

    def step_many(self, mags: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Masks of consecutive frames: ``mags`` ``(B, bins)`` into ``out`` ``(B, bins)``.

        Both must be C-contiguous float64. Returns ``out``.
        """
        # numba does not check bounds: a frame of the wrong size would read past the end
        if (mags.ndim != 2 or mags.shape[1] != self.n_bins or mags.dtype != np.float64
                or not mags.flags.c_contiguous):
            self._reject(mags)
        if out.shape != mags.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
            raise ConfigError(f"{self.name}: out must be C-contiguous float64 {mags.shape}")
        # A NaN or inf stored in a history (a sorted median window, the REPET ring) would spoil
        # every later frame, not just this one; one sum (no allocation) detects it.
        if not math.isfinite(mags.sum()):
            mags = np.where(np.isfinite(mags), mags, 0.0)
        self._steps(mags, out)
        return out

    def _reject(self, mag: np.ndarray) -> None:
        raise ConfigError(
            f"{self.name}: expected float64 magnitude frames of {self.n_bins} bins, "
            f"got {mag.dtype} {mag.shape} (expected ({self.n_bins},))"
        )

    def _steps(self, mags: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out[i]`` with the mask of ``mags[i]``, frame after frame; the numba
        primitives override this with one kernel call. ``mags`` holds finite values."""
        for i in range(mags.shape[0]):
            np.copyto(out[i], self._step(mags[i]))

    def _step(self, mag: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError
