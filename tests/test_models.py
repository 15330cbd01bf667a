"""Causal separators: streaming equals whole-sequence, files round-trip, damage is reported."""

from __future__ import annotations

import json

import pytest
import torch

from models import configs
from models.io import load_model, save_model
from models.registry import architecture_names, get_architecture
from rtsep.errors import ModelFileError

N_BINS = 65  # n_fft 128: small, but the models see it exactly as they would 1025
META = {"sample_rate": 44100, "stft": {"n_fft": 128, "hop": 32, "preset": "test"},
        "training": {"method": "untrained"},
        "provenance": [{"source": "random init", "licence": "MIT"}]}
ARCHS = ["CausalGRUSeparator", "CausalTCNSeparator"]


def _mag(batch=2, frames=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    # Spectra with a wide dynamic range and exact zeros, as real STFT magnitudes have.
    mag = torch.rand(batch, N_BINS, frames, generator=g) ** 4 * 50.0
    mag[:, :, 5] = 0.0
    return mag


def _stream(model, mag):
    """Feed frames one at a time (plus L zero frames) and realign to forward's frames."""
    L = model.lookahead_frames
    padded = torch.nn.functional.pad(mag, (0, L))
    state = model.init_state(mag.shape[0])
    masks, embs = [], []
    with torch.inference_mode():
        for t in range(padded.shape[2]):
            m, e, state = model.step(padded[:, :, t], state)
            masks.append(m)
            embs.append(e)
    return torch.stack(masks, 2)[:, :, L:], torch.stack(embs, 2)[:, :, L:]


def test_registry_holds_both_architectures():
    assert set(ARCHS) <= set(architecture_names())
    assert get_architecture("CausalGRUSeparator").__name__ == "CausalGRUSeparator"


@pytest.mark.parametrize("lookahead", [0, 3])
@pytest.mark.parametrize("arch", ARCHS)
def test_step_equals_forward(arch, lookahead):
    model = configs.create(arch, "tiny", N_BINS, lookahead_frames=lookahead)
    assert sum(p.numel() for p in model.parameters()) < 10_000
    mag = _mag()
    with torch.inference_mode():
        mask, emb = model(mag)
    assert mask.shape == (2, N_BINS, 40) and emb.shape == (2, N_BINS, 40, model.emb_dim)
    assert float(mask.min()) >= 0.0 and float(mask.max()) <= 1.0
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(2, N_BINS, 40), atol=1e-5, rtol=0)
    smask, semb = _stream(model, mag)
    assert float((smask - mask).abs().max()) < 1e-5
    assert float((semb - emb).abs().max()) < 1e-5


@pytest.mark.parametrize("arch", ARCHS)
def test_models_are_causal(arch):
    # Changing frame 30 must not change any output before frame 30 - lookahead.
    model = configs.create(arch, "tiny", N_BINS, lookahead_frames=2)
    a = _mag()
    b = a.clone()
    b[:, :, 30] += 10.0
    with torch.inference_mode():
        ma, _ = model(a)
        mb, _ = model(b)
    assert torch.equal(ma[:, :, :28], mb[:, :, :28])
    assert not torch.equal(ma[:, :, 28], mb[:, :, 28])  # the look-ahead does reach back L frames


@pytest.mark.parametrize("arch", ARCHS)
def test_save_load_round_trip(tmp_path, arch):
    model = configs.create(arch, "tiny", N_BINS, lookahead_frames=1, seed=3)
    doc = save_model(model, tmp_path / "m", META)
    assert doc["latency"] == {"lookahead_frames": 1}
    loaded, meta = load_model(tmp_path / "m.json", expect_n_bins=N_BINS)
    assert meta["architecture"] == arch and meta["arguments"] == model.config
    assert meta["provenance"] == META["provenance"]
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temp files
    mag = _mag()
    with torch.inference_mode():
        for x, y in zip(model(mag), loaded(mag)):
            assert torch.equal(x, y)


@pytest.fixture
def saved(tmp_path):
    model = configs.create("CausalGRUSeparator", "tiny", N_BINS)
    save_model(model, tmp_path / "m", META)
    return tmp_path / "m"


def _rewrite_json(stem, edit):
    path = stem.with_suffix(".json")
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def _expect_error(path, pattern, **kw):
    with pytest.raises(ModelFileError, match=pattern) as info:
        load_model(path, **kw)
    assert "\n" not in str(info.value)


def test_truncated_weights_fail_the_hash(saved):
    w = saved.with_suffix(".safetensors")
    w.write_bytes(w.read_bytes()[:100])
    _expect_error(saved, "does not match the sha256")


def test_truncated_weights_with_matching_hash_are_unreadable(saved):
    from models.io import sha256_file

    w = saved.with_suffix(".safetensors")
    w.write_bytes(w.read_bytes()[:100])
    _rewrite_json(saved, lambda d: d["weights"].update(sha256=sha256_file(w)))
    _expect_error(saved, "not a readable safetensors file")


def test_flipped_byte_fails_the_hash(saved):
    w = saved.with_suffix(".safetensors")
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    _expect_error(saved, "does not match the sha256")


def test_missing_json_and_missing_weights(saved):
    saved.with_suffix(".safetensors").unlink()
    _expect_error(saved, "weights .* are missing")
    saved.with_suffix(".json").unlink()
    _expect_error(saved, "description .* is missing")


