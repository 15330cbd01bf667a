"""Pitch salience by harmonic summation, and harmonic comb masks from f0s.

Shapes: ``mag`` ``(bins,)`` magnitude of one frame; ``cand_bins`` ``(n_cand,)`` candidate f0s
in fractional bins (f0_hz / bin_hz); ``harm_weights`` ``(n_harm,)`` weight of harmonic h+1;
``salience`` ``(n_cand,)`` output. Comb masks are ``(bins,)`` in [0, 1], or ``(bins, frames)``
for a whole score.

"Harmonics of these f0s at this STFT geometry" has one implementation, ``_comb_mask``: the
engine's pitch and score cues call it once per hop (``rtsep.primitives.comb``), and score-
supervised training (``offline_training.score_losses``) calls it for every frame of a score
through ``comb_masks``, with the same defaults (``COMB_*``, ``comb_max_bin``).

Harmonic h of a candidate reads the larger of the two bins around ``h * f0`` (a cheap stand-in
for peak picking that does not favour candidates landing exactly on bin centres). Harmonics
at or above Nyquist are skipped; each candidate's sum is divided by the weights it used, so low
candidates with many harmonics below Nyquist are not favoured just for that.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import check_array, jit

MIN_F0_BINS = 0.5
# The comb's defaults, shared by the engine's cues and by training: partials up to 8 kHz, each
# a raised-cosine bump of half-width 1.5 bins plus 1 % of the partial's frequency (in bins).
COMB_MAX_HZ = 8000.0
COMB_WIDTH_BINS = 1.5
COMB_WIDTH_REL = 0.01


def comb_max_bin(n_bins: int, bin_hz: float, max_hz: float = COMB_MAX_HZ) -> float:
    """Highest partial position (fractional bin) a comb draws: ``max_hz`` or Nyquist's bin."""
    return min(n_bins - 1.0, float(max_hz) / float(bin_hz))


@jit
def _harmonic_salience(mag, cand_bins, harm_weights, salience):
    n_bins = mag.shape[0]
    for c in range(cand_bins.shape[0]):
        acc = 0.0
        wsum = 0.0
        for h in range(harm_weights.shape[0]):
            pos = (h + 1) * cand_bins[c]
            lo = int(math.floor(pos))
            if lo + 1 >= n_bins:
                break
            v = mag[lo]
            if mag[lo + 1] > v:
                v = mag[lo + 1]
            acc += harm_weights[h] * v
            wsum += harm_weights[h]
        salience[c] = acc / wsum if wsum > 0.0 else 0.0


def harmonic_salience(mag, cand_bins, harm_weights, salience) -> None:
    """Fill ``salience`` ``(n_cand,)`` with the weighted harmonic sum of each candidate."""
    check_array("mag", mag, (None,))
    check_array("cand_bins", cand_bins, (None,))
    check_array("harm_weights", harm_weights, (None,))
    check_array("salience", salience, cand_bins.shape)
    if cand_bins.size and cand_bins.min() < 0:
        raise ValueError("candidate f0s must be non-negative")
    _harmonic_salience(mag, cand_bins, harm_weights, salience)


def harmonic_salience_ref(mag, cand_bins, harm_weights) -> np.ndarray:
    """Numpy twin of :func:`harmonic_salience`; returns ``(n_cand,)``."""
    n_bins = mag.shape[0]
    h = np.arange(1, harm_weights.shape[0] + 1)
    pos = cand_bins[:, None] * h[None, :]
    lo = np.floor(pos).astype(np.int64)
    # a candidate stops at its first harmonic whose upper bin is beyond the spectrum
    ok = np.cumprod(lo + 1 < n_bins, axis=1).astype(bool)
    lo_c = np.clip(lo, 0, n_bins - 2)
    v = np.maximum(mag[lo_c], mag[lo_c + 1])
    w = np.where(ok, harm_weights[None, :], 0.0)
    wsum = w.sum(axis=1)
    acc = (w * v).sum(axis=1)
    return np.where(wsum > 0, acc / np.where(wsum > 0, wsum, 1.0), 0.0)


