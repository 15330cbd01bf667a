"""Supervised chimera training: the losses are the formulas they claim, and training on real
labelled stems lowers them and writes a loadable model file with its provenance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from offline_training.losses import (
    deep_clustering_loss,
    deep_clustering_loss_reference,
    magnitude_weights,
    mask_loss,
)

DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
DEV = DATA / "dev"


def _random_case(seed=0, batch=2, bins=7, frames=5, dim=3):
    g = torch.Generator().manual_seed(seed)
    emb = torch.nn.functional.normalize(torch.randn(batch, bins, frames, dim, generator=g), dim=-1)
    labels = torch.randint(0, 2, (batch, bins, frames), generator=g)
    weights = torch.rand(batch, bins, frames, generator=g)
    return emb, labels, weights


def test_deep_clustering_loss_equals_affinity_form():
    emb, labels, weights = _random_case()
    fast = deep_clustering_loss(emb, labels, weights)
    slow = deep_clustering_loss_reference(emb, labels, weights)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-7)


def test_deep_clustering_loss_is_zero_for_one_hot_embeddings():
    # Embeddings equal to the labels' one-hot vectors reproduce the ideal affinity exactly.
    _, labels, weights = _random_case(dim=2)
    perfect = torch.nn.functional.one_hot(labels, 2).float()
    assert float(deep_clustering_loss(perfect, labels, weights)) < 1e-6
    assert float(deep_clustering_loss(perfect.flip(-1), labels, weights)) < 1e-6  # label swap
    assert float(deep_clustering_loss(torch.ones_like(perfect) / 2**0.5, labels, weights)) > 0.1


def test_mask_loss_and_weights():
    mag = torch.rand(2, 6, 4) * 10
    w = magnitude_weights(mag)
    torch.testing.assert_close(w.mean(dim=(1, 2)), torch.ones(2))
    target = torch.rand(2, 6, 4)
    assert float(mask_loss(target, target, w)) == 0.0
    assert abs(float(mask_loss(target + 0.1, target, w)) - 0.01) < 1e-6


def _dev_or_skip():
    if not DEV.is_dir():
        pytest.skip("shared data not present")


@pytest.mark.data
def test_sampler_targets_are_exact():
    _dev_or_skip()
    from offline_training.stem_pairs import SegmentSampler, load_stem_pairs
    from rtsep.config import geometry_for

    geometry = geometry_for(44100, "default")
    pairs, prov = load_stem_pairs([DEV], 44100, licences=["research (see shared README)"])
    assert prov[0]["licence"].startswith("research") and len(prov[0]["tracks"]) == len(pairs)
    sampler = SegmentSampler(pairs, geometry, seg_frames=40, seed=1)
    mag, irm, labels = sampler.batch(3)
    assert mag.shape == irm.shape == labels.shape == (3, geometry.n_bins, 40)
    assert irm.min() >= 0 and irm.max() <= 1
    assert np.array_equal(labels == 1, irm > 0.5)  # dominance agrees with the ratio mask


@pytest.mark.data
def test_training_lowers_loss_and_writes_a_loadable_model(tmp_path):
    _dev_or_skip()
    from models.io import load_model
    from offline_training.supervised import train_supervised

    lines = []
    doc = train_supervised([], tmp_path / "tiny", labelled_dirs=[DEV], valid_dirs=[DEV],
                           licences=["research"], arch="CausalTCNSeparator", size="tiny",
                           epochs=3, steps_per_epoch=8, batch=4, seg_frames=48, lr=1e-2,
                           seed=0, checkpoint_every=2, threads=1, log=lines.append)
    assert sum(l.startswith("validation after epoch") for l in lines) == 2  # epochs 2 and 3
    hist = doc["training"]["history"]
    assert doc["training"]["epochs_done"] == 3 and len(hist) == 3
    assert hist[-1]["mask_loss"] < hist[0]["mask_loss"]
    assert doc["training"]["method"] == "supervised"
    assert doc["provenance"][0]["licence"] == "research"
    assert np.isfinite(doc["metrics"]["valid_si_sdr_vocals_db"])
    model, meta = load_model(tmp_path / "tiny", expect_n_bins=1025)
    assert meta["stft"] == {"n_fft": 2048, "hop": 256, "preset": "default"}


def test_train_supervised_command_on_a_rendered_corpus(tmp_path):
    # Real FluidSynth stems, through the real entry point; the licence comes from the songs'
    # meta.json and the model loads into a CPU backend that streams frame by frame.
    import subprocess
    import sys

    corpus = pytest.importorskip("offline_training.corpus")
    corpus.render_corpus(tmp_path / "corpus", 2, 3.0, seed=7)
    out = tmp_path / "models" / "rendered_tiny"
    res = subprocess.run(
        [sys.executable, "-m", "offline_training", "train-supervised", "--corpus",
         str(tmp_path / "corpus"), "--out", str(out), "--arch", "CausalGRUSeparator",
         "--size", "tiny", "--epochs", "2", "--steps-per-epoch", "3", "--batch", "2",
         "--seg-frames", "32", "--threads", "1"],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    from models.io import load_model
    from rtsep.backends import make_backend

    model, meta = load_model(out)
    assert meta["provenance"][0]["licence"] == corpus.LICENCE
    assert meta["provenance"][0]["tracks"] == ["song_0000", "song_0001"]
    assert len(meta["training"]["history"]) == 2
    backend = make_backend("torch", model, meta)
    mask, emb = backend.step(np.ones(1025, dtype=np.float32))
    assert mask.shape == (1025,) and emb.shape == (1025, 4)


def test_train_supervised_without_data_is_a_one_line_error(tmp_path):
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "offline_training", "train-supervised",
                          "--out", str(tmp_path / "m")], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("offline_training: error:") and res.stderr.count("\n") == 1


@pytest.mark.data
def test_solo_recordings_are_remixed_with_their_licences(tmp_path):
    solo = DATA / "solo"
    vocals = solo / "vocals" / "vocadito_10.wav"
    accompaniment = DATA / "mixtures" / "Kevin_MacLeod_-_Vibe_Ace.hq.ogg"
    if not (vocals.is_file() and accompaniment.is_file()):
        pytest.skip("shared data not present")
    from offline_training.supervised import train_supervised

    doc = train_supervised([], tmp_path / "solo", solo_vocals=[vocals],
                           solo_accompaniment=[accompaniment],
                           solo_licences=["CC BY 4.0", "CC BY 4.0"], size="tiny", epochs=1,
                           steps_per_epoch=2, batch=2, seg_frames=32, threads=1,
                           log=lambda *_: None)
    roles = [(p["role"], p["licence"]) for p in doc["provenance"]]
    assert roles == [("solo vocals", "CC BY 4.0"), ("solo accompaniment", "CC BY 4.0")]
    assert "Kevin MacLeod" in doc["provenance"][1]["attribution"]  # from the .txt beside it
