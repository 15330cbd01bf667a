"""Bootstrapping (paper 000): segments, loudness, teacher, confidence filter, remixing, the student
trainer, and the whole pipeline under a 2-process torchrun on a rendered corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from offline_training.audio_sources import corpus_files, read_mono
from offline_training.bootstrap import BootstrapOptions, stage_filter
from offline_training.remix import SourceBank, draw_pairs, remix_batch, scale_to_snr
from offline_training.segments import (
    SILENT_LUFS,
    loudness_lufs,
    segment_file,
    segment_starts,
)
from offline_training.teacher import TeacherSettings, repet_offline, teacher_separate
from rtsep.config import geometry_for

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SR = 44100


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    from offline_training.corpus import render_corpus

    root = tmp_path_factory.mktemp("corpus")
    render_corpus(root, songs=3, seconds=8.0, seed=5)
    return root


@pytest.mark.parametrize("sr", [44100, 48000])
def test_loudness_of_a_sine(sr):
    t = np.arange(5 * sr) / sr
    tone = np.sin(2 * np.pi * 997 * t)[None]
    # BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LUFS.
    assert loudness_lufs(tone, sr) == pytest.approx(-3.01, abs=0.05)
    assert loudness_lufs(0.1 * tone, sr) == pytest.approx(-23.01, abs=0.05)
    assert loudness_lufs(np.zeros((2, sr)), sr) == SILENT_LUFS


def test_segments_count_hop_and_quiet_skip(corpus):
    x = read_mono(corpus / "song_0000" / "mixture.wav")
    assert segment_starts(20 * SR, SR, 4.0, 2.0) == [i * 2 * SR for i in range(9)]
    assert segment_starts(3 * SR, SR, 4.0, 2.0) == [0]  # short file: one whole segment
    assert segment_starts(SR, SR, 4.0, 2.0) == []
    # music, then 8 s of digital silence: segments wholly in the silence are skipped
    signal = np.concatenate([x, np.zeros(8 * SR)])[None]
    segs = segment_file("a.wav", signal, SR, 4.0, 2.0, min_lufs=-40.0)
    assert len(segs) == len(segment_starts(signal.shape[1], SR, 4.0, 2.0))
    for s in segs:
        assert s.stop - s.start == 4 * SR
        assert s.kept == (s.start < len(x)), (s.start, s.lufs)
    silent = segment_file("s.wav", np.zeros((1, 10 * SR)), SR, 4.0, 2.0)
    assert silent and not any(s.kept for s in silent)


def test_corpus_files_take_only_mixtures(corpus, tmp_path):
    loose = tmp_path / "loose.wav"
    import soundfile as sf

    sf.write(loose, np.zeros(SR), SR)
    files = corpus_files([corpus, loose])
    assert sorted(p.name for p in files) == ["loose.wav"] + ["mixture.wav"] * 3


def test_remix_pairs_never_pair_a_segment_with_itself():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7):
        pairs = draw_pairs(n, 5000, rng)
        assert np.all(pairs[:, 0] != pairs[:, 1])
        assert set(pairs[:, 0]) == set(range(n)) and set(pairs[:, 1]) == set(range(n))
    with pytest.raises(ValueError):
        draw_pairs(1, 3, rng)


def bank_of_true_stems(corpus, folder):
    """A SourceBank in ``folder`` holding each rendered song's true vocals and accompaniment."""
    keys = []
    for song in sorted(corpus.iterdir()):
        SourceBank.write(folder, song.name, read_mono(song / "vocals.wav"),
                         read_mono(song / "accompaniment.wav"))
        keys.append(song.name)
    return SourceBank(folder, keys)