@jit
def _comb_mask(f0_bins, n_f0, max_bin, width0, width_rel, out):
    """``out`` = max over the first ``n_f0`` f0s (fractional bins) and their partials below
    ``max_bin`` of a raised-cosine bump centred on partial ``h * f0`` with half-width
    ``width0 + width_rel * h * f0`` bins (wider up high, where a small f0 error has moved the
    partial further); 0 away from every partial.
    """
    n_bins = out.shape[0]
    out[:] = 0.0
    for i in range(n_f0):
        f0 = f0_bins[i]
        if f0 < MIN_F0_BINS:  # also keeps the partial loop finite
            continue
        h = 1
        while h * f0 < max_bin:
            centre = h * f0
            half = width0 + width_rel * centre
            lo = max(0, int(math.ceil(centre - half)))
            hi = min(n_bins - 1, int(math.floor(centre + half)))
            for f in range(lo, hi + 1):
                x = (f - centre) / half
                if x < 1.0 and x > -1.0:
                    v = 0.5 * (1.0 + math.cos(math.pi * x))
                    if v > out[f]:
                        out[f] = v
            h += 1


def comb_mask(f0_bins, n_f0: int, max_bin: float, width0: float, width_rel: float, out) -> None:
    """Fill ``out`` ``(bins,)`` with the comb mask of the first ``n_f0`` of ``f0_bins``
    (fractional bins; values below ``MIN_F0_BINS`` are skipped: such a comb has partials
    closer than a bin apart, and a tiny f0 would make the partial loop endless); see the kernel
    ``_comb_mask``."""
    check_array("f0_bins", f0_bins, (None,))
    check_array("out", out, (None,))
    if not 0 <= n_f0 <= f0_bins.shape[0]:
        raise ValueError(f"n_f0 must lie in [0, {f0_bins.shape[0]}], got {n_f0}")
    if not (width0 > 0 and width_rel >= 0):
        raise ValueError("comb widths must be positive")
    _comb_mask(f0_bins, int(n_f0), float(max_bin), float(width0), float(width_rel), out)


def comb_mask_ref(f0_bins, n_f0, max_bin, width0, width_rel, n_bins) -> np.ndarray:
    """Numpy twin of :func:`comb_mask`; returns ``(n_bins,)``."""
    out = np.zeros(n_bins)
    f = np.arange(n_bins, dtype=np.float64)
    for f0 in np.asarray(f0_bins[:n_f0], dtype=np.float64):
        if f0 < MIN_F0_BINS:
            continue
        n_h = int(np.ceil(max_bin / f0))
        h = np.arange(1, n_h + 1, dtype=np.float64)
        h = h[h * f0 < max_bin]
        if h.size == 0:
            continue
        centre = h * f0
        half = width0 + width_rel * centre
        x = (f[None, :] - centre[:, None]) / half[:, None]
        bump = np.where(np.abs(x) < 1.0, 0.5 * (1.0 + np.cos(np.pi * x)), 0.0)
        out = np.maximum(out, bump.max(axis=0))
    return out


@jit
def _comb_masks(f0_bins, n_f0, max_bin, width0, width_rel, row, out):
    """Column ``t`` of ``out`` ``(bins, frames)`` = ``_comb_mask`` of the first ``n_f0[t]`` f0s of
    row ``t`` of ``f0_bins`` ``(frames, k)``; ``row`` ``(bins,)`` is scratch."""
    for t in range(out.shape[1]):
        _comb_mask(f0_bins[t], n_f0[t], max_bin, width0, width_rel, row)
        for f in range(out.shape[0]):
            out[f, t] = row[f]


