"""The pitch cue's whole frame step: predominant f0 by harmonic summation, then a comb mask.

Shapes: ``mags`` ``(B, bins)`` consecutive magnitude frames, ``out`` ``(B, bins)`` their masks;
candidates are ``(n_cand,)`` (``cand_bins`` in fractional bins, ``cand_hz``, ``cand_st`` in
semitones = 12 log2 Hz); ``harm_weights`` ``(n_harm,)``. Scratch: ``comp`` and ``white``
``(bins,)``, ``salience`` ``(n_cand,)``, ``f0_bins`` ``(>= 1,)``.

Per frame: the square root of the magnitude is whitened (``_whiten``), candidates are scored by
``_harmonic_salience``; candidates near the previous f0 get up to ``continuity`` extra salience
(a Gaussian in semitones, width ``continuity_st``). The frame is voiced in proportion to how far
the best salience stands above the whitened floor (``voicing_lo`` .. ``voicing_hi`` times the
mean from ``lo_bin`` to ``hi_bin``); the f0 is refined by a parabola through the salience peak
and its neighbours, and the mask is the comb (``_comb_mask``) scaled by the voicing. The only
state carried from frame to frame is the f0 in Hz (0 when unvoiced).

``pitch_frame_ref`` is the numpy twin of one frame.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .harmonic import _comb_mask, _harmonic_salience, _whiten


@jit
def _pitch_steps(mags, f0_hz, whiten_half, cand_bins, cand_hz, cand_st, harm_weights, lo_bin,
                 hi_bin, voicing_lo, voicing_hi, continuity, continuity_st, bins_per_octave,
                 max_bin, width0, width_rel, comp, white, salience, f0_bins, out):
    """Fill ``out[i]`` for each frame ``mags[i]``; returns ``(f0_hz, voicing)`` of the last."""
    n_cand = salience.shape[0]
    voicing = 0.0
    for i in range(mags.shape[0]):
        mag = mags[i]
        mask = out[i]
        for f in range(mag.shape[0]):
            comp[f] = math.sqrt(mag[f])
        _whiten(comp, whiten_half, white)
        _harmonic_salience(white, cand_bins, harm_weights, salience)
        acc = 0.0
        for f in range(lo_bin, hi_bin):
            acc += white[f]
        floor = acc / (hi_bin - lo_bin)
        if f0_hz > 0.0 and continuity > 0.0:
            prev_st = 12.0 * math.log2(f0_hz)
            for c in range(n_cand):
                d = (cand_st[c] - prev_st) / continuity_st
                salience[c] *= continuity * math.exp(d * d * -0.5) + 1.0
        best = 0
        for c in range(1, n_cand):
            if salience[c] > salience[best]:
                best = c
        ratio = salience[best] / floor if floor > 0.0 else 0.0
        voicing = min(1.0, max(0.0, (ratio - voicing_lo) / (voicing_hi - voicing_lo)))
        if voicing <= 0.0:
            f0_hz = 0.0
            mask[:] = 0.0
            continue
        shift = 0.0
        if 0 < best < n_cand - 1:
            a = salience[best - 1]
            b = salience[best]
            c = salience[best + 1]
            den = a - 2.0 * b + c
            if den < 0.0:
                shift = min(0.5, max(-0.5, 0.5 * (a - c) / den))
        ratio_f = 2.0 ** (shift / bins_per_octave)
        f0_hz = cand_hz[best] * ratio_f
        f0_bins[0] = cand_bins[best] * ratio_f
        _comb_mask(f0_bins, 1, max_bin, width0, width_rel, mask)
        if voicing < 1.0:
            for f in range(mask.shape[0]):
                mask[f] *= voicing
    return f0_hz, voicing


def pitch_frame_ref(mag: np.ndarray, f0_hz: float, p) -> tuple[np.ndarray, float, float]:
    """Numpy twin of one frame of :func:`_pitch_steps`; ``p`` holds the settings under the
    kernel's argument names (a ``rtsep.primitives.Pitch`` does). Returns
    ``(mask (bins,), f0_hz, voicing)``."""
    from .harmonic import comb_mask_ref, harmonic_salience_ref, whiten_ref

    white = whiten_ref(np.sqrt(mag), p.whiten_half)
    sal = harmonic_salience_ref(white, p.cand_bins, p.harm_weights)
    floor = white[p.lo_bin : p.hi_bin].mean()
    if f0_hz > 0 and p.continuity > 0:
        d = (p.cand_st - 12.0 * np.log2(f0_hz)) / p.continuity_st
        sal = sal * (1.0 + p.continuity * np.exp(-0.5 * d**2))
    best = int(np.argmax(sal))
    ratio = sal[best] / floor if floor > 0 else 0.0
    voicing = float(np.clip((ratio - p.voicing_lo) / (p.voicing_hi - p.voicing_lo), 0.0, 1.0))
    if voicing <= 0.0:
        return np.zeros_like(mag), 0.0, voicing
    shift = 0.0
    if 0 < best < sal.size - 1:
        a, b, c = sal[best - 1 : best + 2]
        if a - 2 * b + c < 0:
            shift = float(np.clip(0.5 * (a - c) / (a - 2 * b + c), -0.5, 0.5))
    ratio_f = 2.0 ** (shift / p.bins_per_octave)
    f0_bins = np.array([p.cand_bins[best] * ratio_f])
    mask = voicing * comb_mask_ref(f0_bins, 1, p.max_bin, p.width_bins, p.width_rel, mag.size)
    return mask, float(p.cand_hz[best] * ratio_f), voicing
