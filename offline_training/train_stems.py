"""Training a causal separator on real labelled stems (MUSDB-style folders), resumable.

    python -m offline_training train-stems ../shared/data/train/mir1k ../shared/data/train/musdb7 \
        --out models/weights/NAME --arch refiner --steps 4000

Stages, each leaving its output in the run folder (``--run-dir``, default ``OUT.run``):

1. split   ``split.json``: every track of the folders, sorted into train / validation /
   forbidden (``offline_training.splits``: reserved MIR-1K singers and dev tracks are refused,
   validation is whole singers and whole songs);
2. bank    the stems at 44.1 kHz in ``--cache-dir`` (shared between runs);
3. pool    for a model that reads the primitive masks: remixes with their masks
   (``offline_training.prim_pool``), for training and (fixed) for validation;
4. fit     ``offline_training.fit`` with checkpoints under ``checkpoints/``; then the model
   pair at ``OUT`` with the data's provenance and licences, the validation losses and the
   measured training speed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .remixer import RemixSettings

ARCHES = {"refiner": "CausalRefinerSeparator", "gru": "CausalGRUSeparator",
          "tcn": "CausalTCNSeparator"}
DEFAULT_PRIMITIVES = ("repet", "hpss", "pitch")
PRIMITIVE_MAX_HZ = 8000.0  # the pitch cue's comb stops here (rtsep.primitives)


@dataclass
class StemTrainOptions:
    data: list
    out: str
    run_dir: str | None = None
    cache_dir: str | None = None
    licences: dict = field(default_factory=dict)  # data folder -> licence text
    arch: str = "refiner"
    size: str = "small"
    primitives: tuple = DEFAULT_PRIMITIVES  # refiner inputs; () for the magnitude alone
    steps: int = 2000
    batch: int = 12
    frames: int = 200
    lr: float = 1e-3
    dc_weight: float = 0.5
    dc_frames: int = 16
    seed: int = 0
    threads: int = 1
    pool_size: int = 600
    pool_seconds: float = 6.0
    pool_refresh: float = 0.05  # pool slots redrawn per step
    valid_batches: int = 6
    valid_every: int = 200
    checkpoint_every: int = 200
    workers: int = 1  # processes making batches beside the training one
    compile: bool = False  # torch.compile the training graph
    loss: str = "sdr"  # or "si-sdr" (offline_training.batch_stft.spectral_sdr_loss)
    floor_db: float = -10.0  # error floor of the loss, dB below the example's energy
    select: str = "median_vocal_snr"  # or "loss": which validated weights are kept
    valid_remix: bool = True  # False: validation on the tracks' own mixes, at their levels
    vocal_variants: tuple = ()
    init_from: str | None = None  # a model file whose matching weights start the run
    remix: RemixSettings = field(default_factory=RemixSettings)

    @property
    def run(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(str(self.out) + ".run")


def split_tracks(data_dirs, run: Path, dev_dirs=None) -> dict:
    """Sort every track of ``data_dirs`` (written to ``run/split.json``)."""
    from rtsep.io.datasets import track_folders
    from rtsep.errors import ConfigError
    from rtsep.io.atomic import write_json_atomic

    from .splits import Policy, default_dev_dirs

    policy = Policy(default_dev_dirs() if dev_dirs is None else dev_dirs)
    tracks = [t for d in data_dirs for t in track_folders(d)]
    split = policy.split(tracks)
    if len(split["train"]) < 2:
        raise ConfigError(f"only {len(split['train'])} track(s) may be trained on; remixing "
                          "needs two or more")
    write_json_atomic(run / "split.json", {
        "train": [str(p) for p in split["train"]], "valid": [str(p) for p in split["valid"]],
        "forbidden": [[str(p), why] for p, why in split["forbidden"]]})
    return split


def primitive_bins(geometry) -> int:
    return min(geometry.n_bins, int(PRIMITIVE_MAX_HZ / (geometry.sr / geometry.n_fft)) + 1)


def build_model(opts: StemTrainOptions, geometry):
    import torch

    from models.configs import SIZES
    from models.registry import build

    name = ARCHES.get(opts.arch, opts.arch)
    try:
        args = dict(SIZES[name][opts.size])
    except KeyError:
        from rtsep.errors import ConfigError

        raise ConfigError(f"no size {opts.size!r} for {name}") from None
    args["n_bins"] = geometry.n_bins
    if name == "CausalRefinerSeparator":
        from rtsep.config import DEFAULT_WEIGHTS

        args["input_primitives"] = list(opts.primitives)
        args["primitive_bins"] = primitive_bins(geometry)
        # start from primitive clustering with the engine's weights (models.refiner)
        args["pcl_weights"] = [DEFAULT_WEIGHTS[p] for p in opts.primitives] or None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(opts.seed)
        return build(name, args)


def init_weights(model, source) -> str:
    """Copy into ``model`` every tensor of model file ``source`` with the same name and
    shape (a larger variant continues a trained smaller one; new parts keep their start).
    A file that shares no tensor with the model is refused. Returns a one-line summary."""
    import torch

    from models.io import load_model
    from rtsep.errors import ConfigError

    donor, meta = load_model(source)
    if donor.arch_name != model.arch_name:
        raise ConfigError(f"--init-from {source}: a {donor.arch_name}, not a {model.arch_name}")
    theirs = donor.state_dict()
    mine = model.state_dict()
    same = {k: v for k, v in theirs.items() if k in mine and mine[k].shape == v.shape}
    if not same:
        raise ConfigError(f"--init-from {source}: no weights fit this model")
    with torch.no_grad():
        for k, v in same.items():
            mine[k].copy_(v)
    new = sorted(k for k in mine if k not in same)
    return (f"init: {len(same)} tensors from {meta.get('name', source)}; "
            f"{len(new)} new ({', '.join(new) or 'none'})")


def batch_sources(opts: StemTrainOptions, bank, split_idx: dict, geometry, model, log):
    """(next_batch, validation batches) for the model's inputs."""
    from .batches import PoolBatches, RemixBatches, fixed_batches, pool_batch
    from .prim_pool import PrimitivePool

    prims = tuple(getattr(model, "input_primitives", ()) or ())
    # validation: remixes like training's, or each track's own mix at its own levels
    vset = opts.remix if opts.valid_remix else RemixSettings(remix_prob=0.0, gain_db=0.0,
                                                               silence_prob=0.0)
    vfolder = "valid_pool" if opts.valid_remix else "valid_pool_own_mix"
    if not prims:
        make = RemixBatches(bank, split_idx["train"], geometry, opts.frames, opts.batch,
                            opts.remix)
        valid = []
        if len(split_idx["valid"]) >= 2:
            vmake = RemixBatches(bank, split_idx["valid"], geometry, opts.frames, opts.batch,
                                 vset)
            valid = fixed_batches(vmake, opts.valid_batches, 10_000 + opts.seed)
        return make, valid
    p_bins = model.primitive_bins
    rank = int(os.environ.get("RANK", "0"))  # one pool per torchrun rank
    pool = PrimitivePool(bank, split_idx["train"], geometry, prims, p_bins, opts.pool_size,
                         opts.pool_seconds, opts.run / ("pool" if rank == 0 else f"pool{rank}"),
                         seed=opts.seed + rank, settings=opts.remix, log=log)
    valid = []
    if len(split_idx["valid"]) >= 2:
        n_valid = opts.valid_batches * opts.batch
        vpool = PrimitivePool(bank, split_idx["valid"], geometry, prims, p_bins, n_valid,
                              opts.pool_seconds, opts.run / vfolder,
                              seed=10_000 + opts.seed, settings=vset, log=log)
        rng = np.random.default_rng(20_000 + opts.seed)
        slots = np.arange(n_valid)
        t0 = rng.integers(0, vpool.n_frames - opts.frames + 1, n_valid)
        valid = [pool_batch(vpool, slots[i:i + opts.batch], t0[i:i + opts.batch], opts.frames)
                 for i in range(0, n_valid, opts.batch)]
    return PoolBatches(pool, opts.frames, opts.batch, opts.pool_refresh), valid


