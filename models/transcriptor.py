"""A small vocal transcriptor: frame-wise pitch activations from a magnitude spectrogram.

It is the critic of score-supervised training (paper 002): a separator is trained so that the
transcriptor, run on what it separated, finds the score's vocal notes in the vocals and nothing
of the accompaniment there. So it transcribes two parts, like the paper's multi-instrument
transcriptor: the vocal melody and the accompaniment.

Input: magnitudes at the engine's STFT geometry ``(batch, bins, frames)`` and a reference
scale per example ``(batch,)`` (the mean magnitude of the mixture the input was separated from;
estimates are judged at their level in that mixture). Frames are averaged ``pool`` at a time
(4 x 5.8 ms = 23 ms at the default preset; pitch labels are 20 ms anyway), sampled on a log-
frequency axis of quarter semitones (triangular filters), compressed (log1p), and stacked at
the harmonics 0.5, 1, 2, 3, 4, 5 of every pitch candidate (a harmonic CQT, as in deep-salience
pitch trackers), then three small 2-D convolutions over (pitch, time) give:

- ``vocal``: logits ``(batch, N_PITCH, frames // pool)``, salience of each quarter semitone
  from MIDI ``PITCH_LO`` (36, C2) to ``PITCH_HI`` (96, C7);
- ``accompaniment``: logits ``(batch, N_ACC, frames // pool)``: rows 0..59 the semitones
  MIDI 36..95 sounding in any accompaniment part, row 60 "a drum was hit" (within 0.1 s).

Not causal (a critic works offline; time context +-3 pooled frames). Weights are small (about
9k parameters); files are ``NAME.safetensors`` + ``NAME.json`` (``save_transcriptor``), kept
apart from separators (``models/weights/transcriptors/``) so the engine never mistakes one for a
separator.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rtsep.errors import ModelFileError
from rtsep.io.atomic import atomic_write

PITCH_LO, PITCH_HI = 36, 96
BINS_PER_SEMITONE = 4
N_PITCH = (PITCH_HI - PITCH_LO) * BINS_PER_SEMITONE + 1  # 241 quarter semitones
N_ACC_PITCH = PITCH_HI - PITCH_LO  # 60 semitones, MIDI 36..95
N_ACC = N_ACC_PITCH + 1  # + drums
HARMONICS = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
FORMAT = "rtsep-transcriptor"
FORMAT_VERSION = 1


def midi_to_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def _shifts() -> list[int]:
    return [int(round(12 * BINS_PER_SEMITONE * math.log2(h))) for h in HARMONICS]


def log_filterbank(n_bins: int, bin_hz: float) -> tuple[np.ndarray, int]:
    """``(n_log, n_used)`` triangular filters from the first ``n_used`` STFT bins to the log axis
    that the harmonic stack reads (quarter semitones from half of ``PITCH_LO`` to five times
    ``PITCH_HI``), and ``offset``: the log bin of ``PITCH_LO``. Each filter spans at least one
    STFT bin either side, so low notes interpolate and high ones average; rows sum to one."""
    shifts = _shifts()
    lo, hi = min(shifts), max(shifts)
    n_log = N_PITCH + hi - lo
    midi = PITCH_LO + (np.arange(n_log) + lo) / BINS_PER_SEMITONE
    centre = midi_to_hz(midi) / bin_hz
    half = np.maximum(1.0, centre * (2.0 ** (1.0 / (12 * BINS_PER_SEMITONE)) - 1.0))
    n_used = int(min(n_bins, math.ceil(centre[-1] + half[-1]) + 1))
    f = np.arange(n_used, dtype=np.float64)
    w = np.maximum(0.0, 1.0 - np.abs(f[None, :] - centre[:, None]) / half[:, None])
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    return w.astype(np.float32), -lo


class VocalTranscriptor(nn.Module):
    """See the module docstring. Shape: ``forward(mag (B, bins, T), ref (B,))`` ->
    ``(vocal (B, N_PITCH, T // pool), accompaniment (B, N_ACC, T // pool))`` logits."""

    arch_name = "VocalTranscriptor"

    def __init__(self, n_bins: int, sr: int, n_fft: int, channels: int = 8, pool: int = 4,
                 gain: float = 10.0):
        super().__init__()
        if int(n_bins) != int(n_fft) // 2 + 1:
            raise ValueError(f"n_fft {n_fft} gives {int(n_fft) // 2 + 1} bins, not {n_bins}")
        if int(channels) < 1 or int(pool) < 1 or not gain > 0:
            raise ValueError("channels and pool must be positive integers, gain positive")
        self._config = dict(n_bins=int(n_bins), sr=int(sr), n_fft=int(n_fft),
                            channels=int(channels), pool=int(pool), gain=float(gain))
        self.pool, self.gain = int(pool), float(gain)
        fb, self.offset = log_filterbank(int(n_bins), sr / n_fft)
        # Fixed, rebuilt from the config: not part of the weights file.
        self.register_buffer("filterbank", torch.from_numpy(fb), persistent=False)
        self.shifts = _shifts()
        c = int(channels)
        self.conv1 = nn.Conv2d(len(HARMONICS), c, (5, 3), padding=(2, 1))
        self.conv2 = nn.Conv2d(c, c, (5, 3), padding=(2, 2), dilation=(1, 2))
        # one octave either side: tells a note from its octave neighbours
        octave = 12 * BINS_PER_SEMITONE
        self.conv3 = nn.Conv2d(c, c, (3, 1), padding=(octave, 0), dilation=(octave, 1))
        self.vocal_head = nn.Conv2d(c, 1, 1)
        self.acc_head = nn.Conv2d(c, 1, (BINS_PER_SEMITONE, 1), stride=(BINS_PER_SEMITONE, 1))
        self.drum_head = nn.Conv1d(c, 1, 1)

    @property
    def config(self) -> dict:
        return dict(self._config)

    def features(self, mag: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """Harmonic stack ``(B, len(HARMONICS), N_PITCH, T // pool)``."""
        b, n_bins, t = mag.shape
        if n_bins != self._config["n_bins"]:
            raise ValueError(f"transcriptor expects {self._config['n_bins']} bins, got {n_bins}")
        tp = t // self.pool
        x = mag[:, : self.filterbank.shape[1], : tp * self.pool]
        x = x.reshape(b, -1, tp, self.pool).mean(-1)
        logf = torch.einsum("lf,bft->blt", self.filterbank, x)
        z = torch.log1p(self.gain * logf / ref.reshape(b, 1, 1).clamp_min(1e-8))
        return torch.stack([z[:, self.offset + s: self.offset + s + N_PITCH] for s in self.shifts],
                           dim=1)

    def forward(self, mag: torch.Tensor, ref: torch.Tensor):
        h = F.relu(self.conv1(self.features(mag, ref)))
        h = F.relu(self.conv2(h)) + h
        h = F.relu(self.conv3(h)) + h
        vocal = self.vocal_head(h)[:, 0]
        acc = self.acc_head(h[:, :, : N_ACC_PITCH * BINS_PER_SEMITONE])[:, 0]
        drums = self.drum_head(h.mean(dim=2))
        return vocal, torch.cat([acc, drums], dim=1)


# --- targets and decoding ---------------------------------------------------------------------

def pool_score(f0_midi: np.ndarray, pool: int) -> np.ndarray:
    """Per-frame f0 ``(..., T)`` (MIDI, 0 = silent) -> per pooled frame ``(..., T // pool)``: the
    mean of the voiced frames where at least half of the ``pool`` frames are voiced, else 0."""
    f0 = np.asarray(f0_midi, dtype=np.float64)
    tp = f0.shape[-1] // pool
    blocks = f0[..., : tp * pool].reshape(*f0.shape[:-1], tp, pool)
    voiced = blocks > 0
    n = voiced.sum(-1)
    mean = np.where(voiced, blocks, 0.0).sum(-1) / np.maximum(n, 1)
    return np.where(2 * n >= pool, mean, 0.0)


def vocal_target(f0_midi: np.ndarray, sigma_bins: float = 1.0) -> np.ndarray:
    """Salience target ``(..., N_PITCH, T)`` for pooled f0s ``(..., T)``: a Gaussian of
    ``sigma_bins`` quarter semitones (peak 1) around each voiced f0, 0 in silent frames."""
    f0 = np.asarray(f0_midi, dtype=np.float64)
    pos = (f0 - PITCH_LO) * BINS_PER_SEMITONE
    grid = np.arange(N_PITCH, dtype=np.float64)
    d = grid.reshape((1,) * (f0.ndim - 1) + (N_PITCH, 1)) - pos[..., None, :]
    out = np.exp(-0.5 * (d / sigma_bins) ** 2)
    return (out * (f0 > 0)[..., None, :]).astype(np.float32)


def decode(vocal_logits: np.ndarray, threshold: float = 0.5
           ) -> tuple[np.ndarray, np.ndarray]:
    """``(f0 MIDI (T,), voiced (T,))`` from logits ``(N_PITCH, T)``: the salience-weighted mean
    pitch of the +-2 quarter semitones around the peak (a guess is given for every frame, as
    mir_eval's raw pitch accuracy expects), voiced where the peak probability passes
    ``threshold``."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(vocal_logits, dtype=np.float64)))
    best = p.argmax(axis=0)
    idx = np.clip(best[None, :] + np.arange(-2, 3)[:, None], 0, N_PITCH - 1)
    w = np.take_along_axis(p, idx, axis=0)
    pos = (w * idx).sum(0) / np.maximum(w.sum(0), 1e-12)
    return PITCH_LO + pos / BINS_PER_SEMITONE, p.max(axis=0) >= threshold


# --- files ------------------------------------------------------------------------------------

def save_transcriptor(model: VocalTranscriptor, path_stem, meta: dict) -> dict:
    """Write ``STEM.safetensors`` + ``STEM.json`` atomically; ``meta`` adds ``training``,
    ``provenance``, ``metrics``. Returns the JSON written."""
    from safetensors.torch import save_file

    from .io import sha256_file

    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = stem.with_name(stem.name + ".safetensors")
    atomic_write(weights, lambda tmp: save_file(tensors, tmp))
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": stem.name,
           "architecture": type(model).__name__, "arguments": model.config,
           "pitch_range_midi": [PITCH_LO, PITCH_HI], "bins_per_semitone": BINS_PER_SEMITONE,
           "training": dict(meta.get("training", {})),
           "provenance": list(meta.get("provenance", [])),
           "metrics": dict(meta.get("metrics", {})),
           "weights": {"file": weights.name, "sha256": sha256_file(weights)}}
    text = json.dumps(doc, indent=2) + "\n"
    atomic_write(stem.with_name(stem.name + ".json"), lambda tmp: Path(tmp).write_text(text))
    return doc


def load_transcriptor(path) -> tuple[VocalTranscriptor, dict]:
    """``(model in eval mode, meta)`` from ``STEM``, ``STEM.json`` or ``STEM.safetensors``;
    ``ModelFileError`` (one line) when the files are missing, damaged or do not match."""
    import hashlib

    from .io import _load_state, _read_tensors

    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".safetensors") else p
    json_path = stem.with_name(stem.name + ".json")
    try:
        doc = json.loads(json_path.read_text())
        if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
            raise ValueError("not a transcriptor of this format version")
        weights = stem.parent / doc["weights"]["file"]
        args = dict(doc["arguments"])
    except FileNotFoundError:
        raise ModelFileError(f"transcriptor description {json_path} is missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{json_path} does not describe a transcriptor ({exc})") from None
    if not weights.is_file():
        raise ModelFileError(f"transcriptor weights {weights} are missing")
    try:  # one read: the bytes hashed are the bytes loaded (models.io.load_model does the same)
        data = weights.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read {weights}: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != doc["weights"].get("sha256"):
        raise ModelFileError(f"{weights} does not match the sha256 in its JSON")
    try:
        model = VocalTranscriptor(**args)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{json_path}: cannot build the transcriptor ({exc})") from None
    _load_state(model, _read_tensors(data, weights), weights)
    return model.eval(), doc
