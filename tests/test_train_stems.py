"""The real-stem training pipeline: what it may train on, that its batches are the engine's
STFT, that a model reading primitive masks gets in training exactly what the engine feeds it,
and that a short run on real clips lowers the validation loss."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from offline_training.splits import RESERVED_SINGERS, Policy, group_of, mir1k_singer

DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
TRAIN = DATA / "train"


def _track(root: Path, name: str, sr: int = 16000, seconds: float = 1.5, channels: int = 1,
           seed: int = 0) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for stem in ("vocals", "accompaniment"):
        x = 0.1 * rng.standard_normal((int(sr * seconds), channels))
        sf.write(folder / f"{stem}.flac", x, sr)
    return folder


def test_mir1k_names_and_groups():
    assert mir1k_singer("Kenshin_4_10") == "kenshin"
    assert mir1k_singer("MIR-1K amy_6_11") == "amy"
    assert mir1k_singer("Music Delta - 80s Rock") is None
    assert group_of("leon_3_07") == "singer:leon"
    assert group_of("ANiMAL - Clinic A") == "song:animal - clinic a"


def test_sampler_never_pairs_reserved_dev_or_validation_material(tmp_path):
    """Reserved MIR-1K singers and dev tracks never enter the bank; validation singers and
    songs are split off whole; thousands of remixes draw from the training tracks only."""
    from offline_training.remixer import draw
    from offline_training.stem_bank import StemBank

    dev = tmp_path / "dev"
    _track(dev, "Music Delta - 80s Rock", sr=44100, channels=2)
    _track(dev, "MIR-1K abjones_4_08")
    data = tmp_path / "train"
    allowed = ["leon_1_01", "leon_2_03", "ariel_1_01", "khair_4_02", "Some Band - Some Song"]
    reserved = [f"{s}_1_01" for s in sorted(RESERVED_SINGERS)] + ["Kenshin_4_10"]
    on_dev = ["Music Delta - 80s Rock", "abjones_4_08"]
    validation = ["annar_1_01", "titon_2_02"]
    for i, name in enumerate(allowed + reserved + on_dev + validation):
        _track(data, name, sr=44100 if " " in name else 16000,
               channels=2 if " " in name else 1, seed=i)
    policy = Policy([dev])
    split = policy.split(sorted(data.iterdir()))
    refused = {p.name for p, _ in split["forbidden"]}
    assert refused == set(reserved) | set(on_dev)
    assert {p.name for p in split["valid"]} >= set(validation)
    train = [p for p in split["train"]]
    assert {p.name for p in train} <= set(allowed)
    # the dev folder itself is refused whatever its tracks are called
    assert all(policy.forbidden(p) for p in dev.iterdir())
    bank = StemBank.build(train, tmp_path / "cache")
    assert {e.name for e in bank.entries} == {p.name for p in train}
    rng = np.random.default_rng(0)
    names = set()
    for _ in range(50):
        rec = draw(bank, np.arange(len(bank)), 40, 8192, rng)
        names |= {bank.entries[i].name for i in np.concatenate([rec["v_track"],
                                                                rec["a_track"]])}
        remixed = rec["v_track"] != rec["a_track"]
        assert remixed.any() and (~remixed).any()
    assert names == {p.name for p in train}
    forbidden = set(reserved) | set(on_dev) | set(validation)
    assert not names & forbidden


def test_training_refuses_a_dev_only_folder(tmp_path):
    from offline_training.train_stems import split_tracks
    from rtsep.errors import ConfigError

    dev = tmp_path / "dev"
    _track(dev, "Music Delta - 80s Rock")
    _track(dev, "Other - Song")
    with pytest.raises(ConfigError, match="may be trained on"):
        split_tracks([dev], tmp_path / "run", dev_dirs=[dev])


def test_batch_stft_is_the_engines_stft():
    from offline_training.batch_stft import frames, targets
    from rtsep.config import geometry_for
    from rtsep.core.stft import stft_offline

    g = geometry_for(44100)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 10 * g.hop)).astype(np.float32)
    padded = np.concatenate([np.zeros((2, g.n_fft - g.hop), np.float32), x,
                             np.zeros((2, g.hop), np.float32)], axis=1)
    ours = frames(padded, g)
    ref = stft_offline(x.astype(np.float64), g)
    assert ours.shape == ref.shape
    assert np.max(np.abs(ours - ref)) < 1e-4 * np.max(np.abs(ref))
    # mono examples transformed once stand for both channels; stereo ones are exact
    v = rng.standard_normal((2, 2, 4 * g.hop + g.n_fft)).astype(np.float32)
    a = rng.standard_normal((2, 2, 4 * g.hop + g.n_fft)).astype(np.float32)
    v[0, 1], a[0, 1] = v[0, 0], a[0, 0]
    t = targets(v, a, g)
    for b in range(2):
        spec = frames(np.stack([v[b], a[b]]), g)
        mag = np.abs(spec[0] + spec[1]).mean(axis=0)
        assert np.allclose(t["mag"][b].numpy(), mag, rtol=1e-5, atol=1e-5)


def test_spectral_sdr_loss_is_the_sdr_of_the_masked_mixture():
    import torch

    from offline_training.batch_stft import spectral_sdr_loss

    rng = np.random.default_rng(2)
    V = rng.standard_normal((1, 2, 5, 7)) + 1j * rng.standard_normal((1, 2, 5, 7))
    A = rng.standard_normal((1, 2, 5, 7)) + 1j * rng.standard_normal((1, 2, 5, 7))
    X = V + A
    mask = rng.random((1, 5, 7))
    err = np.sum(np.abs(mask[:, None] * X - V) ** 2)
    want = -0.5 * (10 * np.log10(np.sum(np.abs(V) ** 2) / err)
                   + 10 * np.log10(np.sum(np.abs(A) ** 2) / err))
    batch = {"xx": torch.tensor(np.sum(np.abs(X) ** 2, axis=1)),
             "vx": torch.tensor(np.sum((V * X.conj()).real, axis=1)),
             "vv": torch.tensor(np.sum(np.abs(V) ** 2, axis=1))}
    got = float(spectral_sdr_loss(torch.tensor(mask), batch, floor_db=-200.0))
    assert abs(got - want) < 1e-6

    def si_sdr(est, ref):
        alpha = np.sum((est * ref.conj()).real) / np.sum(np.abs(ref) ** 2)
        return 10 * np.log10(np.sum(np.abs(alpha * ref) ** 2)
                             / np.sum(np.abs(est - alpha * ref) ** 2))

    want = -0.5 * (si_sdr(mask[:, None] * X, V) + si_sdr((1 - mask[:, None]) * X, A))
    got = float(spectral_sdr_loss(torch.tensor(mask), batch, floor_db=-200.0,
                                  scale_invariant=True))
    assert abs(got - want) < 1e-6


def _tiny_refiner(tmp_path):
    from models.configs import SIZES
    from models.io import save_model
    from models.registry import build
    from offline_training.train_stems import primitive_bins
    from rtsep.config import geometry_for

    g = geometry_for(44100)
    model = build("CausalRefinerSeparator",
                  dict(SIZES["CausalRefinerSeparator"]["tiny"], n_bins=g.n_bins,
                       primitive_bins=primitive_bins(g)))
    save_model(model, tmp_path / "tiny_refiner",
               {"sample_rate": 44100, "stft": {"n_fft": g.n_fft, "hop": g.hop}})
    return tmp_path / "tiny_refiner", g


def test_training_features_equal_the_engines(tmp_path):
    """The primitive masks a model is trained on are, frame for frame, what the engine feeds
    it while streaming the same clip (stereo: the mean magnitude of the two channels)."""
    from offline_training.train_stems import primitive_bins
    from rtsep.config import EngineConfig
    from rtsep.core.engine import Engine
    from rtsep.core.model_inputs import primitive_frames
    from rtsep.core.stft import stft_offline

    from .music import song

    stem, g = _tiny_refiner(tmp_path)
    x = song(seconds=3.0, sr=44100)
    engine = Engine(44100, x.shape[0], EngineConfig(models=(str(stem),), use_primitives=False,
                                                    backend="torch"))
    backend = engine.candidates[0].backend
    seen = []
    step = backend.step
    backend.step = lambda frame: (seen.append(np.array(frame)), step(frame))[1]
    engine.process(x)
    fed = np.stack(seen, axis=1)  # (n_inputs, hops)
    mag = np.abs(stft_offline(x, g)).mean(axis=0)[:, :fed.shape[1]]
    prims = primitive_frames(mag, g, ("repet", "hpss", "pitch"), primitive_bins(g))
    n = g.n_bins
    assert fed.shape[1] > 400
    assert np.max(np.abs(fed[:n] - mag)) <= 1e-9 * np.max(mag)
    assert np.max(np.abs(fed[n:] - prims.reshape(-1, fed.shape[1]))) < 1e-6
    assert np.mean(fed[n:] > 0.05) > 0.05  # the masks are not all zero


@pytest.mark.data
def test_a_short_run_on_real_clips_lowers_the_validation_loss(tmp_path):
    if not (TRAIN / "mir1k").is_dir():
        pytest.skip("shared training data not present")
    from models.io import load_model
    from offline_training.train_stems import StemTrainOptions, train_stems

    data = tmp_path / "clips"
    data.mkdir()
    names = ["leon_1_01", "leon_1_02", "jmzen_1_01", "khair_1_01", "yifen_1_01",
             "annar_1_01", "titon_1_01"]
    for name in names:
        (data / name).symlink_to(TRAIN / "mir1k" / name)
    opts = StemTrainOptions(data=[data], out=str(tmp_path / "m"), size="tiny", steps=40,
                            licences={str(data): "MIR-1K: research use only"},
                            batch=4, frames=32, lr=3e-3, pool_size=8, pool_seconds=2.0,
                            valid_batches=2, valid_every=40, checkpoint_every=20, workers=0)
    doc = train_stems(opts, log=lambda *_: None)
    valid = doc["training"]["history"]["valid"]
    # the refiner starts as primitive clustering (models.refiner); training improves on it
    assert valid[-1]["loss"] < valid[0]["loss"] - 0.1  # dB of spectral SDR
    assert doc["training"]["split"]["valid_groups"] == ["singer:annar", "singer:titon"]
    assert "research" in doc["provenance"][0]["licence"]
    model, meta = load_model(tmp_path / "m")
    assert meta["arguments"]["input_primitives"] == ["repet", "hpss", "pitch"]
    # resuming a finished run trains no further and gives the same model
    again = train_stems(opts, log=lambda *_: None)
    assert again["weights"]["sha256"] == doc["weights"]["sha256"]
    # a run's checkpoint exports to the same model with the same data, terms and losses
    from offline_training.stem_export import export_stems_run

    exported = export_stems_run(opts.run, tmp_path / "e")
    assert exported["provenance"] == doc["provenance"]
    assert exported["training"]["history"] == doc["training"]["history"]
    assert exported["training"]["stopped"]["steps_reached"] == 40
    again_model, _ = load_model(tmp_path / "e")
    for (k, a), (_, b) in zip(model.state_dict().items(), again_model.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def test_init_from_continues_a_model_with_a_new_local_branch(tmp_path):
    """``--init-from``: a refiner with the frequency-local branch, started from a trained file
    of the plain size, computes exactly what that file computes until the branch trains; a
    file of another architecture is refused with a message."""
    import torch

    from models import configs
    from models.io import load_model, save_model
    from models.registry import build
    from offline_training.train_stems import init_weights
    from rtsep.errors import ConfigError

    stem, g = _tiny_refiner(tmp_path)
    plain, meta = load_model(stem)
    with torch.no_grad():  # as if trained: the refinement terms are no longer zero
        plain.direct.weight.normal_(0.0, 0.2)
    save_model(plain, stem, {"sample_rate": 44100, "stft": {"n_fft": g.n_fft, "hop": g.hop}})
    wide = build("CausalRefinerSeparator", dict(meta["arguments"], local_channels=4,
                                                local_kernel=3, local_ctx=2)).eval()
    summary = init_weights(wide, stem)
    assert "new (local_coef.bias" in summary and "local_out.weight" in summary
    x = torch.rand(1, wide.n_inputs, 12) * 5.0
    with torch.no_grad():
        assert torch.equal(wide.forward_mask(x), plain.forward_mask(x))
        wide.local_out.weight.normal_(0.0, 0.5)  # the branch trained: now it counts
        assert not torch.allclose(wide.forward_mask(x), plain.forward_mask(x))
    gru = configs.create("CausalGRUSeparator", "tiny", g.n_bins)
    save_model(gru, tmp_path / "gru", {"sample_rate": 44100,
                                       "stft": {"n_fft": g.n_fft, "hop": g.hop}})
    with pytest.raises(ConfigError, match="not a CausalRefinerSeparator"):
        init_weights(wide, tmp_path / "gru")
    # the final JSON records what the run continued from: name, digest and its own training
    from models.io import read_meta
    from offline_training.train_stems import _init_record

    record = _init_record(str(stem))
    assert record["weights_sha256"] == read_meta(stem)["weights"]["sha256"]
    assert record["architecture"] == "CausalRefinerSeparator"
    assert "error" in _init_record(str(tmp_path / "moved-away"))