def test_remix_hits_the_snr_range(corpus, tmp_path):
    bank = bank_of_true_stems(corpus, tmp_path)
    rng = np.random.default_rng(1)
    v, a = rng.standard_normal(1000), 3 * rng.standard_normal(1000)
    for snr in (-2.5, 0.0, 2.5):
        ratio = 10 * np.log10(np.mean(scale_to_snr(v, a, snr) ** 2) / np.mean(a**2))
        assert ratio == pytest.approx(snr, abs=1e-9)
    batch = remix_batch(bank, 16, SR, geometry_for(SR), rng)
    assert np.all(np.abs(batch["snr_db"]) <= 2.5) and np.ptp(batch["snr_db"]) > 1.0
    assert np.all(batch["pairs"][:, 0] != batch["pairs"][:, 1])
    assert batch["mag"].shape == (16, 1025, batch["mag"].shape[2])
    assert 0.0 <= batch["target"].min() and batch["target"].max() <= 1.0
    assert set(np.unique(batch["assign"])) <= {0.0, 1.0}


def test_offline_repet_uses_future_frames():
    # A frame pattern that first appears, then repeats: a causal REPET has no neighbour for the
    # first frames (neutral 0.5), the whole-segment teacher finds their later repetitions.
    g = geometry_for(SR)
    rng = np.random.default_rng(2)
    # the pattern repeats every 60 frames (0.35 s), beyond the engine's min_dist_s of 0.3 s
    pattern = rng.random((g.n_bins, 60)) + 0.1
    mag = np.tile(pattern, (1, 4))
    # With 3 neighbours, frame t's neighbours are its 3 exact repetitions (cosine 1), so the
    # repeating model equals the frame and the vocal mask is 0 -- also for the first 60 frames,
    # whose repetitions all lie in the future.
    mask = repet_offline(mag, g, TeacherSettings(repet_max_k=3))
    assert mask.shape == mag.shape
    assert np.abs(mask).max() < 1e-9


def test_teacher_confidence_is_higher_on_music_than_noise(corpus):
    x = read_mono(corpus / "song_0001" / "mixture.wav")
    res = teacher_separate(x, SR)
    assert -1.0 <= res.confidence <= 1.0
    assert res.embedding.shape == res.mask.shape + (3,)
    assert np.allclose(res.vocals + res.accompaniment, x)
    noise = np.random.default_rng(3).standard_normal(len(x)) * np.std(x)
    res_noise = teacher_separate(noise, SR)
    assert -1.0 <= res_noise.confidence <= 1.0
    assert res.confidence > res_noise.confidence + 0.1


def test_filter_quantile_ranges_split_without_overlap(tmp_path):
    scored = [{"key": f"k{i}", "file": "f", "confidence": c}
              for i, c in enumerate(np.linspace(0.0, 1.0, 21))]
    top = stage_filter(BootstrapOptions([], "m", run_dir=str(tmp_path / "a")), scored)
    low = stage_filter(BootstrapOptions([], "m", run_dir=str(tmp_path / "b"),
                                        keep_quantiles=(0.0, 0.25)), scored)
    top_keys = {s["key"] for s in top[0]}
    low_keys = {s["key"] for s in low[0]}
    assert not top_keys & low_keys and len(top_keys | low_keys) == 21
    assert max(s["confidence"] for s in low[0]) < min(s["confidence"] for s in top[0])
    assert len(low[0]) == 6 and len(top[0]) == 15
    doc = json.loads((tmp_path / "b" / "dropped.json").read_text())
    assert len(doc["segments"]) == 15 and doc["quantiles"] == [0.0, 0.25]


