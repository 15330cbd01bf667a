"""``auto``: build every backend this machine can run, check each, keep the fastest measured.

At load, for each candidate (``candidates()``: on a GPU ``tensorrt`` when torch_tensorrt is
installed and ``cuda-graph``; then ``onnx`` when onnxruntime is; then ``torch``):

1. build it; an exception is recorded as a failure at build (a missing GPU or package, a
   capture that does not work, an export that fails);
2. probe it: ``PROBE_WARMUP`` untimed steps, then up to ``PROBE_STEPS`` timed ones (at most
   ``PROBE_BUDGET_S`` per backend) on fixed frames with the state carried. A step that raises,
   a non-finite or out-of-range output, or outputs further than ``AGREE_TOL`` from eager torch
   on the CPU (the reference) on the same frames reject it: a failure at its first steps;
3. keep the one with the lowest median step time. On a CPU that is usually ONNX Runtime, on a
   GPU whichever of the GPU paths and the CPU paths is faster for this model: for a small model
   the CPU can beat a GPU round trip (see BENCHMARKS.md, "GPU path").

The others that passed stay built, fastest first, as fallbacks: if a step of the chosen backend
raises later (its first real step included, e.g. a GPU that went away), the next one takes over
with its state reset, and the choice report (``AutoBackend.describe()``, shown by
``rtsep profile``) records the switch and why. Probing costs about ``PROBE_STEPS`` steps per
backend plus the builds, well under a second for the shipped models on a CPU.

``RTSEP_AUTO_BACKENDS=name,name,...`` forces an order instead of timing: the first backend in
the list that builds and passes its probe is used (for reproducible runs and tests).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from ..errors import ConfigError
from .base import Backend, BackendUnavailableError, probe_frames
from .registry import CLASSES, build

PROBE_WARMUP = 3
PROBE_STEPS = 16
PROBE_BUDGET_S = 0.1
AGREE_TOL = 1e-3
ENV_ORDER = "RTSEP_AUTO_BACKENDS"


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def candidates() -> list[str]:
    """Backends ``auto`` tries on this machine (each may still fail to build)."""
    import importlib.util

    import torch

    names = []
    if torch.cuda.is_available():
        if importlib.util.find_spec("torch_tensorrt") is not None:
            names.append("tensorrt")
        names.append("cuda-graph")
    if importlib.util.find_spec("onnxruntime") is not None:
        names.append("onnx")
    names.append("torch")
    return names


def forced_order() -> list[str] | None:
    """The order from ``RTSEP_AUTO_BACKENDS``, or None when it is unset or empty."""
    raw = os.environ.get(ENV_ORDER, "").strip()
    if not raw:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in CLASSES]
    if unknown:
        raise ConfigError(f"{ENV_ORDER} names unknown backend(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(CLASSES)}")
    return names


class AutoBackend(Backend):
    """The chosen backend, with the others that passed their probe as fallbacks.

    ``name`` is the backend in use now; ``describe()`` says how it was chosen.
    """

    def __init__(self, ranked: list[Backend], report: dict):
        first = ranked[0]
        super().__init__(first.n_bins, first.emb_dim, first.lookahead_frames, first.n_inputs)
        self._ranked = list(ranked)
        self.report = report
        self.report.setdefault("fallbacks", [])

    @property
    def active(self) -> Backend:
        return self._ranked[0]

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.active.name

    def step(self, mag_frame: np.ndarray):
        self.frames_seen += 1
        try:
            return self.active.step(mag_frame)
        except ConfigError:
            raise  # a wrong frame is the caller's error, not the backend's
        except Exception as exc:
            if len(self._ranked) == 1:
                raise
            self._fall_back(exc)
            return self.active.step(mag_frame)

    def _fall_back(self, exc: Exception) -> None:
        failed = self._ranked.pop(0)
        event = {"from": failed.name, "to": self.active.name, "frame": self.frames_seen,
                 "error": _first_line(exc)}
        self.report["fallbacks"].append(event)
        self.report["backend"] = self.active.name
        warnings.warn(f"rtsep: backend {failed.name} failed at frame {self.frames_seen} "
                      f"({event['error']}); continuing on {self.active.name}", RuntimeWarning,
                      stacklevel=3)
        self.active.reset()

    def _reset_state(self) -> None:
        self.active.reset()

    def describe(self) -> dict:
        return self.report


def _probe(backend: Backend, frames: np.ndarray, reference) -> dict:
    """Run the probe frames; timing in microseconds; raises on a failing or wrong step."""
    ref_mask, ref_emb = reference
    times, err = [], 0.0
    deadline = time.perf_counter() + PROBE_BUDGET_S
    backend.reset()
    for i, frame in enumerate(frames):
        t0 = time.perf_counter_ns()
        mask, emb = backend.step(frame)
        elapsed = time.perf_counter_ns() - t0
        if not (np.all(np.isfinite(mask)) and np.all(np.isfinite(emb))):
            raise RuntimeError(f"non-finite output at probe step {i + 1}")
        if mask.min() < 0.0 or mask.max() > 1.0:
            raise RuntimeError(f"mask outside [0, 1] at probe step {i + 1}")
        err = max(err, float(np.abs(mask - ref_mask[i]).max()),
                  float(np.abs(emb - ref_emb[i]).max()))
        if i >= PROBE_WARMUP:
            times.append(elapsed / 1000.0)
            if time.perf_counter() > deadline and len(times) >= 3:
                break
    if not err <= AGREE_TOL:
        raise RuntimeError(f"disagrees with eager torch by {err:.2g} (tolerance {AGREE_TOL:g})")
    backend.reset()
    return {"p50_us": round(float(np.median(times)), 1),
            "max_us": round(float(np.max(times)), 1), "steps": len(times),
            "max_abs_diff": float(f"{err:.3g}")}


def select(model, meta: dict | None = None, names: list[str] | None = None, *,
           forced: bool | None = None, builders: dict | None = None) -> AutoBackend:
    """Build, probe and rank the backends ``names`` (default: ``RTSEP_AUTO_BACKENDS`` if set,
    else ``candidates()``) for ``model``.

    ``forced`` keeps the first that passes instead of the fastest (default: True when the
    order came from the environment). ``builders`` maps a backend name to a callable
    ``(model, meta) -> Backend`` used instead of the built-in class (tests, experiments).
    Raises BackendUnavailableError naming every failure when none passes.
    """
    from .torch_cpu import TorchBackend

    if names is None:
        env = forced_order()
        names = env if env is not None else candidates()
        forced = env is not None if forced is None else forced
    forced = bool(forced)
    builders = builders or {}
    t_start = time.perf_counter()
    frames = probe_frames(getattr(model, "n_inputs", model.n_bins), PROBE_WARMUP + PROBE_STEPS)
    ref = TorchBackend(model)
    ref_out = [ref.step(f) for f in frames]
    reference = (np.stack([m for m, _ in ref_out]), np.stack([e for _, e in ref_out]))
    trials, passed = [], []
    for name in names:
        trial = {"backend": name}
        trials.append(trial)
        t0 = time.perf_counter()
        try:
            custom = builders.get(name)
            backend = custom(model, meta) if custom else build(name, model, meta)
        except Exception as exc:  # a broken optional stack must not stop the engine
            trial.update(status="failed at build", error=_first_line(exc))
            continue
        trial["build_s"] = round(time.perf_counter() - t0, 3)
        try:
            trial.update(_probe(backend, frames, reference))
        except Exception as exc:
            trial.update(status="failed at its first steps", error=_first_line(exc))
            continue
        trial["status"] = "ok"
        passed.append((trial["p50_us"], len(passed), backend))
        if forced:
            break
    if not passed:
        raise BackendUnavailableError("no backend works here (" + "; ".join(
            f"{t['backend']}: {t['status']}: {t['error']}" for t in trials) + ")")
    ranked = passed if forced else sorted(passed)
    chosen = ranked[0][2]
    if forced:
        reason = f"first that works in {ENV_ORDER}={','.join(names)}"
    elif len(ranked) == 1:
        reason = "the only backend that works here"
    else:
        reason = "fastest median step of " + ", ".join(
            f"{b.name} {p:g} us" for p, _, b in ranked)
    report = {"backend": chosen.name, "chosen": chosen.name, "reason": reason,
              "trials": trials, "probe_s": round(time.perf_counter() - t_start, 3)}
    return AutoBackend([b for _, _, b in ranked], report)


def summary(report: dict) -> str:
    """One line: the backend in use and why, then what failed and why."""
    line = f"{report['backend']} ({report['reason']})"
    failed = [f"{t['backend']} {t['status']} ({t['error']})" for t in report.get("trials", ())
              if t.get("status", "ok") != "ok"]
    if failed:
        line += "; " + "; ".join(failed)
    for event in report.get("fallbacks", ()):
        line += (f"; switched from {event['from']} to {event['to']} at frame "
                 f"{event['frame']} ({event['error']})")
    return line
