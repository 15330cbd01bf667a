"""Switching by confidence between two trained models on a two-domain stream (paper 004).

The two compact models in tests/fixtures/models were trained by `benchmarks/switching.py
--fixtures` with the project's supervised recipe: one on rendered songs whose lead line is a
voice patch, one on songs whose lead is a synth lead. Here held-out songs of both domains are
rendered afresh with FluidSynth (a seed other than the benchmark's) and streamed through the
engine, as in the benchmark (12 s per song, confidence over 2 s windows).
"""

from pathlib import Path

import pytest

from rtsep.config import EngineConfig
from rtsep.evaluation.selection import evaluate_selection
from rtsep.io.audio import read_audio

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "models"
DOMAINS = {"voice": {52: "Choir Aahs", 53: "Voice Oohs"},
           "synthlead": {80: "Lead 1 (square)", 81: "Lead 2 (sawtooth)"}}
SEGMENT_S = 12.0
WINDOW_S = 2.0
# Songs the fixtures were never chosen on: benchmarks/switching.py evaluates seed 97 (where the
# window and margins were settled), so the test draws another set of held-out songs.
SEED = 2026


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from offline_training.corpus import render_corpus

    work = tmp_path_factory.mktemp("switch")
    songs = {name: render_corpus(work / name, 3, SEGMENT_S + 1, seed=SEED, vocal_programs=progs)
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


def test_switching_follows_confidence_and_keeps_the_better_model_in_play(result):
    # What held on every seed measured (benchmarks/switching.py --seeds, BENCHMARKS.md
    # "Switching"): the engine does switch, and ends up above the weaker model alone and not
    # far above the per-segment oracle. Beating the better model alone, or random selection,
    # held on some seeds only, so it is a benchmark figure, not a test.
    assert result.switches >= 2, result.table()
    assert 0.1 < min(result.active_share.values()), result.active_share
    assert result.confidence_sdr > min(result.single_sdr.values()), result.table()
    assert result.confidence_sdr <= result.oracle_sdr + 1.0, result.table()


def test_switches_do_not_click(result):
    assert result.max_step_output <= result.max_step_input
