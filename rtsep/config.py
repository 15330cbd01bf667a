"""Presets: STFT geometry and engine defaults, scaled with the sample rate.

The analysis window is long (2048 samples at 44.1 kHz) for frequency resolution; the hop sets
the latency, because the synthesis window spans only two hops (see ``rtsep.core.stft``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import ConfigError

REFERENCE_SR = 44100
# Rates and channel counts the engine (and so every command) accepts.
MIN_SR = 8000
MAX_SR = 96000
MAX_CHANNELS = 64

# hop at 44.1 kHz for each preset; the analysis window is 2048 at 44.1 kHz for both.
PRESET_HOPS = {"default": 256, "low-latency": 128}
REFERENCE_N_FFT = 2048

# Every primitive ``rtsep.primitives`` implements (its registry checks this list), and the
# ones used when none are named (with a score input, ``score`` joins them).
PRIMITIVE_NAMES = ("repet", "hpss", "pitch", "score")
DEFAULT_PRIMITIVES = ("repet", "hpss", "pitch")
SCORE_PRIMITIVES = DEFAULT_PRIMITIVES + ("score",)
# How the engine chooses between candidates: ``off`` keeps the first, ``confidence`` follows the
# most confident (paper 004). Oracle selection needs the true stems, so it lives in
# ``rtsep.evaluation.selection``, not in the engine.
SWITCH_MODES = ("off", "confidence")
# Clustering weight of each primitive when none are given: the best of a small grid on the dev
# set (HPSS's mask is the least reliable), confirmed on a held-out rendered song (BENCHMARKS.md).
# The score's weight was chosen on rendered songs and MIR-1K training clips (BENCHMARKS.md,
# "Score guidance").
DEFAULT_WEIGHTS = {"repet": 1.0, "hpss": 0.5, "pitch": 1.0, "score": 2.0}
DEFAULT_MODEL = "default"  # in EngineConfig.models: the best shipped model for the sample rate


@dataclass(frozen=True)
class StftGeometry:
    """Sizes of the streaming STFT, in samples."""

    sr: int
    n_fft: int
    hop: int

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def latency_samples(self) -> int:
        # The synthesis window spans the last 2*hop samples of a frame; an output sample is
        # final once the frame ending hop-1 samples after it has been synthesised. With input
        # arriving in blocks of any size, 2*hop - 1 is the smallest delay that never starves.
        return 2 * self.hop - 1

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_samples / self.sr


def geometry_for(sr: int, preset: str = "default") -> StftGeometry:
    """STFT geometry for a sample rate and preset, scaled from the 44.1 kHz reference."""
    if preset not in PRESET_HOPS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESET_HOPS)}")
    if not (MIN_SR <= int(sr) <= MAX_SR):
        raise ConfigError(f"sample rate {sr} Hz is outside the supported {MIN_SR}-{MAX_SR} Hz")
    scale = int(sr) / REFERENCE_SR
    hop = max(16, int(round(PRESET_HOPS[preset] * scale)))
    n_fft = max(4 * hop, 2 * int(round(REFERENCE_N_FFT * scale / 2)))
    return StftGeometry(sr=int(sr), n_fft=n_fft, hop=hop)


@dataclass(frozen=True)
class EngineConfig:
    """Everything that decides what the engine computes (not how fast)."""

    preset: str = "default"
    primitives: tuple[str, ...] = DEFAULT_PRIMITIVES
    weights: tuple[float, ...] | None = None  # one per primitive; None = DEFAULT_WEIGHTS
    beta: float = 5.0  # hardness of primitive clustering (paper 000, Eq. 1)
    alpha: float | None = None  # Deep Karaoke threshold (paper 003); None = soft mask
    models: tuple[str, ...] = ()  # model names or paths; each becomes a candidate
    backend: str = "auto"  # auto | torch | onnx | cuda-graph | tensorrt
    use_primitives: bool = True  # primitive clustering as a candidate
    switch: str = "confidence"  # one of SWITCH_MODES (see rtsep.core.switching)
    bypass: bool = False  # mask fixed at 1 (vocals = delayed input): latency checks, loopback
    confidence_rate_hz: float = 10.0
    confidence_points: int = 1000
    confidence_window_s: float = 1.0
    extra: dict = field(default_factory=dict)

    def with_(self, **kw) -> "EngineConfig":
        return replace(self, **kw)

    def primitive_weights(self) -> tuple[float, ...]:
        """The clustering weight of each primitive, in the order of ``primitives``."""
        if self.weights is not None:
            return tuple(float(w) for w in self.weights)
        return tuple(DEFAULT_WEIGHTS.get(name, 1.0) for name in self.primitives)

    def validate(self, score: bool = False) -> None:
        """Raise ``ConfigError`` on the first invalid setting; ``score``: a score input is
        given (the ``score`` primitive needs one)."""
        if self.preset not in PRESET_HOPS:
            raise ConfigError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESET_HOPS)}")
        if not self.primitives:
            raise ConfigError("at least one primitive is needed")
        unknown = [p for p in self.primitives if p not in PRIMITIVE_NAMES]
        if unknown:
            raise ConfigError(f"unknown primitive {unknown[0]!r}; choose from "
                              f"{', '.join(PRIMITIVE_NAMES)}")
        if len(set(self.primitives)) != len(self.primitives):
            raise ConfigError(f"primitive named twice in {', '.join(self.primitives)}")
        if "score" in self.primitives and not score:
            # Nothing would feed the score cue: it would have nothing to say, ever.
            raise ConfigError("the score primitive needs a score: give --score FILE.mid or "
                              "--midi PORT")
        if self.weights is not None and len(self.weights) != len(self.primitives):
            raise ConfigError(
                f"{len(self.weights)} weights given for {len(self.primitives)} primitives"
            )
        if self.weights is not None and any(w < 0 for w in self.weights):
            raise ConfigError("primitive weights must be non-negative")
        if self.switch not in SWITCH_MODES:
            raise ConfigError(f"unknown switch mode {self.switch!r}; choose "
                              f"{' or '.join(SWITCH_MODES)}")
        if not (self.beta > 0):
            raise ConfigError(f"beta must be positive, got {self.beta}")
        if self.alpha is not None and not (0.0 < self.alpha < 1.0):
            raise ConfigError(f"alpha must lie strictly between 0 and 1, got {self.alpha}")
