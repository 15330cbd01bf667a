"""The low-delay STFT: perfect reconstruction, streaming equals offline, window design."""

import numpy as np
import pytest

from rtsep.config import geometry_for
from rtsep.core.stft import (
    StreamingSTFT,
    istft_offline,
    low_delay_windows,
    stft_offline,
)

CASES = [(8000, "default"), (22050, "low-latency"), (44100, "default"), (44100, "low-latency"),
         (48000, "default"), (96000, "low-latency")]


@pytest.mark.parametrize("sr,preset", CASES)
def test_offline_round_trip_is_exact(sr, preset):
    g = geometry_for(sr, preset)
    x = np.random.default_rng(sr).standard_normal((3, 3 * g.n_fft + 17))
    y = istft_offline(stft_offline(x, g), g, x.shape[1])
    np.testing.assert_allclose(y, x, atol=1e-12)


@pytest.mark.parametrize("sr,preset", CASES)
def test_streaming_frames_match_offline_and_reconstruct(sr, preset):
    g = geometry_for(sr, preset)
    rng = np.random.default_rng(1)
    n_hops = 4 * g.n_fft // g.hop
    x = rng.standard_normal((2, n_hops * g.hop))
    offline = stft_offline(x, g)
    s = StreamingSTFT(g, 2)
    outs = []
    for k in range(n_hops):
        X = s.analysis(x[:, k * g.hop : (k + 1) * g.hop])
        np.testing.assert_allclose(X, offline[:, :, k], atol=1e-9)
        outs.append(s.synthesis(X).copy())
    y = np.concatenate(outs, axis=1)
    # frame k completes samples [k*hop - hop, k*hop - 1]: the streamed output lags by one hop
    np.testing.assert_allclose(y[:, g.hop :], x[:, : -g.hop], atol=1e-12)


def test_window_product_is_cola_hann_on_the_synthesis_span():
    n_fft, hop = 2048, 256
    a, s = low_delay_windows(n_fft, hop)
    assert np.all(s[: n_fft - 2 * hop] == 0)
    prod = (a * s)[n_fft - 2 * hop :]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(2 * hop) / (2 * hop))
    np.testing.assert_allclose(prod, hann, atol=1e-12)
    np.testing.assert_allclose(prod[:hop] + prod[hop:], 1.0, atol=1e-12)
    # the analysis window keeps a long main lobe: most of its energy is in the long rise
    assert np.sum(a[: n_fft - hop] ** 2) > 0.8 * np.sum(a**2)


@pytest.mark.parametrize("sr,preset,limit_ms", [(44100, "default", 12.0),
                                                (44100, "low-latency", 6.0),
                                                (48000, "default", 12.0),
                                                (96000, "low-latency", 6.0),
                                                (8000, "default", 12.0)])
def test_declared_latency_meets_the_budget(sr, preset, limit_ms):
    g = geometry_for(sr, preset)
    assert g.latency_ms <= limit_ms
    assert g.n_fft >= int(2048 * sr / 44100) - 2
