"""Teacher stage of bootstrapping: offline primitive clustering with the whole segment as context
(paper 000 §2-3.1), its source estimates and its confidence.

The same numba kernels as the engine's causal primitives, given non-causal context:

- REPET-SIM: ``kernels.repet.repet_step`` with the whole segment in its history ring. The ring
  holds the segment's frames in order plus ``min_dist`` empty slots; for frame t the "next slot"
  is t and the fill count is the segment length, so the kernel sees every frame at least
  ``min_dist`` frames away on *either* side (future frames appear as the oldest ages). Empty
  slots have similarity 0 and a threshold just above 0 keeps them out.
- HPSS: ``kernels.medians.time_median_step`` is a running median of the last L frames; read L//2
  frames later it is the centred median. The long "stable" median is taken the same way (on
  every ``stable_every``-th frame, as in the engine), then ``freq_median`` and ``hpss_combine``.
- Pitch: the engine's ``Pitch`` primitive frame by frame (its only memory is a continuity bonus),
  then the voicing is median-smoothed over a centred window, which removes isolated voicing
  flips that a causal tracker must keep.

Clustering is ``kernels.clustering.cluster_mask`` (Eq. 1) per frame and the confidence is
``kernels.confidence.silhouette`` x ``posterior_strength`` on up to N = 1000 points drawn from
the loudest 1 % of the segment's time-frequency bins (§3.1).

Shapes: ``x`` ``(samples,)`` mono; masks ``(bins, frames)``; embedding ``(bins, frames, D)``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from kernels.clustering import cluster_mask
from kernels.confidence import posterior_strength, silhouette
from kernels.hpss import hpss_combine
from kernels.medians import freq_median, time_median_step
from kernels.repet import band_edges, compress_frame, repet_step
from rtsep.config import DEFAULT_PRIMITIVES, DEFAULT_WEIGHTS, StftGeometry, geometry_for
from rtsep.core.stft import istft_offline, stft_offline
from rtsep.primitives import Hpss, Pitch, RepetSim

LOUDEST_FRACTION = 0.01


def _engine_default(cls, name: str):
    """The default of the engine primitive's constructor argument ``name``."""
    return inspect.signature(cls).parameters[name].default


@dataclass
class TeacherSettings:
    """Everything that decides the teacher's output (recorded in the model's provenance).

    The teacher is the engine's primitive clustering given the whole segment as context, so
    every setting defaults to the engine's own (the primitives' constructor defaults and
    ``DEFAULT_WEIGHTS``); only the context differs. ``weights=None`` means the engine's.
    """

    primitives: tuple = DEFAULT_PRIMITIVES
    weights: tuple | None = None
    beta: float = 5.0
    n_points: int = 1000
    repet_n_bands: int = _engine_default(RepetSim, "n_bands")
    repet_min_dist_s: float = _engine_default(RepetSim, "min_dist_s")
    repet_max_k: int = _engine_default(RepetSim, "max_k")
    hpss_harm_s: float = _engine_default(Hpss, "harm_s")
    hpss_stable_s: float = _engine_default(Hpss, "stable_s")
    hpss_stable_len: int = _engine_default(Hpss, "stable_len")
    hpss_perc_hz: float = _engine_default(Hpss, "perc_hz")
    hpss_power: float = _engine_default(Hpss, "power")
    # The one setting the engine lacks: a causal tracker must keep isolated voicing flips; with
    # the whole segment in view they are median-filtered away.
    pitch_voicing_smooth_s: float = 0.1
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass
class TeacherResult:
    mask: np.ndarray  # (bins, frames) vocal posterior
    embedding: np.ndarray  # (bins, frames, D) primitive masks
    confidence: float
    silhouette: float
    posterior_strength: float
    vocals: np.ndarray  # (samples,) teacher's vocal estimate
    accompaniment: np.ndarray  # (samples,) mixture minus the vocal estimate


def _frames(geometry: StftGeometry, seconds: float) -> int:
    return max(1, int(round(seconds * geometry.sr / geometry.hop)))


def repet_offline(mag: np.ndarray, geometry: StftGeometry, s: TeacherSettings) -> np.ndarray:
    """Whole-segment REPET-SIM vocal mask ``(bins, frames)`` of ``mag`` ``(bins, frames)``."""
    n_bins, n_frames = mag.shape
    min_dist = _frames(geometry, s.repet_min_dist_s)
    edges = band_edges(n_bins, s.repet_n_bands)
    n_slots = n_frames + min_dist
    hist_mag = np.zeros((n_slots, n_bins))
    hist_comp = np.zeros((n_slots, edges.shape[0] - 1))
    hist_mag[:n_frames] = mag.T
    for t in range(n_frames):
        compress_frame(hist_mag[t], edges, hist_comp[t])
    sims = np.zeros(n_slots)
    chosen = np.zeros(s.repet_max_k, dtype=np.int64)
    gathered = np.zeros((s.repet_max_k, n_bins))
    frame = np.zeros(n_bins)
    out = np.zeros((n_frames, n_bins))
    for t in range(n_frames):
        frame[:] = hist_mag[t]
        # repet_step rewrites slot t with the same frame, so the ring is unchanged.
        repet_step(frame, hist_comp[t].copy(), hist_mag, hist_comp, t, n_frames, min_dist,
                   s.repet_max_k, 1e-9, 1.0, sims, chosen, gathered, out[t])
    return np.ascontiguousarray(out.T)


