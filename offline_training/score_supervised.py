"""Score-supervised training (paper 002): a separator learnt from mixtures and their scores.

    python -m offline_training score-supervised DATA... --out models/weights/NAME
    torchrun --nproc_per_node 2 -m offline_training score-supervised DATA... --out ...

DATA are folders of scored tracks (``offline_training.score_data``): the rendered corpus
(exact MIDI) and MIR-1K clips (``pitch.pv``; mixture = the sum of the clip's two stems).
Stages, each resumed from the run folder (``--run-dir``, default ``OUT.run``):

1. features  audio cached as mono float16 at 44.1 kHz, scores at the engine's frames
   (``features/``, or ``--cache-dir`` shared between runs);
2. transcriptor  the critic, trained on the labelled stems (``transcriptor.{json,safetensors}``
   with its held-out pitch accuracy), unless ``--transcriptor`` gives a trained one;
3. separator  a causal model from ``models/`` trained from the mixtures and scores only, with
   the transcription loss and the clip-level and harmonic-masked mixture losses (``--losses``);
4. finetune  optional: separator and transcriptor together with ATL or AML (``--finetune``).

Rank 0 writes the model pair at ``--out``; its JSON records the method, losses, transcriptor,
data with licences and validation metrics (SI-SDR on held-out tracks: MIR-1K singers
``VALIDATION_SINGERS`` and any ``--valid`` folder). ``--objective supervised`` trains the same
separator on the true stems instead: the ablation's reference, not a score-supervised model.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .score_data import VALIDATION_SINGERS, mir1k_singer
from .score_steps import Weights

OBJECTIVES = ("score", "supervised")
FINETUNES = ("none", "atl", "aml")


@dataclass
class ScoreOptions:
    data: list
    out: str
    run_dir: str | None = None
    cache_dir: str | None = None
    valid: list = field(default_factory=list)
    valid_singers: tuple = VALIDATION_SINGERS
    licences: dict = field(default_factory=dict)  # data folder -> licence text
    objective: str = "score"
    losses: tuple = ("tr", "clip", "harm")
    transcriptor: str | None = None
    transcriptor_steps: int = 600
    transcriptor_channels: int = 8
    arch: str = "gru"
    size: str = "student"
    init: str | None = None
    steps: int = 600
    finetune: str = "none"
    finetune_steps: int = 0
    batch: int = 8
    seg_frames: int = 128
    lr: float = 1e-3
    finetune_lr: float = 3e-4
    weights: Weights = field(default_factory=Weights)
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 50
    valid_tracks: int = 24

    @property
    def run(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(str(self.out) + ".run")

    def check(self) -> None:
        from rtsep.errors import ConfigError

        from .score_losses import LOSS_NAMES

        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {self.objective!r}; use score or supervised")
        if self.finetune not in FINETUNES:
            raise ConfigError(f"unknown fine-tuning {self.finetune!r}; use none, atl or aml")
        bad = [x for x in self.losses if x not in LOSS_NAMES]
        if bad or (self.objective == "score" and not self.losses):
            raise ConfigError(f"losses must be some of {', '.join(LOSS_NAMES)}, got "
                              f"{','.join(self.losses) or 'none'}")
        if self.objective == "supervised" and self.finetune != "none":
            raise ConfigError("fine-tuning with ATL/AML needs the score objective")
        if self.seg_frames < 16 or self.seg_frames % 4:
            raise ConfigError(f"--seg-frames must be a multiple of 4, at least 16; got "
                              f"{self.seg_frames}")


def _log_to(run: Path, rank: int, echo):
    def log(text: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} [rank {rank}] {text}"
        with open(run / f"log.rank{rank}.txt", "a") as fh:
            fh.write(line + "\n")
        if rank == 0:
            echo(line)
    return log


def _split(tracks, valid_singers) -> tuple[list, list]:
    held = {s.lower() for s in valid_singers}
    train = [t for t in tracks if mir1k_singer(t.name) not in held]
    return train, [t for t in tracks if mir1k_singer(t.name) in held]


def _features(opts: ScoreOptions, geometry, rank: int, log):
    """(train cache for the separator, train cache with stems or None, held-out cache)."""
    from .score_data import FeatureCache, default_dev_dirs, scored_tracks
    from .trainer import barrier

    tracks = scored_tracks(opts.data)
    train, held = _split(tracks, opts.valid_singers)
    held += scored_tracks(opts.valid) if opts.valid else []
    cache_dir = Path(opts.cache_dir) if opts.cache_dir else opts.run / "features"
    dev = default_dev_dirs()
    need_stems = opts.objective == "supervised" or opts.transcriptor is None \
        or opts.finetune != "none"

    def build():
        kw = dict(geometry=geometry, dev_dirs=dev, licences=opts.licences, log=log)
        stems = FeatureCache.build(train, cache_dir, stems=True, **kw) if need_stems else None
        if stems is not None:  # the same entries; the score objective's view cannot read stems
            sep = FeatureCache(stems.root, stems.entries, stems=opts.objective == "supervised")
        else:
            sep = FeatureCache.build(train, cache_dir, stems=False, **kw)
        valid = FeatureCache.build(held, cache_dir, stems=True, **kw) if held else None
        return sep, stems, valid

    if rank == 0:
        build()
    barrier()
    sep, stems, valid = build()  # every entry is cached now: this only reads descriptions
    log(f"features: {len(sep)} training tracks ({sep.seconds() / 60:.1f} min), "
        f"{len(valid) if valid else 0} held out")
    return sep, stems, valid


def _transcriptor(opts: ScoreOptions, geometry, stems, valid, rank, world, log):
    import torch

    from models.transcriptor import VocalTranscriptor, load_transcriptor, save_transcriptor

    from .score_data import CropSampler
    from .score_steps import Stage, run_stage, transcriptor_step
    from .trainer import barrier
    from .transcriptor_training import pitch_scores

    if opts.transcriptor:
        model, _ = load_transcriptor(opts.transcriptor)
        return model, str(opts.transcriptor)
    path = opts.run / "transcriptor"
    if not Path(str(path) + ".json").is_file():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(opts.seed)
            model = VocalTranscriptor(geometry.n_bins, geometry.sr, geometry.n_fft,
                                      channels=opts.transcriptor_channels)
        stage = Stage("transcriptor", {"transcriptor": model},
                      {"transcriptor": torch.optim.Adam(model.parameters(), lr=2e-3)},
                      opts.run / "checkpoints" / "transcriptor")
        sampler = CropSampler(stems, opts.seg_frames, np.random.default_rng(0))
        started = time.perf_counter()
        history = run_stage(stage, opts.transcriptor_steps,
                            transcriptor_step(stage, sampler, opts.batch, geometry, model.pool),
                            seed=opts.seed, rank=rank, world=world,
                            checkpoint_every=opts.checkpoint_every, log=log,
                            label="transcriptor")
        if rank == 0:
            metrics = {}
            if valid is not None:
                metrics["held_out_vocals"] = pitch_scores(model, valid, geometry, "voc",
                                                             opts.valid_tracks)
                metrics["held_out_mixtures"] = pitch_scores(model, valid, geometry, "mix",
                                                               opts.valid_tracks)
                metrics["held_out_sources"] = sorted({e.group for e in valid.entries})
            log(f"transcriptor: {metrics}")
            save_transcriptor(model, path, {
                "training": {"recipe": "offline_training.transcriptor_training",
                             "steps": opts.transcriptor_steps, "batch": opts.batch,
                             "world_size": world, "seg_frames": opts.seg_frames,
                             "seconds": round(time.perf_counter() - started, 1),
                             "loss_last": _mean_last(history, "loss")},
                "provenance": stems.provenance(), "metrics": metrics})
        barrier()
    model, _ = load_transcriptor(path)
    return model, str(path)


def _mean_last(history, key, n=20):
    vals = [h[key] for h in history[-n:] if key in h]
    return round(float(np.mean(vals)), 5) if vals else None


def _separator(opts, geometry, sep_cache, stems, transcriptor, rank, world, log):
    """Steps 2 and 3; returns (model, histories)."""
    import torch

    from models.io import load_model

    from .score_data import CropSampler
    from .score_steps import Stage, run_stage, separator_step
    from .trainer import build_student

    if opts.init:
        model, _ = load_model(opts.init, expect_n_bins=geometry.n_bins)
    else:
        model = build_student(opts.arch, opts.size, geometry.n_bins, opts.seed)
    sampler = CropSampler(sep_cache, opts.seg_frames, np.random.default_rng(0))
    histories = {}
    if opts.steps > 0:
        stage = Stage("separator", {"separator": model},
                      {"separator": torch.optim.Adam(model.parameters(), lr=opts.lr)},
                      opts.run / "checkpoints" / "separator")
        histories["separator"] = run_stage(
            stage, opts.steps, separator_step(
                stage, sampler, opts.batch, geometry, objective=opts.objective,
                losses=opts.losses, weights=opts.weights, transcriptor=transcriptor),
            seed=opts.seed, rank=rank, world=world, checkpoint_every=opts.checkpoint_every,
            log=log, label=f"separator ({opts.objective}: {'+'.join(opts.losses)})")
    if opts.finetune != "none" and opts.finetune_steps > 0:
        stage = Stage(f"finetune-{opts.finetune}",
                      {"separator": model, "transcriptor": transcriptor},
                      {"separator": torch.optim.Adam(model.parameters(), lr=opts.finetune_lr),
                       "transcriptor": torch.optim.Adam(transcriptor.parameters(),
                                                        lr=opts.finetune_lr)},
                      opts.run / "checkpoints" / f"finetune-{opts.finetune}")
        anchor = CropSampler(stems, opts.seg_frames, np.random.default_rng(1))
        histories["finetune"] = run_stage(
            stage, opts.finetune_steps, separator_step(
                stage, sampler, opts.batch, geometry, objective="score", losses=opts.losses,
                weights=opts.weights, transcriptor=transcriptor, finetune=opts.finetune,
                anchor=anchor),
            seed=opts.seed, rank=rank, world=world, checkpoint_every=opts.checkpoint_every,
            log=log, label=f"fine-tune ({opts.finetune.upper()})")
    return model, histories


def validation_scores(model, cache, geometry, max_tracks: int = 24) -> dict:
    """Mean SI-SDR (dB) of the vocals and of the mixture over up to ``max_tracks`` held-out
    tracks (evenly spaced), the model run offline over each whole track (the same as
    streaming it: ``forward`` equals frame-by-frame ``step``)."""
    import torch

    from rtsep.core.stft import istft_offline, stft_offline
    from rtsep.evaluation.metrics import si_sdr

    idx = np.unique(np.linspace(0, len(cache) - 1, min(max_tracks, len(cache))).astype(int))
    est, base = [], []
    for i in idx:
        mix = np.asarray(cache.audio(int(i), "mix"), dtype=np.float64)[None]
        voc = np.asarray(cache.audio(int(i), "voc"), dtype=np.float64)[None]
        if not np.any(voc):
            continue
        spec = stft_offline(mix, geometry)
        with torch.inference_mode():
            mask, _ = model(torch.from_numpy(np.abs(spec)).float())
        est.append(si_sdr(istft_offline(spec * mask.numpy(), geometry, mix.shape[1]), voc))
        base.append(si_sdr(mix, voc))
    if not est:
        return {}
    return {"valid_tracks": len(est), "valid_si_sdr_vocals_db": round(float(np.mean(est)), 3),
            "valid_si_sdr_mixture_db": round(float(np.mean(base)), 3),
            "valid_si_sdri_db": round(float(np.mean(est) - np.mean(base)), 3)}


def _method(opts: ScoreOptions) -> dict:
    if opts.objective == "supervised":
        return {"method": "supervised",
                "loss": "sqrt-magnitude-weighted IRM MSE on the true stems + dc x deep "
                        "clustering (true vocal dominance): the reference of the paper-002 "
                        "ablation"}
    names = {"tr": "transcription loss", "clip": "clip-level masked mixture loss",
             "harm": "harmonic-masked mixture loss"}
    return {"method": "score-supervised",
            "paper": "Hung, Wichern, Le Roux, ICASSP 2021 (paper 002)",
            "losses": [names[x] for x in opts.losses],
            "finetune": {"none": None, "atl": "adversarial transcription loss (ATL)",
                         "aml": "adversarial mixture loss (AML)"}[opts.finetune],
            "supervision": "mixtures and their vocal scores only; no stem reaches the "
                           "separator"}


def run_score_supervised(opts: ScoreOptions, echo=print) -> dict | None:
    """Run (or resume) every stage; the model JSON on rank 0, None on other ranks."""
    import torch

    from models.io import save_model
    from rtsep.config import geometry_for

    from .trainer import barrier, count_parameters, init_distributed

    opts.check()
    rank, world = init_distributed()
    torch.set_num_threads(max(1, opts.threads))
    opts.run.mkdir(parents=True, exist_ok=True)
    log = _log_to(opts.run, rank, echo)
    if rank == 0:
        (opts.run / "options.json").write_text(json.dumps(asdict(opts), indent=2, default=str))
    geometry = geometry_for(44100, "default")
    started = time.perf_counter()
    sep_cache, stems, valid = _features(opts, geometry, rank, log)
    transcriptor, t_path = None, None
    if opts.objective == "score":
        transcriptor, t_path = _transcriptor(opts, geometry, stems, valid, rank, world, log)
    model, histories = _separator(opts, geometry, sep_cache, stems, transcriptor, rank,
                                  world, log)
    barrier()
    if rank != 0:
        return None
    metrics = validation_scores(model, valid, geometry, opts.valid_tracks) if valid else {}
    if valid:
        metrics["valid_sources"] = sorted({e.group for e in valid.entries})
    log(f"validation: {metrics}")
    if opts.finetune != "none" and opts.finetune_steps > 0:
        from models.transcriptor import save_transcriptor

        save_transcriptor(transcriptor, opts.run / f"transcriptor-{opts.finetune}",
                          {"training": {"finetuned_from": t_path, "with": opts.finetune}})
    training = dict(_method(opts), recipe="offline_training.score_supervised",
                    transcriptor=t_path, arch=opts.arch, size=opts.size,
                    parameters=count_parameters(model), init=opts.init,
                    steps=opts.steps, finetune_steps=opts.finetune_steps, batch=opts.batch,
                    seg_frames=opts.seg_frames, lr=opts.lr, finetune_lr=opts.finetune_lr,
                    weights=asdict(opts.weights), seed=opts.seed, world_size=world,
                    seconds=round(time.perf_counter() - started, 1),
                    loss_last={k: {t: _mean_last(h, t) for t in (h[-1] if h else {})}
                               for k, h in histories.items()})
    provenance = [dict(p, role="separator: mixtures and scores" if opts.objective == "score"
                       else "separator: true stems") for p in sep_cache.provenance()]
    if t_path and Path(t_path + ".json").is_file():
        doc = json.loads(Path(t_path + ".json").read_text())
        training["transcriptor_metrics"] = doc.get("metrics", {})
        provenance += [dict(p, role="transcriptor (the critic): labelled vocal and "
                            "accompaniment stems") for p in doc.get("provenance", [])]
    meta = {"sample_rate": geometry.sr,
            "stft": {"n_fft": geometry.n_fft, "hop": geometry.hop, "preset": "default"},
            "training": training, "provenance": provenance, "metrics": metrics}
    return save_model(model, opts.out, meta)