def train_stems(opts: StemTrainOptions, log=print) -> dict:
    """Run (or resume) every stage; returns the model's JSON."""
    import torch

    from models.io import save_model
    from rtsep.config import geometry_for
    from rtsep.io.atomic import write_json_atomic

    from .fit import fit
    from .stem_bank import SR, StemBank

    torch.set_num_threads(max(1, int(opts.threads)))
    run = opts.run
    run.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run / "options.json", json.loads(json.dumps(
        dict(asdict(opts), data=[str(d) for d in opts.data]), default=str)))
    geometry = geometry_for(SR, "default")
    split = split_tracks(opts.data, run)
    log(f"split: {len(split['train'])} train, {len(split['valid'])} validation, "
        f"{len(split['forbidden'])} refused tracks")
    licences = {str(Path(k)): v for k, v in opts.licences.items()}
    for d in opts.data:
        licences.setdefault(str(Path(d)), _folder_licence(Path(d)))
    tracks = split["train"] + split["valid"]
    bank = StemBank.build(tracks, opts.cache_dir or run / "stems", licences, log)
    n_train = len(split["train"])
    split_idx = {"train": np.arange(n_train), "valid": np.arange(n_train, len(tracks))}
    if opts.vocal_variants:
        variants = StemBank.build(split["train"], opts.cache_dir or run / "stems", licences,
                                  log, vocal_variants=opts.vocal_variants)
        extra = [e for e, env in zip(variants.entries, variants.envelopes) if e.variant]
        bank.entries += extra
        bank.envelopes += [env for e, env in zip(variants.entries, variants.envelopes)
                           if e.variant]
        split_idx["train"] = np.concatenate([split_idx["train"],
                                             np.arange(len(tracks), len(bank))])
    model = build_model(opts, geometry)
    if opts.init_from:
        log(init_weights(model, opts.init_from))
    next_batch, valid = batch_sources(opts, bank, split_idx, geometry, model, log)
    log(f"training {model.arch_name} ({sum(p.numel() for p in model.parameters())} "
        f"parameters) on {bank.seconds() / 60:.1f} min of stems, {opts.steps} steps of "
        f"{opts.batch} x {opts.frames} frames")
    history = fit(model, next_batch, steps=opts.steps, lr=opts.lr, dc_weight=opts.dc_weight,
                  dc_frames=opts.dc_frames, seed=opts.seed,
                  checkpoint=run / "checkpoints" / "model",
                  checkpoint_every=opts.checkpoint_every, valid_batches=valid,
                  valid_every=opts.valid_every, workers=opts.workers, compile=opts.compile,
                  loss=opts.loss, floor_db=opts.floor_db, select=opts.select, log=log)
    meta = model_meta(opts, geometry, bank, n_train, len(split["valid"]),
                      len(split["forbidden"]), split_idx["valid"], history)
    return save_model(model, opts.out, meta)


