"""Losses of score-supervised training (paper 002), for one vocal mask.

Notation, per example: ``X`` the mixture magnitude ``(bins, frames)``, ``m`` the separator's
vocal mask, ``V = m X`` the vocals, ``A = (1 - m) X`` the karaoke, ``T`` the transcriptor (the
critic; ``models.transcriptor``), ``Y`` the score's vocal salience target, ``H`` the comb of
the score's f0s at the engine's geometry (``kernels.harmonic.harmonic_mask``, the score cue's
kernel). All losses are batch means.

- Transcription loss ``L_tr``: ``T(V)`` must give the score's vocal notes and no
  accompaniment, ``T(A)`` no vocal notes (binary cross-entropy on every pitch row and pooled
  frame). The paper's multi-instrument transcriptor compares each separated source with its
  own part of the score; here the parts are the voice (scored) and the accompaniment (known to
  be absent from the vocals, unscored in the karaoke).
- Mixture loss: the paper asks the separated sources to sum to the mixture. With one mask
  and karaoke = mixture - vocals this holds exactly, so the plain loss is zero; its masked
  forms are not:
  - clip-level ``L_c``: only sources active in the clip count. In a clip where the score has
    no vocal note the accompaniment alone must explain the mixture:
    ``sum(V) / sum(X)``;
  - harmonic ``L_h``: only the harmonic positions of the score's notes count, where the voice
    is assumed to hold the energy: the share of the mixture's energy there that the vocals
    leave out, ``sum(H (X - V)) / sum(H X)``.
- Fine-tuning (step 3), the transcriptor trains too, against the separator:
  - ATL: the transcriptor learns to find the score's vocal notes in the karaoke (notes of a
    competing part in a separated source); the separator keeps ``L_tr``'s "no vocal notes in
    the karaoke";
  - AML: synthetic mixtures ``V_a + A_b`` of separated sources of two different clips; the
    transcriptor learns to transcribe both clips' vocal notes there (the errors: voice of
    ``b`` left in its karaoke, or voice of ``a`` missing), the separator wants only ``a``'s.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from kernels.harmonic import harmonic_mask
from models.transcriptor import midi_to_hz, pool_score, vocal_target

LOSS_NAMES = ("tr", "clip", "harm")


def bce(logits: torch.Tensor, target) -> torch.Tensor:
    if not torch.is_tensor(target):
        target = torch.full_like(logits, float(target))
    return F.binary_cross_entropy_with_logits(logits, target)


def score_batch(f0: np.ndarray, geometry, pool: int, harmonic: bool = True) -> dict:
    """Targets from a batch of scores ``f0`` ``(batch, frames)`` (MIDI, 0 = silent):
    ``y`` vocal salience ``(batch, N_PITCH, frames // pool)``, ``active`` ``(batch,)`` 1 where
    the clip has a vocal note, and (with ``harmonic``) ``H`` ``(batch, bins, frames)``."""
    out = {"y": torch.from_numpy(vocal_target(pool_score(f0, pool))),
           "active": torch.from_numpy((f0 > 0).any(axis=1).astype(np.float32))}
    if harmonic:
        hz = np.where(f0 > 0, midi_to_hz(f0), 0.0)
        out["H"] = torch.from_numpy(np.stack([
            harmonic_mask(row, geometry.sr / geometry.n_fft, geometry.n_bins)
            for row in hz]).astype(np.float32))
    return out


def reference_scale(mag: torch.Tensor) -> torch.Tensor:
    """Per-example mean magnitude ``(batch,)``: every estimate is judged at its level in the
    mixture it came from."""
    return mag.mean(dim=(1, 2)).clamp_min(1e-8)


def transcription_loss(transcriptor, mag, mask, y, ref) -> torch.Tensor:
    """``L_tr`` (see the module docstring); one call of the transcriptor on both estimates."""
    b = mag.shape[0]
    voc, acc = transcriptor(torch.cat([mask * mag, (1.0 - mask) * mag]), torch.cat([ref, ref]))
    return bce(voc[:b], y) + bce(acc[:b], 0.0) + bce(voc[b:], 0.0)


def clip_loss(mag, mask, active) -> torch.Tensor:
    """``L_c``: vocal energy in clips that the score says are instrumental."""
    share = (mask * mag).sum(dim=(1, 2)) / mag.sum(dim=(1, 2)).clamp_min(1e-8)
    return ((1.0 - active) * share).mean()


def harmonic_loss(mag, mask, H) -> torch.Tensor:
    """``L_h``: share of the mixture's energy at the score's harmonics left out of the vocals."""
    num = (H * (1.0 - mask) * mag).sum(dim=(1, 2))
    den = (H * mag).sum(dim=(1, 2))
    return torch.where(den > 0, num / den.clamp_min(1e-8), torch.zeros_like(num)).mean()


def separator_losses(transcriptor, mag, mask, targets, losses) -> dict:
    """The step-2 terms named in ``losses`` (``LOSS_NAMES``) as a dict of scalars."""
    out = {}
    ref = reference_scale(mag)
    if "tr" in losses:
        out["tr"] = transcription_loss(transcriptor, mag, mask, targets["y"], ref)
    if "clip" in losses:
        out["clip"] = clip_loss(mag, mask, targets["active"])
    if "harm" in losses:
        out["harm"] = harmonic_loss(mag, mask, targets["H"])
    return out


def synthetic_mixtures(mag, mask):
    """``(V_a + A_b, b)``: vocals of each clip over the karaoke of the next one in the batch."""
    b = torch.roll(torch.arange(mag.shape[0]), 1)
    return mask * mag + ((1.0 - mask) * mag)[b], b


def union(y_a: torch.Tensor, y_b: torch.Tensor) -> torch.Tensor:
    return torch.maximum(y_a, y_b)


def adversarial_separator_loss(kind: str, transcriptor, mag, mask, y) -> torch.Tensor:
    """The separator's side of AML (ATL's is ``L_tr``'s karaoke term, already in step 2):
    the synthetic mixture must transcribe to the notes of the clip its vocals came from."""
    if kind != "aml":
        return mag.new_zeros(())
    mix, _ = synthetic_mixtures(mag, mask)
    voc, _ = transcriptor(mix, reference_scale(mix.detach()))
    return bce(voc, y)


def adversarial_inputs(kind: str, mag, mask, y) -> tuple:
    """The transcriptor's side of fine-tuning, as ``(inputs, refs, targets)`` for one call:
    ATL, find the vocal notes in the (detached) vocals and karaoke alike; AML, find both clips'
    vocal notes in the synthetic mixtures."""
    mask = mask.detach()
    if kind == "atl":
        ref = reference_scale(mag)
        return (torch.cat([mask * mag, (1.0 - mask) * mag]), torch.cat([ref, ref]),
                torch.cat([y, y]))
    if kind == "aml":
        mix, b = synthetic_mixtures(mag, mask)
        return mix, reference_scale(mix), union(y, y[b])
    raise ValueError(f"unknown adversarial loss {kind!r}; use atl or aml")