def _centred_medians(mag_t: np.ndarray, length: int, every: int) -> np.ndarray:
    """Per-bin median over ``length`` frames taken every ``every`` frames, centred on each
    frame. Shape: mag_t (frames, bins) -> (frames, bins)."""
    n_frames, n_bins = mag_t.shape
    shift = (length * every) // 2
    ring = np.zeros((length, n_bins))
    sorted_win = np.zeros((n_bins, length))
    current = np.zeros(n_bins)
    out = np.zeros((n_frames, n_bins))
    zero = np.zeros(n_bins)
    slot = 0
    for t in range(n_frames + shift):
        if t % every == 0:
            time_median_step(mag_t[t] if t < n_frames else zero, ring, sorted_win, slot, current)
            slot = (slot + 1) % length
        if t >= shift:
            out[t - shift] = current
    return out


def hpss_offline(mag: np.ndarray, geometry: StftGeometry, s: TeacherSettings) -> np.ndarray:
    """Centred-kernel "harmonic minus stable-harmonic" HPSS vocal mask ``(bins, frames)``."""
    mag_t = np.ascontiguousarray(mag.T)
    harm_len = max(3, _frames(geometry, s.hpss_harm_s))
    stable_every = max(1, _frames(geometry, s.hpss_stable_s) // s.hpss_stable_len)
    harm = _centred_medians(mag_t, harm_len, 1)
    stable = _centred_medians(mag_t, s.hpss_stable_len, stable_every)
    half = max(1, int(round(s.hpss_perc_hz / (geometry.sr / geometry.n_fft) / 2)))
    scratch = np.zeros(2 * half + 1)
    perc = np.zeros(mag.shape[0])
    out = np.zeros_like(mag_t)
    for t in range(mag_t.shape[0]):
        freq_median(mag_t[t], half, scratch, perc)
        hpss_combine(harm[t], stable[t], perc, s.hpss_power, out[t])
    return np.ascontiguousarray(out.T)


def pitch_offline(mag: np.ndarray, geometry: StftGeometry, s: TeacherSettings) -> np.ndarray:
    """Harmonic comb mask of the predominant f0 ``(bins, frames)``, voicing smoothed centred."""
    from scipy.ndimage import median_filter

    pitch = Pitch(geometry)
    n_frames = mag.shape[1]
    combs = np.zeros((n_frames, mag.shape[0]))
    voicing = np.zeros(n_frames)
    for t in range(n_frames):
        m = pitch.step(np.ascontiguousarray(mag[:, t]))
        voicing[t] = pitch.voicing
        if pitch.voicing > 0:
            combs[t] = m / pitch.voicing  # the unscaled comb; voicing is reapplied below
    width = _frames(geometry, s.pitch_voicing_smooth_s) | 1
    smooth = median_filter(voicing, size=width, mode="nearest")
    return np.ascontiguousarray((combs * smooth[:, None]).T)


_PRIMITIVES = {"repet": repet_offline, "hpss": hpss_offline, "pitch": pitch_offline}


def segment_confidence(mag: np.ndarray, embedding: np.ndarray, mask: np.ndarray,
                       n_points: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(confidence, silhouette, posterior strength) on points from the loudest 1 % of bins.

    Shapes: mag (bins, frames), embedding (bins, frames, D), mask (bins, frames).
    """
    flat = mag.reshape(-1)
    if not np.any(flat > 0):
        return 0.0, 0.0, 0.0
    n_loud = max(2, int(math.ceil(LOUDEST_FRACTION * flat.size)))
    loud = np.argpartition(flat, flat.size - n_loud)[flat.size - n_loud:]
    if loud.size > n_points:
        loud = np.random.default_rng(seed).choice(loud, size=n_points, replace=False)
    points = np.ascontiguousarray(embedding.reshape(-1, embedding.shape[-1])[loud])
    post = np.ascontiguousarray(mask.reshape(-1)[loud])
    sil = silhouette(points, (post > 0.5).astype(np.int64))
    strength = posterior_strength(post)
    return sil * strength, sil, strength


def primitive_embedding(mag: np.ndarray, geometry: StftGeometry, s: TeacherSettings
                        ) -> np.ndarray:
    """The offline primitive masks of ``mag`` ``(bins, frames)`` stacked: ``(bins, frames, D)``."""
    masks = [_PRIMITIVES[name](mag, geometry, s) for name in s.primitives]
    return np.ascontiguousarray(np.stack(masks, axis=-1))


def teacher_separate(x: np.ndarray, sr: int, settings: TeacherSettings | None = None
                     ) -> TeacherResult:
    """Primitive clustering of the mono signal ``x`` ``(samples,)`` at ``sr`` Hz."""
    s = settings or TeacherSettings()
    geometry = geometry_for(sr, "default")
    x = np.asarray(x, dtype=np.float64)
    spec = stft_offline(x[None], geometry)[0]
    mag = np.abs(spec)
    embedding = primitive_embedding(mag, geometry, s)
    weights = np.asarray(s.weights if s.weights is not None
                         else [DEFAULT_WEIGHTS[name] for name in s.primitives], np.float64)
    mask = np.zeros(mag.shape)
    column = np.zeros(mag.shape[0])
    for t in range(mag.shape[1]):
        cluster_mask(np.ascontiguousarray(embedding[:, t, :]), weights, s.beta, column)
        mask[:, t] = column
    conf, sil, strength = segment_confidence(mag, embedding, mask, s.n_points, s.seed)
    vocals = istft_offline((spec * mask)[None], geometry, x.shape[0])[0]
    return TeacherResult(mask, embedding, conf, sil, strength, vocals, x - vocals)
