"""Online REPET-SIM step (Rafii & Pardo, ICASSP 2013): the repeating part of the current frame
is the per-bin median of the past frames most similar to it.

Shapes: ``mag`` ``(bins,)`` the current magnitude frame; ``comp`` ``(bands,)`` its compressed,
unit-norm copy (see :func:`compress_frame`); ``hist_mag`` ``(T, bins)`` and ``hist_comp``
``(T, bands)`` rings of past frames, slot ``pos`` being the next to write, ``count`` how many
are filled. A slot's age is 1 for the newest past frame, T for the oldest.

Similarity is the cosine of compressed frames (a dot product of unit vectors over ~32 bands,
so 1380 past frames cost ~90k multiply-adds). Neighbours are picked greedily by similarity,
at least ``min_dist`` frames from the current frame and from each other, above ``threshold``,
at most ``max_k``. The repeating model W is their per-bin median capped by the current
magnitude V; the vocal (non-repeating) mask is ``(V-W)^p / ((V-W)^p + W^p)``. Silent bins
get 0; with no neighbour yet the mask is a neutral 0.5.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._jit import check_array, jit


@jit
def _compress_frame(mag, edges, out):
    """``out[b]`` = square root of the mean magnitude in bins ``edges[b]:edges[b+1]``, then the
    whole vector scaled to unit norm (left at 0 for a silent frame)."""
    norm = 0.0
    for b in range(out.shape[0]):
        acc = 0.0
        for f in range(edges[b], edges[b + 1]):
            acc += mag[f]
        v = math.sqrt(acc / (edges[b + 1] - edges[b]))
        out[b] = v
        norm += v * v
    if norm > 0.0:
        inv = 1.0 / math.sqrt(norm)
        for b in range(out.shape[0]):
            out[b] *= inv


def compress_frame(mag, edges, out) -> None:
    """Fill ``out`` ``(bands,)`` with the compressed unit-norm copy of ``mag`` ``(bins,)``;
    ``edges`` ``(bands + 1,)`` int64 from :func:`band_edges`."""
    check_array("mag", mag, (None,))
    check_array("edges", edges, (None,), dtype=np.int64)
    check_array("out", out, (edges.shape[0] - 1,))
    if edges[0] < 0 or edges[-1] > mag.shape[0] or np.any(np.diff(edges) < 1):
        raise ValueError("edges must increase strictly within the frame's bins")
    _compress_frame(mag, edges, out)


def compress_frame_ref(mag: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`compress_frame`."""
    v = np.sqrt(np.array([mag[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]))
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def band_edges(n_bins: int, n_bands: int, first_bin: int = 1) -> np.ndarray:
    """Bin edges ``(n_bands + 1,)`` of log-spaced bands from ``first_bin`` to ``n_bins``; each
    band holds at least one bin (the lowest bands are single bins)."""
    n_bands = max(1, min(int(n_bands), n_bins - first_bin))
    edges = [first_bin]
    for b in range(n_bands):
        remaining = n_bands - b
        target = edges[-1] * (n_bins / edges[-1]) ** (1.0 / remaining)
        edges.append(min(n_bins - (remaining - 1), max(edges[-1] + 1, int(round(target)))))
    edges[-1] = n_bins
    return np.asarray(edges, dtype=np.int64)


@jit
def _age(slot, pos, n_slots):
    return (pos - 1 - slot) % n_slots + 1


def median_network(n: int) -> list[tuple[int, int]]:
    """Compare-exchanges ``(i, j)``, ``i < j``, after which rows ``n // 2`` (and ``n // 2 - 1``
    for even ``n``) hold the median ranks: Batcher's odd-even merge sort for ``n`` inputs,
    without the compare-exchanges that cannot move a value into those rows."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    needed = {n // 2} if n % 2 else {n // 2 - 1, n // 2}
    kept = []
    for i, j in reversed(pairs):
        if i in needed or j in needed:
            kept.append((i, j))
            needed |= {i, j}
    return kept[::-1]


@functools.lru_cache(maxsize=None)
def median_networks(max_k: int) -> tuple[np.ndarray, np.ndarray]:
    """The networks for ``n = 0 .. max_k`` rows as ``(pairs (total, 2) int64, starts
    (max_k + 2,) int64)``: network ``n`` is ``pairs[starts[n]:starts[n + 1]]``."""
    nets = [median_network(n) for n in range(max_k + 1)]
    starts = np.cumsum([0] + [len(net) for net in nets]).astype(np.int64)
    flat = [pair for net in nets for pair in net]
    pairs = np.array(flat if flat else np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)
    pairs.flags.writeable = False
    starts.flags.writeable = False
    return pairs, starts


@jit
def _repet_step(mag, comp, hist_mag, hist_comp, pos, count, min_dist, max_k, threshold,
               power, sims, chosen, gathered, net_pairs, net_starts, out):
    """Fill ``out`` ``(bins,)`` with the vocal mask, then store the frame at slot ``pos``.

    Scratch: ``sims`` ``(T,)``, ``chosen`` ``(max_k,)`` int64, ``gathered`` ``(max_k, bins)``;
    ``net_pairs``, ``net_starts``: ``median_networks(max_k)``. Returns the number of
    neighbours used. The caller advances ``pos`` and ``count``.
    """
    n_slots, n_bins = hist_mag.shape
    n_bands = comp.shape[0]
    for s in range(n_slots):
        a = _age(s, pos, n_slots)
        if a > count or a < min_dist:
            sims[s] = -np.inf
        else:
            acc = 0.0
            for b in range(n_bands):
                acc += hist_comp[s, b] * comp[b]
            sims[s] = acc
    n = 0
    for _ in range(max_k):
        best = 0
        for s in range(1, n_slots):
            if sims[s] > sims[best]:
                best = s
        if not (sims[best] >= threshold) or sims[best] == -np.inf:
            break
        chosen[n] = best
        n += 1
        a_best = _age(best, pos, n_slots)
        for a in range(max(1, a_best - min_dist + 1), min(n_slots, a_best + min_dist - 1) + 1):
            sims[(pos - a) % n_slots] = -np.inf
    if n == 0:
        out[:] = 0.5
    else:
        for i in range(n):
            gathered[i, :] = hist_mag[chosen[i], :]
        # A median network over the n rows, every bin at once: each compare-exchange is a
        # branch-free min/max over a whole row, which the compiler vectorises. Sorting each
        # bin's values with insertion sort instead mispredicts a branch per value and was 4-5
        # times slower at n = 20; the network (see ``median_network``) needs 84
        # compare-exchanges at n = 20 where a full odd-even transposition sort needs 190.
        for c in range(net_starts[n], net_starts[n + 1]):
            lo_row = gathered[net_pairs[c, 0]]
            hi_row = gathered[net_pairs[c, 1]]
            for f in range(n_bins):
                a = lo_row[f]
                b = hi_row[f]
                lo_row[f] = a if a < b else b
                hi_row[f] = b if a < b else a
        h = n // 2
        for f in range(n_bins):
            med = gathered[h, f] if n % 2 == 1 else 0.5 * (gathered[h - 1, f] + gathered[h, f])
            v = mag[f]
            w = min(med, v)
            r = v - w
            if power == 1.0:
                rp, wp = r, w
            elif power == 2.0:
                rp, wp = r * r, w * w
            else:
                rp, wp = r**power, w**power
            den = rp + wp
            out[f] = rp / den if den > 0.0 else 0.0
    hist_mag[pos, :] = mag
    hist_comp[pos, :] = comp
    return n


def repet_step(mag, comp, hist_mag, hist_comp, pos: int, count: int, min_dist: int, max_k: int,
               threshold: float, power: float, sims, chosen, gathered, out) -> int:
    """Checked entry to the REPET-SIM step (see the kernel ``_repet_step``); returns the number
    of neighbours used."""
    check_array("hist_mag", hist_mag, (None, None), contiguous=True)
    n_slots, n_bins = hist_mag.shape
    check_array("hist_comp", hist_comp, (n_slots, None), contiguous=True)
    check_array("mag", mag, (n_bins,))
    check_array("comp", comp, (hist_comp.shape[1],))
    check_array("sims", sims, (n_slots,))
    check_array("chosen", chosen, (None,), dtype=np.int64)
    check_array("gathered", gathered, (None, n_bins), contiguous=True)
    check_array("out", out, (n_bins,))
    if not (0 <= pos < n_slots and 0 <= count <= n_slots and min_dist >= 1 and max_k >= 0):
        raise ValueError("need 0 <= pos < T, 0 <= count <= T, min_dist >= 1, max_k >= 0")
    if chosen.shape[0] < max_k or gathered.shape[0] < max_k:
        raise ValueError(f"chosen and gathered must hold max_k = {max_k} rows")
    if not power > 0:
        raise ValueError(f"power must be positive, got {power}")
    pairs, starts = median_networks(int(max_k))
    return int(_repet_step(mag, comp, hist_mag, hist_comp, int(pos), int(count), int(min_dist),
                           int(max_k), float(threshold), float(power), sims, chosen, gathered,
                           pairs, starts, out))


def repet_step_ref(mag, comp, hist_mag, hist_comp, pos, count, min_dist, max_k, threshold,
                   power):
    """Numpy twin of :func:`repet_step` that leaves the history alone.

    Returns ``(mask (bins,), chosen slots (n,))``.
    """
    n_slots = hist_mag.shape[0]
    ages = (pos - 1 - np.arange(n_slots)) % n_slots + 1
    valid = (ages <= count) & (ages >= min_dist)
    sims = np.where(valid, hist_comp @ comp, -np.inf)
    chosen = []
    for _ in range(max_k):
        best = int(np.argmax(sims))
        if not sims[best] >= threshold or sims[best] == -np.inf:
            break
        chosen.append(best)
        sims[np.abs(ages - ages[best]) < min_dist] = -np.inf
    if not chosen:
        return np.full(hist_mag.shape[1], 0.5), np.array(chosen, dtype=np.int64)
    w = np.minimum(np.median(hist_mag[chosen], axis=0), mag)
    r = mag - w
    rp = r**power
    den = rp + w**power
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, rp / den, 0.0)
    return out, np.array(chosen, dtype=np.int64)


@jit
def _repet_steps(mags, edges, comp, hist_mag, hist_comp, pos, count, min_dist, max_k,
                 threshold, power, sims, chosen, gathered, net_pairs, net_starts, out):
    """Several consecutive frames in one call: for each row ``i`` of ``mags`` ``(B, bins)``,
    compress it into ``comp``, run :func:`_repet_step` into ``out[i]`` and advance the ring
    exactly as a caller stepping one frame at a time would.

    Returns ``(pos, count, neighbours of the last frame)``. The per-frame maths is
    ``_repet_step`` itself, so a batch gives bit for bit what single steps give.
    """
    n_slots = hist_mag.shape[0]
    n = 0
    for i in range(mags.shape[0]):
        _compress_frame(mags[i], edges, comp)
        n = _repet_step(mags[i], comp, hist_mag, hist_comp, pos, count, min_dist, max_k,
                        threshold, power, sims, chosen, gathered, net_pairs, net_starts, out[i])
        pos = (pos + 1) % n_slots
        count = min(count + 1, n_slots)
    return pos, count, n
