"""Student stage of bootstrapping: the teacher's kept estimates (and any real stems) in the
fast training pipeline.

The kept segments' source pairs (``sources/KEY.{vocals,accompaniment}.npy``, the teacher's
vocals and the mixture minus them) become a ``StemBank``; remixes of them are transformed in
batches at the engine's geometry, so the targets are the teacher's masks re-analysed there
(paper 000 §3.2: vocals of one segment over the accompaniment of another). With ``labelled``
folders, their real stems join the same bank: a remix may then pair a teacher's vocals with a
real accompaniment or the other way round, and the loss is measured against the sum that was
actually mixed, so teacher targets and true targets share one objective. Validation: the
labelled folders' validation split when there is one (``offline_training.splits``), else
fixed remixes of kept segments.

With labelled folders the weights kept are those of the best median vocal SNR on the held-out
tracks' own mixes (``offline_training.fit``), as in ``train-stems``.

Training is ``offline_training.fit`` (resumable, distributed under torchrun).
"""

from __future__ import annotations

import numpy as np


def build_bank(opts, kept: list, log):
    """(bank, {"train": indices, "valid": indices}, labelled split or None)."""
    from .stem_bank import StemBank
    from .train_stems import _folder_licence, split_tracks

    keys = [s["key"] for s in kept]
    licences = {s["key"]: s["licence"] for s in kept}
    teacher = StemBank.from_segments(opts.run / "sources", keys, licences=licences,
                                     group="teacher")
    if not opts.labelled:
        idx = np.arange(len(teacher))
        return teacher, {"train": idx, "valid": np.array([], dtype=np.int64)}, None
    split = split_tracks(opts.labelled, opts.run)
    lic = {str(d): _folder_licence(d) for d in map(__import__("pathlib").Path, opts.labelled)}
    labelled = StemBank.build(split["train"] + split["valid"],
                              opts.stem_cache or opts.run / "stems", lic, log)
    bank = StemBank.merge([teacher, labelled])
    n_t, n_tr = len(teacher), len(split["train"])
    return bank, {"train": np.arange(n_t + n_tr),
                  "valid": np.arange(n_t + n_tr, len(bank))}, split


def train_student(opts, kept: list, geometry, log):
    """Train the student; returns (model, history, bank, labelled split)."""
    import torch

    from .batches import RemixBatches, fixed_batches
    from .fit import fit
    from .remixer import RemixSettings
    from .train_stems import StemTrainOptions, batch_sources, build_model
    from .trainer import build_student, init_distributed

    rank, world = init_distributed()
    torch.set_num_threads(max(1, opts.threads))
    bank, idx, split = build_bank(opts, kept, log)
    # the paper's remixes: always another segment's accompaniment, SNR within a few dB
    remix = RemixSettings(remix_prob=1.0 if not opts.labelled else 0.7, gain_db=2.5)
    frames = max(8, int(round(opts.crop_s * geometry.sr / geometry.hop)))
    stem_opts = StemTrainOptions(
        data=[], out=str(opts.out), run_dir=str(opts.run), arch=opts.arch, size=opts.size,
        primitives=tuple(opts.primitives), steps=opts.steps, batch=opts.batch, frames=frames,
        lr=opts.lr, dc_weight=opts.dc_weight, seed=opts.seed, pool_size=opts.pool_size,
        remix=remix, valid_remix=not opts.labelled)
    if opts.arch in ("gru", "tcn") and opts.size in ("student",):
        model = build_student(opts.arch, opts.size, geometry.n_bins, opts.seed)
    else:
        model = build_model(stem_opts, geometry)
    if len(idx["valid"]) >= 2 or getattr(model, "input_primitives", ()):
        next_batch, valid = batch_sources(stem_opts, bank, idx, geometry, model, log)
    else:
        next_batch = RemixBatches(bank, idx["train"], geometry, frames, opts.batch, remix)
        valid = fixed_batches(next_batch, 2, 10_000 + opts.seed)
    history = fit(model, next_batch, steps=opts.steps, lr=opts.lr, dc_weight=opts.dc_weight,
                  seed=opts.seed, checkpoint=opts.run / "checkpoints" / "student",
                  checkpoint_every=opts.checkpoint_every, valid_batches=valid,
                  valid_every=opts.checkpoint_every, workers=opts.workers,
                  compile=opts.compile and world == 1,
                  # real stems: keep the weights that do best on the held-out tracks' own
                  # mixes; teacher estimates only: the lowest loss on their remixes
                  select="median_vocal_snr" if len(idx["valid"]) >= 2 else "loss", log=log)
    history["world_size"] = world
    return model, history, bank, split
