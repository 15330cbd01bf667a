"""Low-delay STFT: a long analysis window with a short synthesis window.

Shapes: audio is channels-first ``(channels, samples)``; one frame of spectra is
``(channels, bins)``; a spectrogram is ``(channels, bins, frames)``.

Frame ``k`` covers input samples ``[k*hop + hop - n_fft, k*hop + hop - 1]`` (it ends with the
newest hop). The analysis window ``h_a`` rises slowly over ``n_fft - hop`` samples (a square
root of a long Hann half) and falls fast over the last ``hop`` samples (a square root of a short
Hann half), so the frame keeps the frequency resolution of a 2048-point window. The synthesis
window ``h_s`` is non-zero only on the last ``2*hop`` samples, where ``h_a * h_s`` is a periodic
Hann of length ``2*hop``; those overlap-add to exactly one at hop ``hop``. Perfect reconstruction
with a unit mask follows, and the delay is set by the short window only: the samples a frame
finishes are ``[k*hop - hop, k*hop - 1]``.
"""

from __future__ import annotations

import numpy as np

from ..config import StftGeometry


def low_delay_windows(n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Analysis and synthesis windows, each of length ``n_fft``."""
    if n_fft < 2 * hop + 1:
        raise ValueError(f"n_fft ({n_fft}) must exceed twice the hop ({hop})")
    rise = n_fft - hop
    long_hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(2 * rise) / (2 * rise))
    short_hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(2 * hop) / (2 * hop))
    analysis = np.empty(n_fft)
    analysis[:rise] = np.sqrt(long_hann[:rise])
    analysis[rise:] = np.sqrt(short_hann[hop:])
    synthesis = np.zeros(n_fft)
    tail = analysis[n_fft - 2 * hop :]
    with np.errstate(divide="ignore", invalid="ignore"):
        synthesis[n_fft - 2 * hop :] = np.where(tail > 0, short_hann / tail, 0.0)
    return analysis, synthesis


class StreamingSTFT:
    """Hop-by-hop analysis and synthesis with preallocated state.

    ``analysis(hop_samples)`` takes the newest ``(channels, hop)`` samples and returns the
    frame's spectrum ``(channels, bins)``; ``synthesis(spectrum)`` returns the ``(channels, hop)``
    samples that this frame completes, which lag the newest input by ``hop`` samples (plus the
    hop being collected, which the engine accounts for).
    """

    def __init__(self, geometry: StftGeometry, channels: int):
        self.geometry = geometry
        self.channels = int(channels)
        n_fft, hop = geometry.n_fft, geometry.hop
        self.window_analysis, self.window_synthesis = low_delay_windows(n_fft, hop)
        self._tail_synthesis = self.window_synthesis[n_fft - 2 * hop :].copy()
        self._frame = np.zeros((self.channels, n_fft))
        self._windowed = np.zeros((self.channels, n_fft))
        self._ola = np.zeros((self.channels, 2 * hop))
        self._out = np.zeros((self.channels, hop))

    def reset(self) -> None:
        self._frame.fill(0.0)
        self._ola.fill(0.0)

    def analysis(self, hop_samples: np.ndarray) -> np.ndarray:
        hop = self.geometry.hop
        frame = self._frame
        frame[:, :-hop] = frame[:, hop:]
        frame[:, -hop:] = hop_samples
        np.multiply(frame, self.window_analysis, out=self._windowed)
        return np.fft.rfft(self._windowed, axis=-1)

    def synthesis(self, spectrum: np.ndarray) -> np.ndarray:
        """Overlap-add one frame; returns a view valid until the next call."""
        g = self.geometry
        hop = g.hop
        tail = np.fft.irfft(spectrum, n=g.n_fft, axis=-1)[:, g.n_fft - 2 * hop :]
        tail *= self._tail_synthesis
        ola = self._ola
        ola += tail
        self._out[:] = ola[:, :hop]
        ola[:, :hop] = ola[:, hop:]
        ola[:, hop:] = 0.0
        return self._out


def stft_offline(x: np.ndarray, geometry: StftGeometry) -> np.ndarray:
    """Spectrogram of a whole signal with the streaming frame positions.

    Shape: ``x`` is ``(channels, samples)``; the result is ``(channels, bins, frames)`` with
    ``frames = ceil(samples / hop) + 1``, frame ``k`` ending at sample ``k*hop + hop - 1``.
    """
    n_fft, hop = geometry.n_fft, geometry.hop
    analysis, _ = low_delay_windows(n_fft, hop)
    channels, n = x.shape
    n_frames = -(-n // hop) + 1
    padded = np.zeros((channels, n_fft - hop + n_frames * hop))
    padded[:, n_fft - hop : n_fft - hop + n] = x
    idx = np.arange(n_frames)[:, None] * hop + np.arange(n_fft)[None, :]
    frames = padded[:, idx] * analysis  # (channels, frames, n_fft)
    return np.fft.rfft(frames, axis=-1).transpose(0, 2, 1)


def istft_offline(spec: np.ndarray, geometry: StftGeometry, length: int) -> np.ndarray:
    """Inverse of ``stft_offline``: undelayed output aligned with the input samples.

    Shape: ``spec`` is ``(channels, bins, frames)``; the result is ``(channels, length)``.
    """
    n_fft, hop = geometry.n_fft, geometry.hop
    _, synthesis = low_delay_windows(n_fft, hop)
    tail_window = synthesis[n_fft - 2 * hop :]
    channels, _, n_frames = spec.shape
    tails = np.fft.irfft(spec.transpose(0, 2, 1), n=n_fft, axis=-1)[..., n_fft - 2 * hop :]
    tails = tails * tail_window
    # frame k writes samples [k*hop - hop, k*hop + hop - 1]; shift by one hop to stay >= 0
    out = np.zeros((channels, (n_frames + 1) * hop))
    for k in range(n_frames):
        out[:, k * hop : k * hop + 2 * hop] += tails[:, k]
    return out[:, hop : hop + length]
