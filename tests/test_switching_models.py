"""Switching by confidence between two trained models on a two-domain stream (paper 004).

The two compact models in tests/fixtures/models were trained by `benchmarks/switching.py
--fixtures` with the project's supervised recipe: one on rendered songs whose lead line is a
voice patch, one on songs whose lead is a synth lead. Here held-out songs of both domains are
rendered afresh with FluidSynth and streamed through the engine, as in the benchmark (same
seed, 12 s per song, confidence over 2 s windows).
"""

from pathlib import Path

import numpy as np
import pytest

from rtsep.config import EngineConfig
from rtsep.evaluation.selection import evaluate_selection
from rtsep.io.audio import read_audio

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "models"
DOMAINS = {"voice": {52: "Choir Aahs", 53: "Voice Oohs"},
           "synthlead": {80: "Lead 1 (square)", 81: "Lead 2 (sawtooth)"}}
SEGMENT_S = 12.0
WINDOW_S = 2.0


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from offline_training.corpus import render_corpus

    work = tmp_path_factory.mktemp("switch")
    songs = {name: render_corpus(work / name, 3, SEGMENT_S + 1, seed=97, vocal_programs=progs)
             for name, progs in DOMAINS.items()}
    segments = []
    for i in range(3):
        for name in DOMAINS:
            mix, sr = read_audio(songs[name][i] / "mixture.wav")
            voc, _ = read_audio(songs[name][i] / "vocals.wav")
            n = int(SEGMENT_S * sr)
            segments.append((mix[:, :n], voc[:, :n]))
    models = tuple(str(FIXTURES / f"switch_{name}") for name in DOMAINS)
    config = EngineConfig(models=models, use_primitives=False, confidence_window_s=WINDOW_S)
    return evaluate_selection(segments, sr, config)


def test_each_model_wins_on_its_own_domain(result):
    voice, synth = result.segment_sdr[:, 0], result.segment_sdr[:, 1]
    # voice segments are the even ones, synth-lead segments the odd ones
    assert voice[0::2].mean() > synth[0::2].mean() + 1.0
    assert synth[1::2].mean() > voice[1::2].mean() + 1.0
    assert np.sum(voice[0::2] > synth[0::2]) >= 2 and np.sum(synth[1::2] > voice[1::2]) >= 2


def test_confidence_selection_beats_each_model_and_random(result):
    assert result.switches >= 2
    for name, single in result.single_sdr.items():
        assert result.confidence_sdr > single + 0.3, (name, result.table())
    assert result.confidence_sdr > result.random_sdr + 0.5, result.table()
    assert result.confidence_sdr <= result.oracle_sdr + 1.0


def test_switches_do_not_click(result):
    assert result.max_step_output <= result.max_step_input