def test_trainer_reduces_its_loss_on_true_stems(corpus, tmp_path):
    import torch

    from offline_training.trainer import build_student, train

    torch.manual_seed(0)
    bank = bank_of_true_stems(corpus, tmp_path)
    g = geometry_for(SR)
    valid = [remix_batch(bank, 4, SR // 2, g, np.random.default_rng(99))]
    model = build_student("gru", "tiny", g.n_bins)
    hist = train(model, lambda rng: remix_batch(bank, 2, SR // 4, g, rng), steps=25, lr=3e-3,
                 valid_batches=valid, log=lambda s: None)
    assert hist["valid_last"]["loss"] < 0.9 * hist["valid_first"]["loss"]


def _bootstrap_cmd(corpus: Path, out: Path) -> list[str]:
    return [str(VENV_BIN / "torchrun"), "--nproc_per_node", "2", "--master_port", "29533",
            "-m", "offline_training", "bootstrap", str(corpus), "--out", str(out),
            "--segment-s", "4", "--hop-s", "2", "--size", "tiny", "--steps", "4",
            "--batch", "2", "--crop-s", "1"]


def test_bootstrap_end_to_end_under_torchrun(corpus, tmp_path):
    from models.io import load_model
    from rtsep.config import EngineConfig
    from rtsep.separate import separate_array

    out = tmp_path / "boot"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(_bootstrap_cmd(corpus, out), capture_output=True, text=True,
                          env=env, timeout=400, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = Path(str(out) + ".run")
    model, doc = load_model(out)
    assert doc["training"]["method"] == "bootstrap"
    assert doc["training"]["student"]["world_size"] == 2
    kept = json.loads((run / "kept.json").read_text())["segments"]
    dropped = json.loads((run / "dropped.json").read_text())["segments"]
    n_segments = 3 * len(segment_starts(8 * SR, SR, 4.0, 2.0))
    assert len(kept) + len(dropped) == n_segments
    assert doc["training"]["segments"]["kept"] == len(kept) >= n_segments // 2
    lowest_quartile = np.quantile([s["confidence"] for s in kept + dropped], 0.25)
    assert all(s["confidence"] > lowest_quartile for s in kept)
    assert all(s["confidence"] <= lowest_quartile for s in dropped) and dropped
    sources = {p["source"] for p in doc["provenance"]}
    assert sources == {f"{corpus.resolve().name}/song_{i:04d}/mixture.wav" for i in range(3)}
    assert all("rendered" in p["licence"] for p in doc["provenance"])
    # both ranks ran the teacher on their share of the files
    assert "teacher" in (run / "log.rank1.txt").read_text()
    # re-running resumes: every stage is found finished
    again = subprocess.run(_bootstrap_cmd(corpus, out), capture_output=True, text=True,
                           env=env, timeout=400, cwd=REPO)
    assert again.returncode == 0 and "already trained" in again.stdout
    # the student separates through the streaming engine
    x = read_mono(corpus / "song_0002" / "mixture.wav")[None, : 2 * SR]
    vocals, karaoke = separate_array(x, SR, EngineConfig(models=(str(out),),
                                                         use_primitives=False))
    assert vocals.shape == x.shape and np.all(np.isfinite(vocals))
    assert np.allclose(vocals + karaoke, x, atol=1e-6)
    assert 0.0 < np.sum(vocals**2) < np.sum(x**2)


def test_cli_errors_and_forwarding(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([str(VENV_BIN / "rtsep"), "train", "bootstrap", str(empty), "--out",
                           str(tmp_path / "m")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("rtsep: error: no audio files under")
    assert len(proc.stderr.strip().splitlines()) == 1
    helped = subprocess.run([str(VENV_BIN / "rtsep"), "train", "bootstrap", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--keep-quantile-range" in helped.stdout
    probe = "import sys, rtsep.cli; print('offline_training' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True,
                          text=True).stdout.strip() == "False"


def test_licence_is_read_from_the_description_beside_the_file(tmp_path):
    from offline_training.audio_sources import licence_of

    song = tmp_path / "Artist_-_Song.hq.ogg"
    song.write_bytes(b"")
    assert licence_of(song, "unknown") == "unknown"
    (tmp_path / "Artist_-_Song.txt").write_text(
        "Song by Artist is licensed under a Creative Commons Attribution License.\n"
        "From somewhere: https://example.org/song\n"
        "CC-BY https://creativecommons.org/licenses/by/3.0/\n")
    assert licence_of(song, "unknown") == "CC-BY https://creativecommons.org/licenses/by/3.0/"