def comb_masks(f0_bins, n_f0, max_bin: float, width0: float, width_rel: float, out) -> None:
    """Fill ``out`` ``(bins, frames)`` with one comb mask per frame: frame ``t`` combs the first
    ``n_f0[t]`` f0s (fractional bins) of ``f0_bins[t]`` ``(frames, k)``, exactly as
    :func:`comb_mask` would for that frame (the same kernel draws both)."""
    check_array("f0_bins", f0_bins, (None, None), contiguous=True)
    check_array("n_f0", n_f0, (f0_bins.shape[0],), dtype=np.int64)
    check_array("out", out, (None, f0_bins.shape[0]))
    if n_f0.size and (n_f0.min() < 0 or n_f0.max() > f0_bins.shape[1]):
        raise ValueError(f"n_f0 must lie in [0, {f0_bins.shape[1]}]")
    if not (width0 > 0 and width_rel >= 0):
        raise ValueError("comb widths must be positive")
    _comb_masks(f0_bins, n_f0, float(max_bin), float(width0), float(width_rel),
                np.empty(out.shape[0]), out)


def comb_masks_ref(f0_bins, n_f0, max_bin, width0, width_rel, n_bins) -> np.ndarray:
    """Numpy twin of :func:`comb_masks`; returns ``(n_bins, frames)``."""
    cols = [comb_mask_ref(f, int(n), max_bin, width0, width_rel, n_bins)
            for f, n in zip(f0_bins, n_f0)]
    return np.stack(cols, axis=1) if cols else np.zeros((n_bins, 0))


def harmonic_mask(f0_hz, bin_hz: float, n_bins: int, max_hz: float = COMB_MAX_HZ,
                  width_bins: float = COMB_WIDTH_BINS, width_rel: float = COMB_WIDTH_REL
                  ) -> np.ndarray:
    """The comb of a score at an STFT geometry: ``(n_bins, frames)`` in [0, 1].

    ``f0_hz`` is ``(frames,)`` (one f0 per frame, 0 = silent) or ``(frames, k)`` (up to k
    sounding notes, 0 = none); ``bin_hz`` is ``sr / n_fft``. Same maths and defaults as the
    engine's score cue (``rtsep.primitives.score.ScoreCue``) on each frame.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    f0 = f0[:, None] if f0.ndim == 1 else f0
    if f0.ndim != 2:
        raise ValueError(f"f0_hz must be (frames,) or (frames, k), got shape {f0.shape}")
    if not np.all(np.isfinite(f0)):
        raise ValueError("f0_hz must be finite")
    voiced = f0 > 0
    # each frame's sounding f0s first, so that n_f0 counts them
    order = np.argsort(~voiced, axis=1, kind="stable")
    bins = np.ascontiguousarray(np.take_along_axis(np.where(voiced, f0, 0.0), order, 1) / bin_hz)
    out = np.empty((int(n_bins), f0.shape[0]))
    comb_masks(bins, voiced.sum(axis=1).astype(np.int64), comb_max_bin(n_bins, bin_hz, max_hz),
               width_bins, width_rel, out)
    return out


@jit
def _whiten(x, half_width, out):
    """``out[f] = max(x[f] - mean(x[f-half_width : f+half_width+1]), 0)``, window clipped at
    the edges: keeps spectral peaks (partials) and drops the smooth floor under them, so that
    loud low bands and broadband noise do not win the harmonic sum."""
    n = x.shape[0]
    acc = 0.0
    lo = 0
    hi = min(n, half_width + 1)  # window is x[lo:hi]
    for g in range(hi):
        acc += x[g]
    for f in range(n):
        v = x[f] - acc / (hi - lo)
        out[f] = v if v > 0.0 else 0.0
        if hi < n:
            acc += x[hi]
            hi += 1
        if f - half_width >= 0:
            acc -= x[lo]
            lo += 1


def whiten(x, half_width: int, out) -> None:
    """Fill ``out`` with ``x`` ``(bins,)`` minus its moving average, floored at 0."""
    check_array("x", x, (None,))
    check_array("out", out, x.shape)
    if half_width < 0:
        raise ValueError(f"half_width must be >= 0, got {half_width}")
    _whiten(x, int(half_width), out)


def whiten_ref(x: np.ndarray, half_width: int) -> np.ndarray:
    """Numpy twin of :func:`whiten`."""
    n = x.shape[0]
    c = np.concatenate([[0.0], np.cumsum(x)])
    f = np.arange(n)
    lo = np.maximum(0, f - half_width)
    hi = np.minimum(n, f + half_width + 1)
    return np.maximum(x - (c[hi] - c[lo]) / (hi - lo), 0.0)
