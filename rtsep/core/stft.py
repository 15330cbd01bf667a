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


def shift_left(buf: np.ndarray, by: int, keep: int) -> None:
    """``buf[..., :keep] = buf[..., by:by + keep]`` without the temporary copy numpy makes
    when the two overlap: piecewise, front to back, in pieces that do not overlap."""
    for start in range(0, keep, by):
        stop = min(start + by, keep)
        buf[..., start:stop] = buf[..., start + by : stop + by]


class StreamingSTFT:
    """Hop-by-hop analysis and synthesis with preallocated state.

    ``analysis(hop_samples)`` takes the newest ``(channels, hop)`` samples and returns the
    frame's spectrum ``(channels, bins)``; ``synthesis(spectrum)`` returns the ``(channels, hop)``
    samples that this frame completes, which lag the newest input by ``hop`` samples (plus the
    hop being collected, which the engine accounts for).

    ``analysis_many`` and ``synthesis_many`` do the same for up to ``max_frames`` consecutive
    hops in one call: the frames, windows and FFTs are those of single hops (numpy's FFT
    transforms each row on its own), and the overlap-add carries its half-frame exactly, so
    the result is bit for bit that of single calls, which are the one-frame case.
    """

    def __init__(self, geometry: StftGeometry, channels: int, max_frames: int = 1):
        self.geometry = geometry
        self.channels = int(channels)
        self.max_frames = int(max_frames)
        n_fft, hop = geometry.n_fft, geometry.hop
        C, F = self.channels, self.max_frames
        self.window_analysis, self.window_synthesis = low_delay_windows(n_fft, hop)
        self._tail_synthesis = self.window_synthesis[n_fft - 2 * hop :].copy()
        self._keep = n_fft - hop  # input samples a new frame shares with the previous ones
        self._buf = np.zeros((C, self._keep + F * hop))
        self._windowed = np.zeros((C, F, n_fft))
        self._spec = np.zeros((C, F, geometry.n_bins), dtype=complex)
        self._full = np.zeros((C, F, n_fft))
        self._carried = np.zeros((C, F, hop))
        self._out = np.zeros((C, F, hop))
        self._ola = np.zeros((C, hop))  # second half of the last frame's tail, not yet out

    def reset(self) -> None:
        self._buf.fill(0.0)
        self._ola.fill(0.0)

    def analysis(self, hop_samples: np.ndarray) -> np.ndarray:
        """Spectrum ``(channels, bins)`` of the frame ending with ``hop_samples``."""
        return self.analysis_many(hop_samples)[:, 0]

    def synthesis(self, spectrum: np.ndarray) -> np.ndarray:
        """Overlap-add one frame; returns a view valid until the next call."""
        return self.synthesis_many(spectrum[:, None])

    def analysis_many(self, hops: np.ndarray) -> np.ndarray:
        """Spectra ``(channels, B, bins)`` of the B frames ending with each hop of ``hops``
        ``(channels, B * hop)``; a view valid until the next call."""
        hop, keep = self.geometry.hop, self._keep
        B = hops.shape[1] // hop
        if B * hop != hops.shape[1] or not 1 <= B <= self.max_frames:
            raise ValueError(f"expected 1 to {self.max_frames} whole hops of {hop}, "
                             f"got {hops.shape[1]} samples")
        buf = self._buf
        buf[:, keep : keep + B * hop] = hops
        frames = np.lib.stride_tricks.sliding_window_view(
            buf[:, : keep + B * hop], self.geometry.n_fft, axis=-1)[:, ::hop]
        windowed = self._windowed[:, :B]
        np.multiply(frames, self.window_analysis, out=windowed)
        spec = self._spec[:, :B]
        np.fft.rfft(windowed, axis=-1, out=spec)
        shift_left(buf, B * hop, keep)
        return spec

    def synthesis_many(self, spectra: np.ndarray) -> np.ndarray:
        """Overlap-add B frames ``(channels, B, bins)``; returns the ``(channels, B * hop)``
        samples they complete, a view valid until the next call."""
        g = self.geometry
        hop, n_fft = g.hop, g.n_fft
        B = spectra.shape[1]
        full = self._full[:, :B]
        np.fft.irfft(spectra, n=n_fft, axis=-1, out=full)
        tails = full[:, :, n_fft - 2 * hop :]
        tails *= self._tail_synthesis
        # Hop b's output = the second half of frame b-1's tail (once added to zeros, as a
        # running overlap-add buffer does) + the first half of frame b's tail.
        carried = self._carried[:, :B]
        carried[:, 0] = self._ola
        np.add(tails[:, : B - 1, hop:], 0.0, out=carried[:, 1:])
        np.add(tails[:, B - 1, hop:], 0.0, out=self._ola)
        out = self._out[:, :B]
        np.add(carried, tails[:, :, :hop], out=out)
        return out.reshape(self.channels, B * hop)


