"""Each primitive on a signal whose answer is known, through the real STFT."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from rtsep.config import geometry_for
from rtsep.core.stft import stft_offline
from rtsep.errors import ConfigError
from rtsep.primitives import PRIMITIVE_NAMES, ScoreCue, make_primitives

from .music import song

SR = 44100
GEOM = geometry_for(SR, "default")


def _mags(x: np.ndarray, geometry=GEOM) -> np.ndarray:
    """``(frames, bins)`` magnitudes of a mono signal ``(samples,)``."""
    return np.ascontiguousarray(np.abs(stft_offline(x[None], geometry)[0]).T)


def _masks(name: str, mags: np.ndarray, geometry=GEOM, **params) -> tuple[np.ndarray, object]:
    prim = make_primitives([name], geometry, **{name: params})[0]
    out = np.empty_like(mags)
    for t, mag in enumerate(mags):
        out[t] = prim.step(mag)
    return out, prim


def _bin(hz: float, geometry=GEOM) -> int:
    return int(round(hz * geometry.n_fft / geometry.sr))


def _tone(freqs_hz: np.ndarray, n_harmonics: int = 1) -> np.ndarray:
    """Harmonic tone following the instantaneous f0 ``freqs_hz`` ``(samples,)``."""
    phase = 2 * np.pi * np.cumsum(freqs_hz) / SR
    return sum(np.sin(h * phase) / h for h in range(1, n_harmonics + 1))


def test_unknown_name_lists_valid_ones():
    assert set(PRIMITIVE_NAMES) == {"repet", "hpss", "pitch", "score"}
    with pytest.raises(ConfigError, match="repet, hpss, pitch, score"):
        make_primitives(["repet", "melodia"], GEOM)
    assert [p.name for p in make_primitives(["pitch", "repet"], GEOM)] == ["pitch", "repet"]


def test_repet_marks_the_non_repeating_sweep_as_vocal():
    # accompaniment: a 0.5 s cut of the rendered song looped; "voice": a slow sine sweep
    loop = song(0.5, channels=1)[0]
    n = 6 * SR
    accomp = np.tile(loop, n // loop.size + 1)[:n]
    t = np.arange(n) / SR
    sweep_hz = 500.0 * 2.0 ** (t / 3.0)  # 500 Hz -> 2 kHz, never the same twice
    sweep = 0.3 * np.abs(accomp).max() * _tone(sweep_hz)
    mags = _mags(accomp + sweep)
    masks, _ = _masks("repet", mags)
    on, off = [], []
    for k in range(mags.shape[0] // 3, mags.shape[0] - 4):  # after a second of history
        f = _bin(sweep_hz[min(n - 1, k * GEOM.hop)])
        on.append(masks[k, f])
        # loud accompaniment bins away from the sweep
        far = np.r_[: max(0, f - 10), f + 10 : GEOM.n_bins]
        loud = far[np.argsort(mags[k, far])[-20:]]
        off.append(masks[k, loud].mean())
    assert np.median(on) > 0.6
    assert np.median(off) < 0.3


def test_hpss_vocal_is_moving_harmonic_not_steady_tone_or_clicks():
    n = 4 * SR
    t = np.arange(n) / SR
    steady = 0.3 * _tone(np.full(n, 220.0), 4)  # a held accompaniment note
    # a sung line: a new note every 0.3 s, with 5.5 Hz vibrato
    notes = np.random.default_rng(1).choice([440.0, 494.0, 554.0, 622.0, 740.0], n // 6615 + 1)
    melody_hz = notes[np.arange(n) // 6615] * (1 + 0.02 * np.sin(2 * np.pi * 5.5 * t))
    melody = 0.3 * _tone(melody_hz, 4)
    clicks = np.zeros(n)
    clicks[:: SR // 4] = 1.0  # 4 clicks per second
    mags = _mags(steady + melody + clicks)
    masks, _ = _masks("hpss", mags)
    frames = range(mags.shape[0] // 2, mags.shape[0] - 2)  # after the long median has filled
    hi_band = slice(_bin(5000.0), _bin(10000.0))  # only clicks have energy up there
    click_level = np.median(mags[list(frames), hi_band].mean(axis=1))
    melody_vals, click_vals = [], []
    for k in frames:
        centre = k * GEOM.hop - GEOM.n_fft // 2  # roughly the middle of frame k's window
        f0 = melody_hz[min(n - 1, max(0, centre))]
        partials = [_bin(h * f0) for h in (1, 2, 3, 4)]
        melody_vals.append(masks[k, partials].mean())
        if mags[k, hi_band].mean() > 10 * click_level:
            click_vals.append(masks[k, hi_band].mean())
    assert click_vals
    assert masks[list(frames), _bin(220.0)].mean() < 0.2
    assert np.median(melody_vals) > 0.5
    # a click is broadband: at 5-10 kHz it is not vocal
    assert np.mean(click_vals) < 0.2


def test_pitch_finds_f0_of_a_harmonic_tone_and_stays_silent_on_noise():
    n = 2 * SR
    rng = np.random.default_rng(0)
    noise = 0.05 * rng.standard_normal(n)
    for f0 in (130.0, 220.0, 455.0):
        x = 0.2 * _tone(np.full(n, f0), 12) + noise
        masks, prim = _masks("pitch", _mags(x))
        assert abs(prim.f0_hz / f0 - 1.0) < 0.03
        assert masks[-1, _bin(3 * f0)] > 0.8  # the comb sits on the partials
        assert masks[-1, _bin(3.5 * f0)] == 0.0  # and not between them
    masks, prim = _masks("pitch", _mags(noise))
    assert prim.f0_hz == 0.0 and masks[10:].max() == 0.0


def test_score_cue_combs_the_given_notes():
    cue = make_primitives(["score"], GEOM)[0]
    assert isinstance(cue, ScoreCue)
    mag = np.ones(GEOM.n_bins)
    assert cue.step(mag).max() == 0.0  # no vocal note: all accompaniment
    cue.set_notes([220.0, 330.0])
    m = cue.step(mag).copy()
    for hz in (220.0, 440.0, 330.0, 990.0):
        assert m[_bin(hz)] > 0.8
    assert m[_bin(275.0)] == 0.0
    cue.set_notes([])
    assert cue.step(mag).max() == 0.0


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
@pytest.mark.parametrize("sr,preset", [(44100, "low-latency"), (16000, "default")])
def test_masks_in_range_and_repeatable_after_reset(name, sr, preset):
    g = geometry_for(sr, preset)
    x = song(1.5, sr=sr, channels=1)[0]
    mags = _mags(x, g)
    prim = make_primitives([name], g)[0]
    prim.warmup()  # warm-up must leave no trace
    if name == "score":  # a reset stream has no sounding notes; give it one
        prim.set_notes([196.0])
    first = np.array([prim.step(m).copy() for m in mags])
    assert first.min() >= 0.0 and first.max() <= 1.0 and np.all(np.isfinite(first))
    prim.reset()
    if name == "score":
        prim.set_notes([196.0])
    second = np.array([prim.step(m).copy() for m in mags])
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", ["repet", "hpss", "pitch"])
def test_step_does_not_allocate_frames(name):
    prim = make_primitives([name], GEOM)[0]
    prim.warmup()
    mags = _mags(song(0.5, channels=1)[0])
    tracemalloc.start()
    try:
        for m in mags:
            prim.step(m)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < GEOM.n_bins * 8 // 2  # less than half of one float64 frame


def test_hpss_primitive_equals_plain_numpy_medians():
    """The streaming HPSS (sorted windows, rings, decimated long median) against medians of the
    zero-padded past computed directly with numpy."""
    from kernels.hpss import hpss_combine_ref
    from kernels.medians import freq_median_ref

    mags = _mags(song(2.0, channels=1)[0])
    masks, prim = _masks("hpss", mags)
    L, S, every = prim.harm_len, prim.stable_len, prim.stable_every
    padded = np.concatenate([np.zeros((L, mags.shape[1])), mags])
    stable_frames = mags[::every]
    stable_padded = np.concatenate([np.zeros((S, mags.shape[1])), stable_frames])
    for t in range(0, mags.shape[0], 5):
        harm = np.median(padded[t + 1 : t + L + 1], axis=0)
        n_stable = t // every + 1  # stable frames taken up to and including frame t
        stable = np.median(stable_padded[n_stable : n_stable + S], axis=0)
        perc = freq_median_ref(mags[t], prim.perc_half)
        expected = hpss_combine_ref(harm, stable, perc, prim.power)
        np.testing.assert_allclose(masks[t], expected, rtol=1e-9, atol=1e-12)


def test_pitch_primitive_equals_numpy_twins():
    """Pitch step = sqrt, whiten, harmonic sum, continuity bonus, argmax and parabolic peak,
    voicing, comb; here recomputed from the numpy twins of the kernels."""
    from kernels.harmonic import comb_mask_ref, harmonic_salience_ref, whiten_ref

    mags = _mags(song(2.0, channels=1)[0])
    masks, _ = _masks("pitch", mags)
    p = make_primitives(["pitch"], GEOM)[0]
    prev_f0, voiced_frames = 0.0, 0
    for t, mag in enumerate(mags):
        white = whiten_ref(np.sqrt(mag), p.whiten_half)
        sal = harmonic_salience_ref(white, p.cand_bins, p.harm_weights)
        if prev_f0 > 0:
            d = (12 * np.log2(p.cand_hz) - 12 * np.log2(prev_f0)) / p.continuity_st
            sal = sal * (1 + p.continuity * np.exp(-0.5 * d**2))
        best = int(np.argmax(sal))
        floor = white[p.lo_bin : p.hi_bin].mean()
        voicing = np.clip((sal[best] / floor - p.voicing_lo) / (p.voicing_hi - p.voicing_lo), 0, 1)
        if voicing > 0:
            # parabolic peak of the salience, at most half a candidate step either way
            a, b, c = sal[best - 1 : best + 2] if 0 < best < sal.size - 1 else (0, 0, 0)
            shift = np.clip(0.5 * (a - c) / (a - 2 * b + c), -0.5, 0.5) if a - 2 * b + c < 0 else 0
            f0_bins = p.cand_bins[best] * 2.0 ** (shift / p.bins_per_octave)
            expected = voicing * comb_mask_ref(np.array([f0_bins]), 1, p.max_bin,
                                               p.width_bins, p.width_rel, GEOM.n_bins)
            prev_f0 = p.cand_hz[best] * 2.0 ** (shift / p.bins_per_octave)
            voiced_frames += 1
        else:
            expected = np.zeros(GEOM.n_bins)
            prev_f0 = 0.0
        np.testing.assert_allclose(masks[t], expected, rtol=1e-9, atol=1e-9)
    assert voiced_frames > 20


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_step_rejects_a_frame_of_the_wrong_size(name):
    prim = make_primitives([name], GEOM)[0]
    with pytest.raises(ConfigError, match="1025"):
        prim.step(np.ones(GEOM.n_bins - 1))
    with pytest.raises(ConfigError):
        prim.step(np.ones(GEOM.n_bins, dtype=np.float32))


def test_repet_does_not_model_music_by_the_silence_before_it():
    x = np.concatenate([np.zeros(SR), song(1.0, channels=1)[0]])
    mags = _mags(x)
    masks, prim = _masks("repet", mags)
    first_music = int(np.argmax(mags.sum(axis=1) > 0)) + 2
    # right after the pause there is no similar past: neutral, not "all vocal"
    assert np.all(masks[first_music] == 0.5)
    assert prim.n_neighbours > 0  # later frames do find repeats in the music itself


@pytest.mark.parametrize("name", ["repet", "hpss", "pitch"])
def test_a_non_finite_frame_does_not_spoil_later_ones(name):
    mags = _mags(song(2.0, channels=1)[0])
    clean, _ = _masks(name, mags)
    bad = mags.copy()
    bad[120, ::7] = np.nan
    bad[121, 3] = np.inf
    spoiled, _ = _masks(name, bad)
    assert np.all(np.isfinite(spoiled))
    # the same as if those values had been silence
    zeroed = np.nan_to_num(bad, nan=0.0, posinf=0.0)
    expected, _ = _masks(name, zeroed)
    np.testing.assert_array_equal(spoiled, expected)
    assert not np.array_equal(spoiled[120], clean[120])
