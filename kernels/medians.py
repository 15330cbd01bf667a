"""Running medians on sorted windows: the building blocks of online HPSS.

A window of the last ``L`` values is kept twice: in arrival order (a ring, to know which value
leaves) and sorted (to read the median). Sliding by one value is a removal and an insertion in
the sorted copy, O(L), instead of re-sorting, O(L log L). Windows start full of zeros, so a
fresh stream behaves as if it had been preceded by silence.

Shapes: ``ring`` ``(L, bins)`` and ``sorted_win`` ``(bins, L)`` for the per-bin time median;
a frame is ``(bins,)``.
"""

from __future__ import annotations

import numpy as np

from ._jit import check_array, jit


@jit
def _replace_sorted(win, n, old, new):
    """Remove one value equal to ``old`` from the sorted ``win[:n]`` and insert ``new``."""
    # locate old (it is present: it was inserted earlier)
    i = 0
    while i < n - 1 and win[i] != old:
        i += 1
    # shift neighbours over the hole towards where new belongs
    while i > 0 and win[i - 1] > new:
        win[i] = win[i - 1]
        i -= 1
    while i < n - 1 and win[i + 1] < new:
        win[i] = win[i + 1]
        i += 1
    win[i] = new


@jit
def _insert_sorted(win, n, new):
    """Insert ``new`` into the sorted ``win[:n]`` (capacity > n)."""
    i = n
    while i > 0 and win[i - 1] > new:
        win[i] = win[i - 1]
        i -= 1
    win[i] = new


@jit
def _remove_sorted(win, n, old):
    """Remove one value equal to ``old`` from the sorted ``win[:n]``."""
    i = 0
    while i < n - 1 and win[i] != old:
        i += 1
    while i < n - 1:
        win[i] = win[i + 1]
        i += 1


@jit
def _median_of_sorted(win, n):
    h = n // 2
    if n % 2 == 1:
        return win[h]
    return 0.5 * (win[h - 1] + win[h])


@jit
def _time_median_step(frame, ring, sorted_win, pos, out):
    """Push ``frame`` into the window at ring slot ``pos``; ``out`` = per-bin median.

    The caller advances ``pos`` (mod L) afterwards.
    """
    n_len, n_bins = ring.shape
    for f in range(n_bins):
        old = ring[pos, f]
        new = frame[f]
        ring[pos, f] = new
        row = sorted_win[f]
        _replace_sorted(row, n_len, old, new)
        out[f] = _median_of_sorted(row, n_len)


def time_median_step(frame, ring, sorted_win, pos: int, out) -> None:
    """Push ``frame`` ``(bins,)`` into the window at ring slot ``pos`` of ``ring`` ``(L, bins)``
    (its sorted copy ``sorted_win`` ``(bins, L)``) and write the per-bin median to ``out``.

    Both windows must start equal (e.g. all zeros). The caller advances ``pos`` (mod L).
    """
    check_array("ring", ring, (None, None))
    n_len, n_bins = ring.shape
    check_array("frame", frame, (n_bins,))
    check_array("sorted_win", sorted_win, (n_bins, n_len), contiguous=True)
    check_array("out", out, (n_bins,))
    if not 0 <= pos < n_len:
        raise ValueError(f"pos must lie in [0, {n_len}), got {pos}")
    _time_median_step(frame, ring, sorted_win, int(pos), out)


def time_median_ref(ring_after_push: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`time_median_step`: per-bin median of ``(L, bins)``."""
    return np.median(ring_after_push, axis=0)


@jit
def _freq_median(frame, half_width, scratch, out):
    """``out[f]`` = median of ``frame[f - half_width : f + half_width + 1]``, clipped at the edges.

    ``scratch`` holds at least ``2 * half_width + 1`` values.
    """
    n_bins = frame.shape[0]
    n = 0
    hi = min(n_bins, half_width + 1)
    for g in range(hi):
        _insert_sorted(scratch, n, frame[g])
        n += 1
    for f in range(n_bins):
        out[f] = _median_of_sorted(scratch, n)
        # slide: bin f + half_width + 1 enters, bin f - half_width leaves
        enter = f + half_width + 1
        leave = f - half_width
        if leave >= 0 and enter < n_bins:
            _replace_sorted(scratch, n, frame[leave], frame[enter])
        elif leave >= 0:
            _remove_sorted(scratch, n, frame[leave])
            n -= 1
        elif enter < n_bins:
            _insert_sorted(scratch, n, frame[enter])
            n += 1


def freq_median(frame, half_width: int, scratch, out) -> None:
    """``out[f]`` = median of ``frame[f - half_width : f + half_width + 1]`` clipped at the
    edges; ``scratch`` holds at least ``2 * half_width + 1`` values."""
    check_array("frame", frame, (None,))
    check_array("out", out, (frame.shape[0],))
    if half_width < 0:
        raise ValueError(f"half_width must be >= 0, got {half_width}")
    check_array("scratch", scratch, (None,))
    if scratch.shape[0] < 2 * half_width + 1:
        raise ValueError(f"scratch must hold at least {2 * half_width + 1} values")
    _freq_median(frame, int(half_width), scratch, out)


def freq_median_ref(frame: np.ndarray, half_width: int) -> np.ndarray:
    """Numpy twin of :func:`freq_median`."""
    n = frame.shape[0]
    return np.array(
        [np.median(frame[max(0, f - half_width) : f + half_width + 1]) for f in range(n)]
    )
