"""Adversarial semi-supervised training with solo recordings (paper 001), resumable, DDP.

    python -m offline_training adversarial --split ../shared/data/train/musdb7 \
        --solo-vocals ../shared/data/train/mir1k --solo-vocals ../shared/data/solo/vocals \
        --solo-accompaniment ../shared/data/solo/accompaniment --out runs/adv/model
    torchrun --nproc_per_node 2 -m offline_training adversarial ...   (the same, two ranks)

Stages, each leaving its output in the run folder (``--run-dir``, default ``OUT.run``):

1. roles    ``roles.json``: every input sorted into labelled / solo vocals / solo
            accompaniment / mixtures / validation, reserved and dev material refused, no song
            in two roles (``offline_training.roles``); ``valid_tracks/`` links the validation
            tracks, so ``rtsep eval OUT.run/valid_tracks`` scores the model on them;
2. banks    labelled and validation stems in the real-stem pipeline's ``StemBank``, the
            unpaired recordings in a ``RecordingBank`` (``--cache-dir``, shared between runs);
            the labelled songs' levels (``levels.json``) that unpaired recordings are scaled to;
3. train    ``offline_training.adversarial_loop`` with checkpoints under ``checkpoints/``;
4. save     the model pair at ``OUT`` (``training.method = "adversarial"``, alpha, beta, the
            critics and every role's data with its licence), ``curves.png`` and ``history.json``.

The separator is any magnitude-input causal model of ``models`` (``--arch``, ``--size``), so
the result streams in the engine like every other model file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .roles import DEFAULT_SHARES, ROLES, VALIDATION

CRITIC_CHOICES = {"none": (), "vocals": ("vocals",), "accompaniment": ("accompaniment",),
                  "both": ("vocals", "accompaniment")}


@dataclass
class AdversarialOptions:
    out: str
    labelled: list = field(default_factory=list)
    solo_vocals: list = field(default_factory=list)
    solo_accompaniment: list = field(default_factory=list)
    mixtures: list = field(default_factory=list)
    split: list = field(default_factory=list)  # folders shared out among the four roles
    shares: tuple = DEFAULT_SHARES
    licences: dict = field(default_factory=dict)  # input path -> licence text
    run_dir: str | None = None
    cache_dir: str | None = None
    critics: str = "both"  # none | vocals | accompaniment | both
    alpha: float = 0.02
    beta: float = 1.0
    critic_steps: int = 5  # critic updates per separator update (WGAN-GP's n_critic)
    gp_weight: float = 10.0
    critic_warmup: int = 0  # critic-only updates whenever critics start (see init_from)
    init_from: str | None = None  # RUN/checkpoints/state of an earlier run to continue from
    critic_size: str = "small"
    critic_lr: float = 4e-4
    critic_max_hz: float = 8000.0
    arch: str = "gru"
    size: str = "student"
    steps: int = 1000
    batch: int = 8  # labelled examples per step (per process)
    unlabelled_batch: int = 8  # mixtures per step and per critic update (per process)
    frames: int = 64
    lr: float = 1e-3
    hold: float = 0.6  # share of the steps at the full learning rate
    dc_weight: float = 0.5
    dc_frames: int = 16
    gain_db: float = 5.0
    seed: int = 0
    threads: int = 1
    valid_batches: int = 4
    valid_every: int = 50
    checkpoint_every: int = 50
    select: str = "best"  # the weights saved: best validation SDR, or "last"

    @property
    def run(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(str(self.out) + ".run")

    def inputs(self) -> dict:
        return dict(zip(ROLES, (self.labelled, self.solo_vocals, self.solo_accompaniment,
                                self.mixtures)))


def _check(o: AdversarialOptions, roles) -> None:
    from rtsep.errors import ConfigError

    if o.select not in ("best", "last"):
        raise ConfigError(f"--select {o.select!r}: choose best or last")
    if o.critics not in CRITIC_CHOICES:
        raise ConfigError(f"--critics {o.critics!r}: choose one of {', '.join(CRITIC_CHOICES)}")
    if len(roles.of("labelled")) < 2:
        raise ConfigError(f"{len(roles.of('labelled'))} labelled track(s) left after the "
                          "split; the supervised term needs two or more")
    needed = [ROLES[3]] if CRITIC_CHOICES[o.critics] else []
    needed += ["solo " + s for s in CRITIC_CHOICES[o.critics]]
    for role in needed:
        if not roles.of(role):
            raise ConfigError(f"no {role} recordings: give --{role.replace(' ', '-')} (or a "
                              f"--split folder) for --critics {o.critics}")


def build_separator(o: AdversarialOptions, n_bins: int):
    from rtsep.errors import ConfigError

    from .trainer import build_student

    try:
        model = build_student(o.arch, o.size, n_bins, seed=o.seed)
    except Exception as exc:  # unknown arch/size: models' own messages say which exist
        raise ConfigError(str(exc).splitlines()[0]) from None
    if getattr(model, "input_primitives", None):
        raise ConfigError(f"{model.arch_name} reads primitive masks; adversarial training "
                          "supports separators of the magnitude alone (gru, tcn)")
    return model


def link_tracks(paths, folder: Path) -> Path:
    """``folder/NAME`` -> each track folder, so ``rtsep eval folder`` scores them."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in map(Path, paths):
        link = folder / p.name
        if not link.is_symlink():
            link.symlink_to(p.resolve(), target_is_directory=True)
    return folder


