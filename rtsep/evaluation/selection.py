"""Model selection on a stream of segments: the table of paper 004, computed through the engine.

A labelled stream is made of segments (songs or excerpts, possibly from different domains).
Every candidate (primitive clustering, each model) is streamed alone; then the engine streams
all of them at once and switches by confidence. Random and oracle selection pick, for each
segment, a random candidate or the one with the best true SDR on that segment, as in the paper.

SDR here is the plain signal-to-distortion ratio of the vocals over the span measured,
``10 log10(|s|^2 / |s - s_hat|^2)`` (summed over channels), so the whole-stream figure weights
every sample equally.

Shapes: every signal is ``(channels, samples)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..config import EngineConfig
from ..separate import make_engine, separate_array


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB (no projection, no scale invariance)."""
    noise = np.sum((reference - estimate) ** 2)
    return float(10 * np.log10(np.sum(reference**2) / max(noise, 1e-20)))


@dataclass
class SelectionResult:
    names: list[str]
    boundaries: list[int]  # sample index where each segment starts, plus the end
    single_sdr: dict[str, float]  # whole stream, each candidate alone
    segment_sdr: np.ndarray  # (segments, candidates)
    confidence_sdr: float  # whole stream, switching by confidence in the engine
    random_sdr: float  # whole stream, mean over random per-segment draws
    oracle_sdr: float  # whole stream, best candidate per segment
    active_share: dict[str, float]  # fraction of hops each candidate was active (confidence)
    switches: int
    max_step_output: float  # largest |y[n] - y[n-1]| of the confidence-switched vocals
    max_step_input: float
    vocals_confidence: np.ndarray

    def table(self) -> str:
        rows = [f"| {n} alone | {s:.2f} |" for n, s in self.single_sdr.items()]
        rows += [f"| random selection (per segment) | {self.random_sdr:.2f} |",
                 f"| confidence selection (engine, switching) | {self.confidence_sdr:.2f} |",
                 f"| oracle selection (per segment) | {self.oracle_sdr:.2f} |"]
        return "\n".join(["| method | vocals SDR dB (whole stream) |", "| --- | --- |", *rows])


def _assemble(outputs: list[np.ndarray], choice, boundaries) -> np.ndarray:
    out = np.empty_like(outputs[0])
    for s, c in enumerate(choice):
        out[:, boundaries[s] : boundaries[s + 1]] = outputs[c][:, boundaries[s] : boundaries[s + 1]]
    return out


def evaluate_selection(segments: list[tuple[np.ndarray, np.ndarray]], sr: int,
                       config: EngineConfig, random_draws: int = 200, seed: int = 0
                       ) -> SelectionResult:
    """Stream ``segments`` (list of ``(mixture, vocals)``) and compare selection strategies.

    ``config`` names the candidates (``models`` and ``use_primitives``); its ``switch`` is
    ignored: single runs use ``off`` with one candidate, the switched run uses ``confidence``.
    """
    mixture = np.concatenate([m for m, _ in segments], axis=1)
    vocals = np.concatenate([v for _, v in segments], axis=1)
    lengths = [m.shape[1] for m, _ in segments]
    boundaries = [0, *np.cumsum(lengths).tolist()]
    channels = mixture.shape[0]

    switched = make_engine(sr, channels, replace(config, switch="confidence"))
    names = [c.name for c in switched.candidates]
    singles = []
    for i, name in enumerate(names):
        alone = _single_candidate_config(config, name)
        v, _ = separate_array(mixture, sr, alone)
        singles.append(v)
    v_conf, _ = separate_array(mixture, sr, engine=switched)
    active_hops = switched.switcher.active_hops.astype(float)

    seg_sdr = np.array([[sdr(vocals[:, a:b], out[:, a:b]) for out in singles]
                        for a, b in zip(boundaries[:-1], boundaries[1:])])
    rng = np.random.default_rng(seed)
    draws = [sdr(vocals, _assemble(singles, rng.integers(0, len(names), len(segments)),
                                   boundaries)) for _ in range(random_draws)]
    oracle = _assemble(singles, np.argmax(seg_sdr, axis=1), boundaries)
    share = active_hops / max(active_hops.sum(), 1)
    return SelectionResult(
        names=names,
        boundaries=boundaries,
        single_sdr={n: sdr(vocals, out) for n, out in zip(names, singles)},
        segment_sdr=seg_sdr,
        confidence_sdr=sdr(vocals, v_conf),
        random_sdr=float(np.mean(draws)),
        oracle_sdr=sdr(vocals, oracle),
        active_share=dict(zip(names, share.tolist())),
        switches=switched.switcher.switches,
        max_step_output=float(np.max(np.abs(np.diff(v_conf, axis=1)))),
        max_step_input=float(np.max(np.abs(np.diff(mixture, axis=1)))),
        vocals_confidence=v_conf,
    )


def _single_candidate_config(config: EngineConfig, name: str) -> EngineConfig:
    """The config that runs only candidate ``name`` (``pcl`` or a model) with no switching."""
    if name in ("pcl", *config.primitives) and config.use_primitives:
        return replace(config, models=(), use_primitives=True, switch="off")
    models = [m for m in config.models if m == name or str(m).rstrip("/").endswith(name)]
    return replace(config, models=tuple(models[:1]), use_primitives=False, switch="off")
