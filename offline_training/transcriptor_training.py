"""Step 1 of score-supervised training: the transcriptor, trained on labelled stems.

Examples are crops of the engine's STFT of (a) a vocal stem alone (MIR-1K clips with
``pitch.pv``, rendered songs with ``vocals.mid``), (b) a rendered song's accompaniment alone
(its notes from ``song.mid``), or (c) a rendered song's vocals over its accompaniment at a
random level (-12 to +6 dB), so that the critic also knows the partly separated, partly mixed
inputs it will judge. Targets: the vocal salience (``models.transcriptor.vocal_target``) where
the voice is in the input, the accompaniment roll where the accompaniment is. MIR-1K's
accompaniment stems carry no labels and are not used.

Accuracy (``pitch_scores``): raw pitch accuracy and voicing recall as mir_eval defines them
(``mir_eval.melody.raw_pitch_accuracy`` / ``voicing_recall``: over the frames the reference
calls voiced, the share whose estimated pitch, voiced or not, lies within 50 cents, and the
share the estimate calls voiced), on the transcriptor's 23 ms frames; tests cross-check them
against mir_eval.
"""

from __future__ import annotations

import numpy as np

from models.transcriptor import (
    N_ACC_PITCH,
    PITCH_LO,
    decode,
    pool_score,
    vocal_target,
)

from .score_data import CropSampler, FeatureCache, spectra
from .scores import accompaniment_roll

MIX_DB = (-12.0, 6.0)  # vocals re accompaniment in the mixed examples
REF_DB = 6.0  # random level of the input relative to its reference scale


def transcriptor_batch(sampler: CropSampler, batch: int, geometry, pool: int,
                       rng: np.random.Generator) -> dict:
    """One batch: ``mag`` ``(B, bins, frames)``, ``ref`` ``(B,)``, ``y_voc``
    ``(B, N_PITCH, frames // pool)``, ``y_acc`` ``(B, N_ACC, frames // pool)`` (torch)."""
    import torch

    picks = sampler.draw(batch)
    cache = sampler.cache
    V = spectra(sampler.audio(picks, "voc", geometry), geometry)
    A = spectra(sampler.audio(picks, "acc", geometry), geometry)
    f0 = sampler.f0(picks)
    tp = sampler.n_frames // pool
    mags, refs, y_voc, y_acc = [], [], [], []
    frame_s = geometry.hop / geometry.sr
    for row, (i, k0) in enumerate(picks):
        notes = cache.acc_notes(i)
        gv, ga = 1.0, 0.0
        if notes is not None:  # a rendered song: its accompaniment is scored too
            u = rng.random()
            gv, ga = (1.0, 0.0) if u < 0.3 else (0.0, 1.0) if u < 0.5 else (
                10.0 ** (rng.uniform(*MIX_DB) / 20.0), 1.0)
            ref = np.abs(V[row] + A[row]).mean()
        else:  # vocals alone, as if heard in a mixture 0-10 dB louder
            ref = np.abs(V[row]).mean() * 10.0 ** (rng.uniform(0.0, 10.0) / 20.0)
        mags.append(np.abs(gv * V[row] + ga * A[row]))
        refs.append(max(float(ref), 1e-6) * 10.0 ** (rng.uniform(-REF_DB, REF_DB) / 20.0))
        y_voc.append(vocal_target(pool_score(f0[row], pool)) * (gv > 0))
        if ga > 0:
            start = (k0 + (pool - 1) / 2.0) * frame_s
            y_acc.append(accompaniment_roll(notes, start, tp, pool * frame_s, PITCH_LO,
                                            N_ACC_PITCH))
        else:
            y_acc.append(np.zeros((N_ACC_PITCH + 1, tp), dtype=np.float32))
    return {"mag": torch.from_numpy(np.stack(mags).astype(np.float32)),
            "ref": torch.tensor(refs, dtype=torch.float32),
            "y_voc": torch.from_numpy(np.stack(y_voc)),
            "y_acc": torch.from_numpy(np.stack(y_acc))}


def transcriptor_loss(model, batch: dict):
    from .score_losses import bce

    voc, acc = model(batch["mag"], batch["ref"])
    return bce(voc, batch["y_voc"]) + bce(acc, batch["y_acc"])


# --- accuracy --------------------------------------------------------------------------------

def raw_pitch_accuracy(ref_f0, est_f0, cent_tolerance: float = 50.0) -> float:
    """mir_eval's raw pitch accuracy on one frame grid: of the frames with a reference pitch
    (MIDI > 0), the share whose estimated pitch (MIDI > 0, voiced or not) is within
    ``cent_tolerance`` cents (strictly)."""
    ref, est = np.asarray(ref_f0, float), np.asarray(est_f0, float)
    voiced = ref > 0
    if not voiced.any():
        return float("nan")
    ok = voiced & (est > 0) & (np.abs(100.0 * (est - ref)) < cent_tolerance)
    return float(ok.sum() / voiced.sum())


def voicing_recall(ref_f0, est_voiced) -> float:
    """mir_eval's voicing recall: of the reference's voiced frames, the share called voiced."""
    voiced = np.asarray(ref_f0, float) > 0
    if not voiced.any():
        return float("nan")
    return float((voiced & np.asarray(est_voiced, bool)).sum() / voiced.sum())


def voicing_false_alarm(ref_f0, est_voiced) -> float:
    unvoiced = np.asarray(ref_f0, float) <= 0
    if not unvoiced.any():
        return float("nan")
    return float((unvoiced & np.asarray(est_voiced, bool)).sum() / unvoiced.sum())


def transcribe(model, mag: np.ndarray, ref: float) -> tuple[np.ndarray, np.ndarray]:
    """``(f0 MIDI, voiced)`` per pooled frame of a magnitude spectrogram ``(bins, frames)``."""
    import torch

    with torch.inference_mode():
        voc, _ = model(torch.from_numpy(mag[None].astype(np.float32)),
                       torch.tensor([max(float(ref), 1e-8)]))
    return decode(voc[0].numpy())


def pitch_scores(model, cache: FeatureCache, geometry, source: str = "voc",
                 max_tracks: int | None = None) -> dict:
    """Mean over tracks of raw pitch accuracy, voicing recall and voicing false alarm of the
    transcriptor on the whole ``source`` audio (``voc``: the vocal stem alone; ``mix``: the
    mixture) of the tracks of ``cache`` (held-out tracks; up to ``max_tracks``, evenly
    spaced), at its pooled frames."""
    from rtsep.core.stft import stft_offline

    pool = model.pool
    rows = []
    n = len(cache) if max_tracks is None else min(max_tracks, len(cache))
    for i in np.unique(np.linspace(0, len(cache) - 1, n).astype(int)) if n else []:
        i = int(i)
        x = np.asarray(cache.audio(i, source), dtype=np.float64)
        mag = np.abs(stft_offline(x[None], geometry)[0])
        est, voiced = transcribe(model, mag, mag.mean())
        ref = pool_score(cache.f0(i)[: mag.shape[1]], pool)[: len(est)]
        rows.append((raw_pitch_accuracy(ref, est), voicing_recall(ref, voiced),
                     voicing_false_alarm(ref, voiced)))
    arr = np.array(rows, dtype=float)
    if not len(arr):
        return {}
    return {"tracks": len(arr),
            "raw_pitch_accuracy": round(float(np.nanmean(arr[:, 0])), 4),
            "voicing_recall": round(float(np.nanmean(arr[:, 1])), 4),
            "voicing_false_alarm": round(float(np.nanmean(arr[:, 2])), 4)}