# Frames transformed per step by the whole-signal functions: their working memory is this
# many frames, not the whole signal's (channels, frames, n_fft).
OFFLINE_CHUNK_FRAMES = 512


def stft_offline(x: np.ndarray, geometry: StftGeometry) -> np.ndarray:
    """Spectrogram of a whole signal with the streaming frame positions.

    Shape: ``x`` is ``(channels, samples)``; the result is ``(channels, bins, frames)`` with
    ``frames = ceil(samples / hop) + 1``, frame ``k`` ending at sample ``k*hop + hop - 1``.
    Frames are windowed and transformed ``OFFLINE_CHUNK_FRAMES`` at a time, so the memory
    needed beyond the result is that of one chunk.
    """
    n_fft, hop = geometry.n_fft, geometry.hop
    analysis, _ = low_delay_windows(n_fft, hop)
    channels, n = x.shape
    n_frames = -(-n // hop) + 1
    padded = np.zeros((channels, n_fft - hop + n_frames * hop))
    padded[:, n_fft - hop : n_fft - hop + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]
    out = np.empty((channels, geometry.n_bins, n_frames), dtype=complex)
    for k0 in range(0, n_frames, OFFLINE_CHUNK_FRAMES):
        k1 = min(k0 + OFFLINE_CHUNK_FRAMES, n_frames)
        chunk = frames[:, k0:k1] * analysis  # (channels, chunk, n_fft)
        out[:, :, k0:k1] = np.fft.rfft(chunk, axis=-1).transpose(0, 2, 1)
    return out


def istft_offline(spec: np.ndarray, geometry: StftGeometry, length: int) -> np.ndarray:
    """Inverse of ``stft_offline``: undelayed output aligned with the input samples.

    Shape: ``spec`` is ``(channels, bins, frames)``; the result is ``(channels, length)``.
    Frames are inverted ``OFFLINE_CHUNK_FRAMES`` at a time.
    """
    n_fft, hop = geometry.n_fft, geometry.hop
    _, synthesis = low_delay_windows(n_fft, hop)
    tail_window = synthesis[n_fft - 2 * hop :]
    channels, _, n_frames = spec.shape
    # frame k writes samples [k*hop - hop, k*hop + hop - 1]; shift by one hop to stay >= 0
    out = np.zeros((channels, (n_frames + 1) * hop))
    for k0 in range(0, n_frames, OFFLINE_CHUNK_FRAMES):
        k1 = min(k0 + OFFLINE_CHUNK_FRAMES, n_frames)
        chunk = spec[:, :, k0:k1].transpose(0, 2, 1)
        tails = np.fft.irfft(chunk, n=n_fft, axis=-1)[..., n_fft - 2 * hop :] * tail_window
        for k in range(k0, k1):
            out[:, k * hop : k * hop + 2 * hop] += tails[:, k - k0]
    return out[:, hop : hop + length]
