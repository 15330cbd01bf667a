"""Adversarial semi-supervised training (paper 001): the critics' gradient penalty against its
definition, the additivity term, data roles that never share a song, and a tiny run under a
2-process torchrun that writes a model the engine loads and streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from models.critic import create_critic, critic_bins
from offline_training.roles import ROLES, VALIDATION, assign_roles, check_unpaired, share_out
from offline_training.wgan import additivity_loss, critic_loss, gradient_penalty

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DATA = Path(os.environ.get("RTSEP_SHARED_DATA", REPO.parent / "shared" / "data"))


def _finite_difference_gradient(critic, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """d critic(x) / d x of one example by central differences (no autograd)."""
    grad = torch.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    with torch.no_grad():
        for j in range(flat.numel()):
            up, down = flat.clone(), flat.clone()
            up[j] += h
            down[j] -= h
            g[j] = (critic(up.reshape(1, *x.shape)) - critic(down.reshape(1, *x.shape)))[0] / (2 * h)
    return grad


@pytest.mark.parametrize("source", ["vocals", "accompaniment"])
def test_gradient_penalty_matches_its_definition(source):
    """lambda * mean_i (||grad D(eps_i real_i + (1 - eps_i) fake_i)|| - 1)^2, the gradient taken
    by finite differences, for each critic as the recipe builds it (seed per source)."""
    torch.manual_seed(1)
    seed = {"vocals": 0, "accompaniment": 1}[source]
    critic = create_critic("tiny", 6, seed=seed, scale=0.5).double()
    mag_real = torch.rand(3, 9, 8, dtype=torch.float64) * 2.0
    mag_fake = torch.rand(3, 9, 8, dtype=torch.float64) * 0.5
    real, fake = critic.features(mag_real), critic.features(mag_fake)
    assert real.shape == (3, 6, 8)
    eps = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    penalty = gradient_penalty(critic, real, fake, eps, weight=10.0)
    expected = []
    for i in range(3):
        x_hat = eps[i] * real[i] + (1 - eps[i]) * fake[i]
        norm = _finite_difference_gradient(critic, x_hat).norm()
        expected.append((norm - 1.0) ** 2)
    assert penalty.item() == pytest.approx(10.0 * torch.stack(expected).mean().item(), rel=1e-6)
    # the critic's loss adds it to D(fake) - D(real), and the penalty trains the critic
    loss, w = critic_loss(critic, real, fake, eps, gp_weight=10.0)
    with torch.no_grad():
        gap = critic(real).mean() - critic(fake).mean()
    assert float(w) == pytest.approx(float(gap))
    assert loss.item() == pytest.approx((-gap + penalty).item())
    (g,) = torch.autograd.grad(penalty, critic.out.weight)
    assert g.abs().sum() > 0


def test_critic_sees_the_bins_below_its_limit():
    assert critic_bins(2048, 44100, 8000.0) == 372  # 8 kHz / 21.5 Hz per bin, plus DC
    assert critic_bins(2048, 44100, 30000.0) == 1025
    critic = create_critic("tiny", critic_bins(2048, 44100), scale=2.0)
    mag = torch.rand(2, 1025, 12)
    mag2 = mag.clone()
    mag2[:, 372:] = 0.0  # nothing above 8 kHz (a 16 kHz recording) changes nothing
    assert torch.equal(critic(critic.features(mag)), critic(critic.features(mag2)))


def test_additivity_is_zero_for_masks_and_measures_a_mismatch():
    mag = torch.rand(2, 5, 7) + 0.1
    mask = torch.rand(2, 5, 7)
    assert float(additivity_loss([mask * mag, (1 - mask) * mag], mag)) < 1e-12
    # estimates summing to 1.5 |X| miss by 0.5 |X|: relative squared error 0.25
    assert float(additivity_loss([mag, 0.5 * mag], mag)) == pytest.approx(0.25, rel=1e-6)


def _write_tracks(root: Path, names, seconds: float = 2.0) -> Path:
    """Track folders cut from the rendered default song (different stretches per track)."""
    from .music import song

    root.mkdir(parents=True, exist_ok=True)
    mix, voc = song(seconds * len(names), sr=44100, offset_s=1.0, with_vocals=True)
    n = int(seconds * 44100)
    for i, name in enumerate(names):
        d = root / name
        d.mkdir(exist_ok=True)
        v, m = voc[:, i * n:(i + 1) * n], mix[:, i * n:(i + 1) * n]
        sf.write(d / "vocals.wav", v.T, 44100, subtype="FLOAT")
        sf.write(d / "accompaniment.wav", (m - v).T, 44100, subtype="FLOAT")
        (d / "meta.json").write_text(json.dumps({"licence": "rendered by rtsep (test)"}))
    return root


def test_roles_never_share_a_song(tmp_path):
    data = _write_tracks(tmp_path / "set", ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
                                            "amy_1_01", "annar_1_01"], seconds=0.2)
    solo = tmp_path / "solo"
    solo.mkdir()
    sf.write(solo / "a.wav", np.random.default_rng(0).standard_normal(4410) * 0.1, 44100)
    (solo / "copy_of_a.wav").write_bytes((solo / "a.wav").read_bytes())
    (solo / "empty.mp3").write_bytes(b"")
    roles = assign_roles({"solo vocals": [solo]}, split=[data], shares=(0.5, 0.25, 0.125, 0.125),
                         dev_dirs=[], log=lambda *_: None)
    owner = {}
    for s in roles.sources:
        assert owner.setdefault(s.group, s.role) == s.role, s.group
    assert [Path(p).name for p, _ in roles.refused] == ["amy_1_01"]  # a reserved singer
    assert [Path(s.path).name for s in roles.of(VALIDATION)] == ["annar_1_01"]
    assert sorted(Path(p).name for p, _ in roles.skipped) == ["copy_of_a.wav", "empty.mp3"]
    counts = [len([s for s in roles.of(r) if s.kind != "file"]) for r in ROLES]
    assert counts == [4, 2, 1, 1]
    kinds = {s.role: s.kind for s in roles.sources if s.dataset == str(data)}
    assert kinds == {"labelled": "track", "solo vocals": "vocals",
                     "solo accompaniment": "accompaniment", "mixtures": "mixture",
                     VALIDATION: "track"}
    assert all(s.licence == "rendered by rtsep (test)" for s in roles.of("labelled"))
    # the same songs given as labelled and as unlabelled mixtures are refused
    with pytest.raises(Exception, match="one role only"):
        assign_roles({"labelled": [data], "mixtures": [data]}, dev_dirs=[], log=lambda *_: None)
    roles.sources[0].group = roles.of("mixtures")[0].group
    with pytest.raises(Exception, match="one role only"):
        check_unpaired(roles)
    # sharing out is by whole song and stable when a song is added
    base = share_out([f"song:{i}" for i in range(20)])
    more = share_out([f"song:{i}" for i in range(21)])
    assert sum(base[g] == more[g] for g in base) >= 16


@pytest.mark.data
def test_the_shared_data_roles_are_unpaired_and_avoid_reserved_material():
    if not (DATA / "train" / "musdb7").is_dir():
        pytest.skip("shared training data not present")
    roles = assign_roles({"solo vocals": [DATA / "train" / "mir1k", DATA / "solo" / "vocals"],
                          "solo accompaniment": [DATA / "solo" / "accompaniment"]},
                         split=[DATA / "train" / "musdb7"], log=lambda *_: None)
    check_unpaired(roles)
    reserved = {"amy", "bobon", "fdps", "heycat", "stool", "kenshin", "abjones", "bug"}
    assert not any(s.group.split(":")[1] in reserved for s in roles.sources
                   if s.group.startswith("singer:"))
    assert all("/dev/" not in s.path for s in roles.sources)
    assert len(roles.of("labelled")) >= 35 and roles.of("mixtures")
    assert ["csd_kr032b.mp3"] == [Path(p).name for p, _ in roles.skipped]


def _cmd(data: Path, out: Path, steps: int) -> list[str]:
    return [str(VENV_BIN / "torchrun"), "--nproc_per_node", "2", "--master_port", "29541",
            "-m", "offline_training", "adversarial", "--split", str(data), "--out", str(out),
            "--shares", "0.5,0.17,0.17,0.16", "--size", "tiny", "--critic-size", "tiny",
            "--steps", str(steps), "--critic-steps", "1", "--batch", "2",
            "--unlabelled-batch", "2", "--frames", "24", "--valid-every", "2",
            "--checkpoint-every", "2"]


def test_tiny_run_under_torchrun_writes_a_model_that_separates(tmp_path):
    from models.io import load_model
    from rtsep.config import EngineConfig
    from rtsep.separate import separate_array

    names = [f"t{i}" for i in range(8)] + ["annar_1_01", "titon_1_01"]
    data = _write_tracks(tmp_path / "set", names, seconds=1.0)
    out = tmp_path / "adv"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(_cmd(data, out, 4), capture_output=True, text=True, env=env,
                          timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    model, doc = load_model(out)
    t = doc["training"]
    assert t["method"] == "adversarial" and t["world_size"] == 2
    assert t["alpha"] == 0.02 and t["beta"] == 1.0 and t["critics"] == ["vocals", "accompaniment"]
    assert {p["role"] for p in doc["provenance"]} == {*ROLES, VALIDATION}
    assert all(p["licence"] == "rendered by rtsep (test)" for p in doc["provenance"])
    assert t["roles"]["labelled"]["songs"] == 4 and t["roles"][VALIDATION]["songs"] == 2
    assert [h["step"] for h in t["history"]["valid"]] == [0, 2, 4]
    assert all(np.isfinite(r["w_vocals"]) for r in t["history"]["train"])
    run = Path(f"{out}.run")
    assert (run / "curves.png").stat().st_size > 10_000
    assert sorted(p.name for p in (run / "valid_tracks").iterdir()) == ["annar_1_01",
                                                                        "titon_1_01"]
    x = sf.read(data / "t0" / "vocals.wav")[0].T + sf.read(data / "t0" / "accompaniment.wav")[0].T
    vocals, karaoke = separate_array(x, 44100, EngineConfig(models=(str(out),),
                                                            use_primitives=False))
    assert vocals.shape == x.shape and np.all(np.isfinite(vocals))
    assert np.allclose(vocals + karaoke, x, atol=1e-6)
    assert 0.0 < np.sum(vocals ** 2) < np.sum(x ** 2)
    # the run resumes from its checkpoint: two more steps, in this process alone
    from offline_training.adversarial import AdversarialOptions, run_adversarial

    lines = []
    opts = AdversarialOptions(out=str(out), split=[data], size="tiny", critic_size="tiny",
                              steps=6, critic_steps=1, batch=2, unlabelled_batch=2, frames=24,
                              valid_every=2, checkpoint_every=2)
    doc6 = run_adversarial(opts, log=lines.append)
    assert "resumed at step 4" in lines
    assert [h["step"] for h in doc6["training"]["history"]["valid"]] == [0, 2, 4, 6]
    assert doc6["training"]["world_size"] == 1
