"""The engine's low-delay STFT for whole training batches at once, and the training targets.

``rtsep.core.stft.stft_offline`` frames a signal so that frame ``k`` ends at sample
``k*hop + hop - 1`` (``n_fft - hop`` zeros before the first sample); ``frames`` here takes every
``n_fft`` window starting at multiples of ``hop`` of whatever it is given, so a caller who
prepends those zeros gets exactly ``stft_offline``'s frames (tests compare them). Training crops
skip the padding and use whole windows only.

The transforms run in float32 through ``scipy.fft`` (pocketfft), about twice as fast as
``torch.fft`` on this CPU, and only channels that differ are transformed: a pair of mono
stems (most of MIR-1K) costs one channel, not two. The targets are then reduced to real
per-bin sums, so no complex tensor reaches the loss.

Shapes: audio ``(batch, channels, samples)``; spectra ``(batch, channels, bins, frames)``; the
magnitude the engine feeds its candidates is the mean over channels of ``|X|``,
``(batch, bins, frames)``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import torch
from numpy.lib.stride_tricks import sliding_window_view

_WINDOWS: dict = {}


def analysis_window(geometry) -> np.ndarray:
    """The engine's analysis window ``(n_fft,)`` float32 (``rtsep.core.stft.low_delay_windows``)."""
    key = (geometry.n_fft, geometry.hop)
    if key not in _WINDOWS:
        from rtsep.core.stft import low_delay_windows

        _WINDOWS[key] = low_delay_windows(*key)[0].astype(np.float32)
    return _WINDOWS[key]


def frames_tf(x: np.ndarray, geometry) -> np.ndarray:
    """Spectra of every whole window of ``x`` ``(..., samples)``, frames first:
    ``(..., frames, bins)`` complex64, frame ``j`` covering samples
    ``j*hop .. j*hop + n_fft - 1`` (the layout the transform produces; no copy)."""
    view = sliding_window_view(np.asarray(x, dtype=np.float32), geometry.n_fft, axis=-1)
    framed = view[..., ::geometry.hop, :] * analysis_window(geometry)
    return scipy.fft.rfft(framed, axis=-1, overwrite_x=True)


def frames(x: np.ndarray, geometry) -> np.ndarray:
    """``frames_tf`` in the project's layout, ``(..., bins, frames)`` (a view)."""
    return np.swapaxes(frames_tf(x, geometry), -1, -2)


def crop_samples(n_frames: int, geometry) -> int:
    """Samples that give exactly ``n_frames`` whole windows."""
    return (int(n_frames) - 1) * geometry.hop + geometry.n_fft


def _reduce(v: np.ndarray, a: np.ndarray) -> dict:
    """Per-bin sums over the channels of the spectra ``v``, ``a`` ``(n, channels, frames,
    bins)``: the arrays ``targets`` returns, as numpy (frames first)."""
    x = v + a
    mv, ma, mx = np.abs(v), np.abs(a), np.abs(x)
    out = {"mag": mx.mean(axis=1), "xx": (mx * mx).sum(axis=1),
           "vx": (v.real * x.real + v.imag * x.imag).sum(axis=1), "vv": (mv * mv).sum(axis=1)}
    mv, ma = mv.mean(axis=1), ma.mean(axis=1)
    out["assign"] = (mv > ma).astype(np.float32)
    out["irm"] = mv / np.maximum(mv + ma, 1e-8)
    return out