def model_meta(opts: StemTrainOptions, geometry, bank, n_train: int, n_valid: int,
               n_refused: int, valid_idx, history: dict) -> dict:
    """A trained model's JSON (less the weights' hash): recipe, options, split, losses,
    speed, and the data it saw with their licences (training and validation apart)."""
    from .stem_bank import SR, StemBank

    provenance = [dict(p, role="training") for p in
                  StemBank(bank.entries[:n_train], bank.cache_dir, []).provenance()]
    provenance += [dict(p, role="validation (model selection only)") for p in
                   StemBank(bank.entries[n_train:n_train + n_valid], bank.cache_dir,
                            []).provenance()]
    return {
        "sample_rate": SR,
        "stft": {"n_fft": geometry.n_fft, "hop": geometry.hop, "preset": "default"},
        "training": {
            "method": "supervised (real stems)", "recipe": "offline_training.train_stems",
            "loss": f"negative spectral {'SI-SDR' if opts.loss == 'si-sdr' else 'SDR'} of the "
                    "masked mixture (vocals and karaoke) + dc_weight x magnitude-weighted deep "
                    "clustering",
            "options": {k: v for k, v in json.loads(json.dumps(asdict(opts), default=str))
                        .items() if k not in ("data", "out", "run_dir", "cache_dir",
                                              "workers", "threads", "compile")},
            "split": {"train_tracks": n_train, "valid_tracks": n_valid,
                      "refused_tracks": n_refused,
                      "valid_groups": sorted({bank.entries[i].group for i in valid_idx})},
            "history": {k: history[k] for k in ("train", "valid")},
            "audio_seconds_seen": round(history["audio_seconds"], 1),
            "speed_x_real_time": history.get("speed_x_real_time") or round(
                history["audio_seconds"] / max(history["wall_seconds"], 1e-9), 1),
            **({"init_from": _init_record(opts.init_from)} if opts.init_from else {}),
        },
        "provenance": provenance,
        "metrics": {"best_valid": history.get("best_valid_score"),
                    "valid_loss_first": history["valid"][0]["loss"] if history["valid"]
                    else None},
    }


def _init_record(source: str) -> dict:
    """What a run continued from (``--init-from``): the model's name, the digest of its
    weights and its own training record, so a two-stage recipe stays readable from the
    final JSON alone."""
    from models.catalog import resolve
    from models.io import read_meta
    from rtsep.errors import ModelFileError

    try:
        meta = read_meta(resolve(source))
    except ModelFileError as exc:  # the source moved since training: keep what is known
        return {"path": str(source), "error": str(exc)}
    training = meta.get("training") or {}
    return {"name": meta.get("name"), "architecture": meta.get("architecture"),
            "weights_sha256": (meta.get("weights") or {}).get("sha256"),
            "training": {k: training[k] for k in ("method", "recipe", "options", "split",
                                                   "audio_seconds_seen") if k in training},
            "metrics": meta.get("metrics")}


def _folder_licence(folder: Path) -> str:
    """The licence of a data folder from its ``provenance.json``, or the shared data
    README's terms for the two known training sets, else "unknown"."""
    doc = folder / "provenance.json"
    if doc.is_file():
        try:
            return str(json.loads(doc.read_text()).get("licence", "unknown"))
        except (OSError, json.JSONDecodeError):
            pass
    return KNOWN_LICENCES.get(folder.name, "unknown")


KNOWN_LICENCES = {
    "mir1k": "MIR-1K (Hsu and Jang, 2010): research use only (no explicit licence)",
    "musdb7": "MUSDB18 train split (Rafii et al., 2017): research and non-commercial use "
              "(per-track CC BY-NC-SA and similar)",
}
