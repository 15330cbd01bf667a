"""The engine following a score: exact timing at any block size, better vocals with the right
score, little harm from a wrong one, none from a silent one."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from rtsep.config import SCORE_PRIMITIVES, EngineConfig, geometry_for
from rtsep.core.engine import Engine
from rtsep.core.offline import separate_offline
from rtsep.errors import ConfigError
from rtsep.primitives.comb import harmonic_mask, harmonic_masks
from rtsep.score import FileScore, read_score, timeline_from_notes, timeline_notes
from rtsep.separate import separate_array

from .music import song

SR = 44100
OFFSET = 2.0  # tests.music.song starts this far into the rendered song
SCORED = EngineConfig(primitives=SCORE_PRIMITIVES)


@functools.lru_cache(maxsize=None)
def _notes() -> tuple:
    from rtsep.songs.default import render_default_song

    return tuple(timeline_notes(read_score(render_default_song(sr=SR)["vocals_midi"])))


def _score(notes, shift: float = 0.0, transpose: int = 0) -> FileScore:
    moved = [(a + shift - OFFSET, b + shift - OFFSET, k + transpose) for a, b, k in notes]
    return FileScore(timeline_from_notes(moved))


def _sdr(est: np.ndarray, ref: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2)))


def test_score_primitive_needs_a_score():
    with pytest.raises(ConfigError, match="needs a score"):
        Engine(SR, 1, SCORED)
    Engine(SR, 1, SCORED, score=_score([]))


@pytest.mark.parametrize("block", [1, 100, 4096])
def test_scored_stream_equals_offline_delayed(block):
    x = song(3.0, sr=SR, channels=2)
    ref_v, _ = separate_offline(x, SR, SCORED, score=_score(_notes()))
    engine = Engine(SR, 2, SCORED, score=_score(_notes()))
    out = np.concatenate([engine.process(x[:, s : s + block])[0]
                          for s in range(0, x.shape[1], block)], axis=1)
    L = engine.latency_samples
    np.testing.assert_allclose(out[:, L:], ref_v[:, : x.shape[1] - L], atol=1e-9)
    assert engine.score.state.notes_started > 3  # the score was followed


def test_exact_score_helps_a_wrong_one_costs_little_a_silent_one_nothing():
    x, vocals = song(14.0, sr=SR, channels=1, with_vocals=True)
    plain = separate_array(x, SR, EngineConfig())[0]
    exact = separate_array(x, SR, SCORED, score=_score(_notes()))[0]
    late = separate_array(x, SR, SCORED, score=_score(_notes(), shift=0.2))[0]
    wrong = separate_array(x, SR, SCORED, score=_score(_notes(), transpose=5))[0]
    silent_port = _score([])
    silent_port.state.complete = False  # a live port that never plays: the score says nothing
    silent = separate_array(x, SR, SCORED, score=silent_port)[0]
    base = _sdr(plain, vocals)
    gains = {name: _sdr(v, vocals) - base for name, v in
             (("exact", exact), ("late", late), ("wrong", wrong))}
    print(f"vocals SDR without a score {base:.2f} dB; gains {gains}")
    assert gains["exact"] > 1.0
    assert gains["late"] > -0.3
    assert gains["wrong"] > -1.5
    np.testing.assert_allclose(silent, plain, atol=1e-12)


def test_rests_lower_the_vocals_but_do_not_erase_them():
    x = song(8.0, sr=SR, channels=1)
    notes = _notes()
    score = _score(notes)
    guided = separate_array(x, SR, SCORED, score=score)[0][0]
    plain = separate_array(x, SR, EngineConfig())[0][0]
    # a stretch of at least a second with no note, after the first phrase
    gaps = [(b, c) for (_, b, _), (c, _, _) in zip(notes, notes[1:]) if c - b > 1.0 and
            b > OFFSET + 1]
    b, c = gaps[0]
    rest = slice(int((b - OFFSET + 0.5) * SR), int((c - OFFSET) * SR))
    ratio = np.sum(guided[rest] ** 2) / np.sum(plain[rest] ** 2)
    assert 0.01 < ratio < 0.3, ratio  # about -15 dB: lowered, not zeroed


def test_harmonic_masks_are_the_comb_kernel():
    from kernels.harmonic import comb_mask_ref

    g = geometry_for(SR, "default")
    f0s = np.array([[220.0, 0.0], [0.0, 0.0], [150.0, 330.0]])
    masks = harmonic_masks(f0s, g)
    bin_hz = SR / g.n_fft
    for k in range(3):
        want = comb_mask_ref(f0s[k] / bin_hz, 2, 8000 / bin_hz, 1.5, 0.01, g.n_bins)
        np.testing.assert_allclose(masks[:, k], want, atol=1e-12)
    np.testing.assert_array_equal(harmonic_mask([220.0], g), masks[:, 0])
    assert masks[:, 1].max() == 0.0


def test_score_cue_combs_the_sung_pitch_near_the_written_note():
    from rtsep.core.stft import stft_offline
    from rtsep.primitives import make_primitives
    from rtsep.score import ScoreState

    g = geometry_for(SR, "default")
    t = np.arange(SR) / SR
    sung = 225.0  # 39 cents above the written A3 (220 Hz)
    x = sum(np.sin(2 * np.pi * h * sung * t) / h for h in range(1, 13))
    mags = np.ascontiguousarray(np.abs(stft_offline(x[None], g)[0]).T)
    state = ScoreState(idle_s=0.5)
    cue = make_primitives(["score"], g, score={"state": state, "hold_s": 0.15})[0]
    state.advance(0.0)
    cue.step(mags[20])
    assert cue.presence == 0.0  # a score that said nothing yet
    state.receive([0x90, 57, 100], 0.0)
    state.advance(0.1)
    mask = cue.step(mags[20]).copy()
    b = int(round(10 * sung * g.n_fft / SR))
    written = int(round(10 * 220.0 * g.n_fft / SR))
    assert mask[b] > 0.9 and mask[written] < 0.5  # the 10th partial, where it is sung
    state.receive([0x80, 57, 0], 0.2)
    state.advance(0.25)
    assert cue.step(mags[20])[b] > 0.9  # the ended note is held for hold_s
    state.advance(0.6)
    assert cue.step(mags[20]).max() == 0.0 and cue.presence == 1.0  # a rest