def targets(vocals: np.ndarray, accompaniment: np.ndarray, geometry, stereo=None) -> dict:
    """Training tensors for the mixtures ``vocals + accompaniment`` ``(batch, 2, samples)``.

    ``stereo`` (bool per example; default: channels compared) says where the two channels
    differ; elsewhere one channel is transformed and stands for both (the loss is a ratio per
    example, so the factor of two does not matter). Returns torch float32 tensors
    ``(batch, bins, frames)``: ``mag`` (the engine's magnitude of the mixture),
    ``xx`` = sum_c |X_c|^2, ``vx`` = sum_c Re(V_c conj X_c), ``vv`` = sum_c |V_c|^2 (what the
    spectral SDR of a mask needs), ``assign`` (1 where the vocals' engine magnitude exceeds
    the accompaniment's) and ``irm`` (their ratio mask).
    """
    if stereo is None:
        stereo = ~(np.all(vocals[:, 0] == vocals[:, 1], axis=-1)
                   & np.all(accompaniment[:, 0] == accompaniment[:, 1], axis=-1))
    stereo = np.asarray(stereo, dtype=bool)
    parts = []
    for rows, chans in ((np.flatnonzero(~stereo), slice(0, 1)),
                        (np.flatnonzero(stereo), slice(0, 2))):
        if rows.size:
            spec = frames_tf(np.stack([vocals[rows, chans], accompaniment[rows, chans]]),
                             geometry)
            parts.append((rows, _reduce(spec[0], spec[1])))
    out = {}
    for key in parts[0][1]:
        # computed frames-first (the transform's layout, and the model's inside); handed out
        # as (batch, bins, frames) views of that memory
        arr = np.empty((vocals.shape[0],) + parts[0][1][key].shape[1:], dtype=np.float32)
        for rows, res in parts:
            arr[rows] = res[key]
        out[key] = torch.from_numpy(arr).transpose(1, 2)
    return out


def spectral_sdr_loss(mask: torch.Tensor, batch: dict, floor_db: float = -30.0,
                      scale_invariant: bool = False) -> torch.Tensor:
    """Negative signal-to-distortion ratio (dB) of the masked mixture, per example, averaged.

    The error of the vocals ``mask X - V`` is also the error of the karaoke
    ``(1 - mask) X - (X - V)``, so this one term serves both outputs; its energy is
    sum (mask^2 xx - 2 mask vx + vv). It is measured relative to the example's vocals and
    accompaniment energies, floored at ``floor_db`` below their sum, so quiet and loud
    examples weigh alike and silent vocals are safe. Shapes: mask and the batch's
    ``xx``/``vx``/``vv`` ``(batch, bins, frames)``.

    ``scale_invariant``: SI-SDR instead, each output against its own best-scaled reference
    (alpha V with alpha = <mask X, V> / |V|^2, likewise for the karaoke), so a level error of
    the whole crop is not counted; BSS Eval's distortion filter forgives that too.
    """
    xx, vx, vv = batch["xx"], batch["vx"], batch["vv"]
    if scale_invariant:
        return _si_loss(mask, xx, vx, vv, floor_db)
    err = (mask * (mask * xx - 2.0 * vx) + vv).sum(dim=(1, 2)).clamp_min(0.0)
    ref_v = vv.sum(dim=(1, 2))
    ref_a = (xx - 2.0 * vx + vv).sum(dim=(1, 2)).clamp_min(0.0)
    floor = 10.0 ** (floor_db / 10.0) * (ref_v + ref_a) + 1e-10
    sdr_v = 10.0 * torch.log10((ref_v + floor) / (err + floor))
    sdr_a = 10.0 * torch.log10((ref_a + floor) / (err + floor))
    return -0.5 * (sdr_v + sdr_a).mean()


def _si_loss(mask, xx, vx, vv, floor_db: float) -> torch.Tensor:
    """Negative SI-SDR of the vocals and of the karaoke, averaged (see spectral_sdr_loss)."""
    dims = (1, 2)
    aa = (xx - 2.0 * vx + vv).clamp_min(0.0)  # |X - V|^2 = |A|^2
    ax = xx - vx  # Re(X conj(A))
    keep = 1.0 - mask
    floor = 10.0 ** (floor_db / 10.0) * (vv.sum(dims) + aa.sum(dims)) + 1e-10
    out = []
    for m, cross, ref, own in ((mask, vx, vv, None), (keep, ax, aa, None)):
        ref_e = ref.sum(dims)
        alpha = (m * cross).sum(dims) / (ref_e + floor)
        a = alpha[:, None, None]
        err = (m * (m * xx - 2.0 * a * cross) + a * a * ref).sum(dims).clamp_min(0.0)
        target = alpha * alpha * ref_e
        out.append(10.0 * torch.log10((target + floor) / (err + floor)))
    return -0.5 * (out[0] + out[1]).mean()
