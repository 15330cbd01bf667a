"""On-the-fly remixes of a ``StemBank``: vocals of one track over the accompaniment of another.

A *recipe* says how to build one example: which track's vocals and accompaniment, where each
crop starts, their gains (dB) and whether each stem's two channels are swapped. Recipes are
drawn in batches (``draw``) and rendered to audio (``render``) from the memory-mapped bank;
the STFT and the targets are then computed for the whole batch in torch
(``offline_training.batch_stft``), so nothing is transformed one example at a time.

Augmentation: with probability ``remix_prob`` the accompaniment comes from another track (never
the vocals' own; the pairing draws from the bank, which holds training tracks only), else from
the same track at the same offset (the real song); gains uniform in +-``gain_db`` per stem;
channel swap per stem with probability 1/2; crops start where the stem is not silent, except
with probability ``silence_prob`` (instrumental-only and a-cappella passages, kept rare).
Optional pitch/tempo variants of the vocals are separate bank entries (``augment``).

Shapes: rendered stems ``(batch, 2, samples)`` float32 (mono tracks are duplicated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stem_bank import ENVELOPE_BLOCK

FIELDS = ("v_track", "v_offset", "v_gain_db", "v_swap", "a_track", "a_offset", "a_gain_db",
          "a_swap", "silent")


@dataclass
class RemixSettings:
    remix_prob: float = 0.7
    gain_db: float = 5.0
    silence_prob: float = 0.03
    active_db: float = -45.0  # a crop is "not silent" when its mean block RMS exceeds this
    tries: int = 6


def _active_offset(env: np.ndarray, n_samples: int, length: int, rng, settings: RemixSettings
                   ) -> int:
    """A crop start whose stem is audible (mean block RMS above ``active_db``), else random."""
    span = max(1, n_samples - length + 1)
    threshold = 10.0 ** (settings.active_db / 20.0)
    blocks = max(1, length // ENVELOPE_BLOCK)
    best, best_level = 0, -1.0
    for _ in range(settings.tries):
        start = int(rng.integers(0, span))
        b0 = start // ENVELOPE_BLOCK
        level = float(env[b0:b0 + blocks].mean()) if env.size > b0 else 0.0
        if level > threshold:
            return start
        if level > best_level:
            best, best_level = start, level
    return best


def draw(bank, indices, batch: int, length: int, rng: np.random.Generator,
         settings: RemixSettings | None = None) -> dict:
    """``batch`` recipes of ``length`` samples over the bank tracks ``indices``.

    Returns a dict of arrays (one element per example), keys ``FIELDS``.
    """
    s = settings or RemixSettings()
    indices = np.asarray(indices)
    if indices.size < 2:
        raise ValueError("remixing needs at least two tracks")
    out = {k: np.zeros(batch, dtype=np.int64 if k.endswith(("track", "offset", "swap", "silent"))
                       else np.float64) for k in FIELDS}
    backing = indices[bank.has_accompaniment(indices)]
    if backing.size < 2:
        raise ValueError("remixing needs at least two tracks with accompaniment")
    v = rng.choice(indices, batch)
    # vocal variants (pitch/tempo) no longer fit their own accompaniment
    other = (rng.random(batch) < s.remix_prob) | ~bank.has_accompaniment(v)
    a = np.where(other, rng.choice(backing, batch), v)
    clash = other & (a == v)
    while clash.any():  # redraw until the accompaniment is another track's
        a[clash] = rng.choice(backing, int(clash.sum()))
        clash = other & (a == v)
    for b in range(batch):
        ev, ea = bank.entries[v[b]], bank.entries[a[b]]
        silent = rng.random() < s.silence_prob
        if silent:
            vo = int(rng.integers(0, max(1, ev.samples - length + 1)))
        else:
            vo = _active_offset(bank.envelopes[v[b]][0], ev.samples, length, rng, s)
        ao = vo if a[b] == v[b] else _active_offset(bank.envelopes[a[b]][1], ea.samples,
                                                    length, rng, s)
        out["v_offset"][b], out["a_offset"][b], out["silent"][b] = vo, ao, int(silent)
    out["v_track"], out["a_track"] = v.astype(np.int64), a.astype(np.int64)
    out["v_gain_db"] = rng.uniform(-s.gain_db, s.gain_db, batch)
    out["a_gain_db"] = rng.uniform(-s.gain_db, s.gain_db, batch)
    out["v_swap"] = (rng.random(batch) < 0.5).astype(np.int64)
    out["a_swap"] = (rng.random(batch) < 0.5).astype(np.int64)
    return out


def _crop(x: np.ndarray, start: int, length: int, swap: bool) -> np.ndarray:
    """``(2, length)`` float32 of ``x`` ``(channels, samples)`` from ``start`` (may be negative
    or run past the end: zeros there)."""
    out = np.zeros((2, length), dtype=np.float32)
    lo, hi = max(0, start), min(x.shape[1], start + length)
    if hi > lo:
        out[:, lo - start:hi - start] = x[:, lo:hi]  # a mono source fills both channels
    return out[::-1] if swap and x.shape[0] == 2 else out


def render(bank, recipes: dict, start: int = 0, length: int | None = None,
           lengths=None) -> tuple[np.ndarray, np.ndarray]:
    """Vocals and accompaniment ``(batch, 2, length)`` float32 of every recipe, samples
    ``start .. start + length`` of the remix (``start`` may be an array, one per example).

    A silent recipe renders its vocals as zeros (an instrumental passage).
    """
    batch = len(recipes["v_track"])
    starts = np.broadcast_to(np.asarray(start), (batch,))
    vocals = np.zeros((batch, 2, length), dtype=np.float32)
    accomp = np.zeros((batch, 2, length), dtype=np.float32)
    for b in range(batch):
        s = int(starts[b])
        if not recipes["silent"][b]:
            vocals[b] = _crop(bank.vocals(int(recipes["v_track"][b])),
                              int(recipes["v_offset"][b]) + s, length, recipes["v_swap"][b])
            vocals[b] *= 10.0 ** (recipes["v_gain_db"][b] / 20.0)
        accomp[b] = _crop(bank.accompaniment(int(recipes["a_track"][b])),
                          int(recipes["a_offset"][b]) + s, length, recipes["a_swap"][b])
        accomp[b] *= 10.0 ** (recipes["a_gain_db"][b] / 20.0)
        if lengths is not None:  # a pool remix ends after its own length
            end = int(lengths[b]) - s
            vocals[b, :, max(0, end):] = 0.0
            accomp[b, :, max(0, end):] = 0.0
        if s < 0:
            vocals[b, :, :min(length, -s)] = 0.0
            accomp[b, :, :min(length, -s)] = 0.0
    return vocals, accomp


def take(recipes: dict, rows) -> dict:
    """The recipes ``rows`` (indices) of a recipe dict."""
    return {k: np.asarray(v)[rows] for k, v in recipes.items()}
