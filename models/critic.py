"""Wasserstein critics on magnitude-spectrogram excerpts (paper 001: one critic per source).

A critic scores an excerpt of one source's magnitude spectrogram: high for real solo
recordings, low for what the separator produced from a mixture. Trained with a gradient
penalty (WGAN-GP, ``offline_training.wgan``), the gap between its mean scores on the two is an
estimate of the Wasserstein-1 distance between the distributions, which the separator then
lowers.

What the critic sees (``SpectrogramCritic.features``): the bins below ``max_hz`` only (MIR-1K's
solo vocals are 16 kHz recordings, so above 8 kHz "real" vocals would be silent and the critic
would learn the recording rate, not the voice), divided by a fixed ``scale`` (the typical
magnitude of the training mixtures, a buffer saved with the weights) and log-compressed. The
level is kept on purpose: a separator that leaves a quiet residue where a source is silent
should look different from a silent solo recording. The training recipe scales every
recording to the levels of the labelled songs, so level is not a trivial cue. The gradient
penalty and the Lipschitz bound live in this feature space.

The network is DCGAN-like without normalisation layers (a batch statistic would couple the
examples the gradient penalty treats one by one): strided 3x3 convolutions with leaky ReLUs,
then the mean over time and frequency and one linear unit, so any excerpt length works.

Shapes: magnitudes ``(batch, bins, frames)``; features ``(batch, critic_bins, frames)``;
scores ``(batch,)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CRITIC_SIZES = {
    "tiny": dict(channels=(4, 8), kernel=3),
    "small": dict(channels=(8, 16, 32), kernel=3),  # ~6k weights; the penalty's double
    # backward through the convolutions is the costliest part of a CPU training step
}
DEFAULT_MAX_HZ = 8000.0


def critic_bins(n_fft: int, sr: int, max_hz: float = DEFAULT_MAX_HZ) -> int:
    """Number of STFT bins at or below ``max_hz`` (all of them if ``max_hz`` >= Nyquist)."""
    return min(n_fft // 2 + 1, int(max_hz / (sr / n_fft)) + 1)


def critic_features(mag: torch.Tensor, n_bins: int, scale: float | torch.Tensor
                    ) -> torch.Tensor:
    """``log1p(|X| / scale)`` on the first ``n_bins`` bins.

    Shape: mag (batch, bins, frames) -> (batch, n_bins, frames). Differentiable, so the
    separator's estimate gets the critic's gradient through it.
    """
    return torch.log1p(mag[:, :n_bins].clamp_min(0.0) / scale)


class SpectrogramCritic(nn.Module):
    """Scores feature excerpts ``(batch, n_bins, frames)`` -> ``(batch,)``, unbounded reals.

    Args:
        n_bins: feature bins (``critic_bins``).
        channels: output channels of each stride-2 convolution.
        kernel: square kernel size.
        max_hz: the frequency limit the features were cut at (kept in ``config`` only).
        scale: magnitude that maps to log1p(1) (a buffer: set it before training).
    """

    def __init__(self, n_bins: int, channels=(8, 16, 32), kernel: int = 3,
                 max_hz: float = DEFAULT_MAX_HZ, scale: float = 1.0):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if int(n_bins) < 1 or not channels or min(channels) < 1 or int(kernel) < 1:
            raise ValueError(f"bad critic shape: n_bins {n_bins}, channels {channels}, "
                             f"kernel {kernel}")
        self.n_bins = int(n_bins)
        self._config = dict(n_bins=self.n_bins, channels=list(channels), kernel=int(kernel),
                            max_hz=float(max_hz))
        layers, c_in = [], 1
        for c_out in channels:
            layers.append(nn.Conv2d(c_in, c_out, int(kernel), stride=2, padding=int(kernel) // 2))
            c_in = c_out
        self.convs = nn.ModuleList(layers)
        self.out = nn.Linear(c_in, 1)
        self.register_buffer("scale", torch.tensor(float(scale)))

    def features(self, mag: torch.Tensor) -> torch.Tensor:
        """Magnitudes (batch, bins >= n_bins, frames) -> this critic's input."""
        return critic_features(mag, self.n_bins, self.scale)

    @property
    def config(self) -> dict:
        return dict(self._config)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[1] != self.n_bins:
            raise ValueError(f"critic expects {self.n_bins} bins, got {features.shape[1]}")
        h = features.unsqueeze(1)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        return self.out(h.mean(dim=(2, 3)))[:, 0]


def create_critic(size: str, n_bins: int, seed: int = 0, max_hz: float = DEFAULT_MAX_HZ,
                  scale: float = 1.0) -> SpectrogramCritic:
    """A fresh critic of a named size (``CRITIC_SIZES``), weights drawn from ``seed``."""
    try:
        args = CRITIC_SIZES[size]
    except KeyError:
        raise ValueError(f"no critic size {size!r}; sizes: {sorted(CRITIC_SIZES)}") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SpectrogramCritic(n_bins, max_hz=max_hz, scale=scale, **args)