def run_adversarial(o: AdversarialOptions, log=print, progress_factory=None) -> dict | None:
    """Run (or resume) every stage; returns the model's JSON on rank 0, None on the others."""
    import torch

    from models.critic import create_critic
    from rtsep.config import geometry_for
    from rtsep.io.atomic import write_json_atomic

    from .adversarial_loop import Checkpoint, train_loop
    from .batches import RemixBatches, fixed_batches
    from .recordings import CropBatches, RecordingBank, role_levels
    from .remixer import RemixSettings
    from .roles import assign_roles
    from .stem_bank import SR, StemBank
    from .trainer import barrier, init_distributed

    torch.set_num_threads(max(1, int(o.threads)))
    rank, world = init_distributed()
    run = o.run
    run.mkdir(parents=True, exist_ok=True)
    geometry = geometry_for(SR, "default")
    roles = assign_roles(o.inputs(), o.split, o.shares, o.licences,
                         log=log if rank == 0 else (lambda *_: None))
    _check(o, roles)
    critic_names = CRITIC_CHOICES[o.critics]
    if rank == 0:
        write_json_atomic(run / "options.json", json.loads(json.dumps(asdict(o), default=str)))
        write_json_atomic(run / "roles.json", roles.to_dict())
        link_tracks([s.path for s in roles.of(VALIDATION)], run / "valid_tracks")
        log(", ".join(f"{len(roles.of(r))} {r}" for r in (*ROLES, VALIDATION))
            + f", {len(roles.refused)} refused, {len(roles.skipped)} skipped")
    cache = Path(o.cache_dir) if o.cache_dir else run / "cache"
    tracks = roles.of("labelled") + roles.of(VALIDATION)
    unpaired = [s for r in ROLES[1:] for s in roles.of(r)]
    for turn in range(2 if world > 1 else 1):  # rank 0 reads, then the others find the cache
        if (rank == 0) == (turn == 0):
            bank = StemBank.build([Path(s.path) for s in tracks], cache / "stems",
                                  {s.dataset: s.licence for s in tracks}, log)
            recordings = RecordingBank.build([(s.path, s.kind) for s in unpaired],
                                             cache / "recordings", log)
        if world > 1:
            barrier()
    n_lab = len(roles.of("labelled"))
    levels = role_levels(bank, range(n_lab))
    if rank == 0:
        write_json_atomic(run / "levels.json", levels)
    index = {r: np.array([i for i, s in enumerate(unpaired) if s.role == r], dtype=np.int64)
             for r in ROLES[1:]}
    streams = {"labelled": RemixBatches(bank, np.arange(n_lab), geometry, o.frames, o.batch,
                                        RemixSettings(gain_db=o.gain_db))}
    for role, key in ((ROLES[1], "vocals"), (ROLES[2], "accompaniment"), (ROLES[3], "mixtures")):
        if index[role].size:
            streams[key] = CropBatches(recordings, index[role], geometry, o.frames,
                                       o.unlabelled_batch, levels[role], o.gain_db)
    valid = []
    if len(roles.of(VALIDATION)) >= 2:  # the validation songs as they are, not remixed
        vmake = RemixBatches(bank, np.arange(n_lab, len(tracks)), geometry, o.frames, o.batch,
                             RemixSettings(remix_prob=0.0, gain_db=0.0, silence_prob=0.0))
        valid = fixed_batches(vmake, o.valid_batches, 10_000 + o.seed)
    model = build_separator(o, geometry.n_bins)
    scale = _critic_scale(streams, o.seed) if critic_names else 1.0
    critics = {name: create_critic(o.critic_size, _critic_bins(o, geometry), seed=o.seed + i,
                                   max_hz=o.critic_max_hz, scale=scale)
               for i, name in enumerate(critic_names)}
    log(f"training {model.arch_name} ({sum(p.numel() for p in model.parameters())} parameters)"
        f" with critics {list(critic_names) or 'none'}, alpha {o.alpha}, beta {o.beta}, "
        f"{o.steps} steps, {world} process(es)")
    progress = progress_factory(o.steps) if (progress_factory and rank == 0) else None
    try:
        history = train_loop(model, critics, streams, o,
                             checkpoint=Checkpoint(run / "checkpoints" / "state"),
                             valid_batches=valid if rank == 0 else [],
                             progress=progress, log=log if rank == 0 else (lambda *_: None))
    finally:
        if progress is not None:
            progress(None, o.steps, None)
    if rank != 0:
        return None
    return _save(o, model, critics, roles, levels, history, geometry, recordings, unpaired)