def test_json_missing_fields_and_garbage(saved):
    _rewrite_json(saved, lambda d: (d.pop("architecture"), d.pop("stft")))
    _expect_error(saved, "lacks field.*architecture.*stft")
    saved.with_suffix(".json").write_text("{not json")
    _expect_error(saved, "not valid JSON")


def test_unknown_architecture(saved):
    _rewrite_json(saved, lambda d: d.update(architecture="BidirectionalLSTM"))
    _expect_error(saved, "unknown architecture 'BidirectionalLSTM'")


def test_wrong_n_bins(saved):
    # The JSON claims another STFT size than the weights hold: a shape mismatch.
    def edit(d):
        d["arguments"]["n_bins"] = 129
        d["stft"]["n_fft"] = 256
    _rewrite_json(saved, edit)
    _expect_error(saved, "has shape .* needs")


def test_n_bins_against_stft_and_engine(saved):
    _rewrite_json(saved, lambda d: d["stft"].update(n_fft=2048))
    _expect_error(saved, "65 bins but its STFT")
    _rewrite_json(saved, lambda d: d["stft"].update(n_fft=128))
    _expect_error(saved, "engine uses 1025", expect_n_bins=1025)


def test_bad_arguments_are_a_model_file_error(saved):
    _rewrite_json(saved, lambda d: d["arguments"].update(layers=0))
    _expect_error(saved, "cannot build CausalGRUSeparator")
    _rewrite_json(saved, lambda d: d["arguments"].update(layers=2, colour="red"))
    _expect_error(saved, "cannot build CausalGRUSeparator")


# --- `rtsep models` CLI, through the real entry point --------------------------------------

def _rtsep(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "rtsep", "models", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_list_show_export(tmp_path):
    import numpy as np
    import onnxruntime as ort

    model = configs.create("CausalTCNSeparator", "tiny", N_BINS, lookahead_frames=1)
    save_model(model, tmp_path / "tiny_tcn", META)
    listed = _rtsep("list", "--dir", tmp_path)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if l.startswith("tiny_tcn"))
    assert "CausalTCNSeparator" in line and "128/32" in line and "default" not in line
    defaults = [l.split()[0] for l in listed.stdout.splitlines() if "(default" in l]
    assert defaults == ["refiner-local"]  # the shipped default is marked, and only it
    shown = _rtsep("show", tmp_path / "tiny_tcn.json", "--check")
    assert shown.returncode == 0, shown.stderr
    body = shown.stdout[: shown.stdout.rindex("}") + 1]
    assert json.loads(body)["architecture"] == "CausalTCNSeparator"
    assert "sha256 verified" in shown.stdout
    out = tmp_path / "step.onnx"
    exported = _rtsep("export-onnx", "tiny_tcn", "--dir", tmp_path, "--out", out)
    assert exported.returncode == 0, exported.stderr
    # The written graph runs and carries state like the model's own step.
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    frame = np.random.default_rng(0).random((1, N_BINS), dtype=np.float32)
    state = [s.numpy() for s in model.init_state(1)]
    feeds = {"mag_frame": frame, **{f"state_{i}": s for i, s in enumerate(state)}}
    mask, emb, *new_state = sess.run(None, feeds)
    with torch.inference_mode():
        ref = model.step(torch.from_numpy(frame), model.init_state(1))
    assert np.abs(mask - ref[0].numpy()).max() < 1e-5
    assert all(np.abs(a - b.numpy()).max() < 1e-5 for a, b in zip(new_state, ref[2]))


def test_cli_damaged_model_is_one_line_error(saved):
    w = saved.with_suffix(".safetensors")
    w.write_bytes(w.read_bytes()[:-1])
    res = _rtsep("show", saved, "--check")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert res.stderr.startswith("rtsep: error:") and "sha256" in res.stderr
    missing = _rtsep("show", "no_such_model")
    assert missing.returncode == 2 and "no model 'no_such_model'" in missing.stderr


@pytest.mark.parametrize("arch", ARCHS)
def test_embeddings_of_selected_frames(arch):
    # Training computes embeddings for a subset of frames; they must be the same numbers.
    model = configs.create(arch, "tiny", N_BINS, lookahead_frames=1)
    mag = _mag()
    idx = torch.tensor([0, 7, 39])
    with torch.inference_mode():
        mask, emb = model(mag)
        mask_s, emb_s = model(mag, embedding_frames=idx)
    assert torch.equal(mask, mask_s)
    torch.testing.assert_close(emb_s, emb[:, :, idx], rtol=0, atol=1e-6)


def test_written_files_are_readable_by_others(tmp_path):
    import stat

    save_model(configs.create("CausalGRUSeparator", "tiny", N_BINS), tmp_path / "m", META)
    for suffix in (".json", ".safetensors"):
        mode = stat.S_IMODE((tmp_path / "m").with_suffix(suffix).stat().st_mode)
        assert mode & stat.S_IROTH, oct(mode)


def test_shipped_models_load_and_name_their_licences():
    from models.catalog import list_models

    shipped = [r for r in list_models() if r["shipped"]]
    for row in shipped:
        model, meta = load_model(row["path"], expect_n_bins=row["n_fft"] // 2 + 1)
        assert meta["training"]["method"] != "untrained"
        assert meta["provenance"] and all(p.get("licence") not in (None, "", "unknown")
                                          for p in meta["provenance"])