def _critic_bins(o, geometry) -> int:
    from models.critic import critic_bins

    return critic_bins(geometry.n_fft, geometry.sr, o.critic_max_hz)


def _critic_scale(streams, seed: int) -> float:
    """Mean magnitude of unlabelled mixtures at their target level: maps to log1p(1)."""
    rng = np.random.default_rng([seed, 99])
    return float(np.mean([float(streams["mixtures"](rng).mean()) for _ in range(4)])) or 1.0


def _save(o, model, critics, roles, levels, history, geometry, recordings, unpaired) -> dict:
    from models.io import save_model
    from rtsep.io.atomic import write_json_atomic

    from .curves import plot_curves
    from .roles import provenance

    run = o.run
    write_json_atomic(run / "history.json", history)
    plot_curves(history, run / "curves.png", title=f"{Path(o.out).name}: critics {o.critics},"
                f" alpha {o.alpha}, beta {o.beta}")
    seconds = {r: round(sum(float(recordings.samples[i]) for i, s in enumerate(unpaired)
                            if s.role == r) / geometry.sr, 1) for r in ROLES[1:]}
    valid = [v for v in history["valid"] if v["step"] > 0]
    best = max(valid, key=lambda v: v["sdr_db"]) if valid else None
    options = {k: v for k, v in json.loads(json.dumps(asdict(o), default=str)).items()
               if k not in ("out", "run_dir", "cache_dir", "threads", "labelled", "solo_vocals",
                            "solo_accompaniment", "mixtures", "split", "licences")}
    meta = {
        "sample_rate": geometry.sr,
        "stft": {"n_fft": geometry.n_fft, "hop": geometry.hop, "preset": "default"},
        "training": {
            "method": "adversarial", "recipe": "offline_training.adversarial",
            "paper": "Stoller, Ewert, Dixon: adversarial semi-supervised audio source "
                     "separation applied to singing voice extraction (ICASSP 2018)",
            "loss": "L_sup (negative spectral SDR of vocals and karaoke + dc_weight x deep "
                    "clustering) + alpha x sum_k -D_k(estimate_k) (WGAN-GP critics) + beta x "
                    "additivity (0 for a mask: the estimates m|X| and (1-m)|X| sum to |X|)",
            "alpha": o.alpha, "beta": o.beta, "critics": list(CRITIC_CHOICES[o.critics]),
            "critic": {"size": o.critic_size, "lr": o.critic_lr, "steps_per_step":
                       o.critic_steps, "gp_weight": o.gp_weight, "max_hz": o.critic_max_hz,
                       **({"config": next(iter(critics.values())).config,
                           "scale": float(next(iter(critics.values())).scale)}
                          if critics else {})},
            "options": options,
            "roles": {r: {"items": len(roles.of(r)), "songs": len(roles.groups(r)),
                          **({"seconds": seconds[r]} if r in seconds else {})}
                      for r in (*ROLES, VALIDATION)},
            "refused": len(roles.refused), "levels": levels,
            "world_size": history.get("world_size", 1),
            **{k: history[k] for k in ("init_from", "critic_warmup") if k in history},
            "history": {k: history[k] for k in ("train", "valid")},
        },
        "provenance": provenance(roles),
        "metrics": {"valid_sdr_db_first": history["valid"][0]["sdr_db"] if valid else None,
                    "valid_sdr_db_best": best["sdr_db"] if best else None,
                    "valid_best_step": best["step"] if best else None,
                    "valid_note": "spectral SDR (vocals and karaoke averaged) of fixed crops "
                                  f"of the validation songs; the weights are the {o.select} "
                                  "step's"},
    }
    return save_model(model, o.out, meta)
