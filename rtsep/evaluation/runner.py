"""Evaluate separation methods on a labelled data set with the field's measures.

Every engine method runs exactly as ``rtsep separate`` does (``separate_array``: the streaming
engine, latency-compensated); oracles and the mixture give the ceiling and the floor. Each
track is scored with BSS Eval v4 (median over 1 s windows) and SI-SDR; a method's summary is
the median over tracks (SiSEC/MUSDB), its speed the audio duration over compute time.

Targets: ``vocals`` (reference: the vocal stem) and ``karaoke`` (reference: the accompaniment).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..io.atomic import write_text_atomic
from ..io.datasets import Track, load_track, track_folders
from .methods import Method, resolve_methods
from .metrics import separation_scores

TARGETS = ("vocals", "karaoke")
METRICS = ("sdr", "sir", "sar", "isr", "si_sdr", "si_sdri")
COLUMNS = ("track", "method", "target", "seconds", "compute_s", "speed_x_rt", *METRICS)
SUMMARY_TRACK = "(median)"


@dataclass
class EvalResults:
    """Per-track rows and per-method summary rows, each a dict with the keys of ``COLUMNS``;
    per-track rows also hold ``frames``: per-window SDR/ISR/SIR/SAR lists (dB)."""

    dataset: str
    methods: list[str]
    rows: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "methods": self.methods, "summary": self.summary,
                "tracks": self.rows}

    def lookup(self, method: str, target: str) -> dict:
        """The summary row of one method and target."""
        for row in self.summary:
            if row["method"] == method and row["target"] == target:
                return row
        raise KeyError((method, target))


class _Runner:
    """Runs methods on tracks; keeps one warmed-up engine per method, rate and channel count."""

    def __init__(self):
        self._engines: dict[tuple, object] = {}

    def __call__(self, method: Method, track: Track
                 ) -> tuple[np.ndarray, np.ndarray, float | None]:
        """``(vocals, karaoke, compute seconds)``; ``None`` seconds for the mixture."""
        x, sr = track.mixture, track.sr
        if method.kind == "mixture":
            return x, x, None
        if method.kind == "oracle":
            from .oracle import oracle_separate

            t0 = time.perf_counter()
            v, k = oracle_separate(x, track.vocals, track.accompaniment, sr, kind=method.oracle,
                                   **method.oracle_options)
            return v, k, time.perf_counter() - t0
        if method.kind == "callable":
            t0 = time.perf_counter()
            v, k = method.separate(x, sr)
            return np.asarray(v, dtype=np.float64), np.asarray(k, dtype=np.float64), \
                time.perf_counter() - t0
        from ..separate import make_engine, separate_array

        if method.config.models:
            from ..core.model_candidates import models_sample_rate

            if (models_sample_rate(method.config) or sr) != sr:
                # models trained at another rate: separate_array resamples to it and back, as
                # `rtsep separate` does, with an engine of its own (so the time includes loading)
                t0 = time.perf_counter()
                v, k = separate_array(x, sr, method.config)
                return v, k, time.perf_counter() - t0
        key = (method.name, sr, x.shape[0])
        if key not in self._engines:
            # compile and warm the kernels outside the timed region, as a live stream would
            self._engines[key] = make_engine(sr, x.shape[0], method.config).warmup()
        t0 = time.perf_counter()
        v, k = separate_array(x, sr, method.config, engine=self._engines[key])
        return v, k, time.perf_counter() - t0


def evaluate(dataset_root: str | Path, methods=None, *,
             progress: Callable[[int, int, str], None] | None = None,
             window_s: float = 1.0, hop_s: float = 1.0) -> EvalResults:
    """Score ``methods`` (names, ``NAME:key=value`` specs or ``Method``s) on every track.

    ``progress(done, total, label)`` is called before each (track, method) pair and at the end.
    """
    chosen = resolve_methods(methods)
    folders = track_folders(dataset_root)
    results = EvalResults(dataset=str(dataset_root), methods=[m.name for m in chosen])
    run = _Runner()
    total = len(folders) * len(chosen)
    done = 0
    for folder in folders:
        track = load_track(folder)
        references = np.stack([track.vocals, track.accompaniment])
        for method in chosen:
            if progress is not None:
                progress(done, total, f"{track.name} / {method.name}")
            vocals, karaoke, seconds = run(method, track)
            if vocals.shape != track.mixture.shape or karaoke.shape != track.mixture.shape:
                raise RuntimeError(f"method {method.name} returned {vocals.shape} and "
                                   f"{karaoke.shape} for a mixture of {track.mixture.shape}")
            scores = separation_scores(references, np.stack([vocals, karaoke]), track.mixture,
                                       track.sr, window_s=window_s, hop_s=hop_s)
            for target, score in zip(TARGETS, scores):
                results.rows.append({
                    "track": track.name, "method": method.name, "target": target,
                    "seconds": track.seconds, "compute_s": seconds,
                    "speed_x_rt": None if not seconds else track.seconds / seconds,
                    **{k: score[k] for k in METRICS}, "frames": score["frames"]})
            done += 1
    if progress is not None:
        progress(total, total, "done")
    results.summary = summarize(results.rows, results.methods)
    return results


def _median(values: list) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(finite)) if finite else float("nan")


def summarize(rows: list[dict], methods: list[str]) -> list[dict]:
    """Median over tracks per method and target; speed is total audio over total compute."""
    summary = []
    for method in methods:
        for target in TARGETS:
            mine = [r for r in rows if r["method"] == method and r["target"] == target]
            seconds = sum(r["seconds"] for r in mine)
            timed = [r["compute_s"] for r in mine if r["compute_s"] is not None]
            compute = sum(timed) if timed else None
            summary.append({
                "track": SUMMARY_TRACK, "method": method, "target": target, "seconds": seconds,
                "compute_s": compute, "speed_x_rt": seconds / compute if compute else None,
                **{k: _median([r[k] for r in mine]) for k in METRICS}, "tracks": len(mine)})
    return summary


# --- output ------------------------------------------------------------------------------------

def _plain(value):
    """JSON has no NaN or infinity: they become null (inside lists and dicts too)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def json_text(results: EvalResults) -> str:
    """All rows as indented JSON (NaN and infinities as null)."""
    data = results.to_dict()
    for key in ("summary", "tracks"):
        data[key] = [{k: _plain(v) for k, v in row.items()} for row in data[key]]
    return json.dumps(data, indent=2, default=float) + "\n"


def csv_text(results: EvalResults) -> str:
    """One row per track, method and target, then the summary rows (track ``(median)``)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in [*results.rows, *results.summary]:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    return buf.getvalue()


def write_json(results: EvalResults, path: str | Path) -> Path:
    return write_text_atomic(path, json_text(results))


def write_csv(results: EvalResults, path: str | Path) -> Path:
    return write_text_atomic(path, csv_text(results))


def format_table(results: EvalResults, markdown: bool = False) -> str:
    """Summary table: per method, median SDR/SIR/SAR/SI-SDRi for vocals and karaoke, speed."""
    head = ["method", "voc SDR", "voc SIR", "voc SAR", "voc SI-SDRi",
            "kar SDR", "kar SIR", "kar SAR", "kar SI-SDRi", "x real time"]
    lines = []
    for method in results.methods:
        cells = [method]
        for target in TARGETS:
            row = results.lookup(method, target)
            cells += [f"{row[k]:.2f}" for k in ("sdr", "sir", "sar", "si_sdri")]
        speed = results.lookup(method, TARGETS[0])["speed_x_rt"]
        cells.append("-" if speed is None else f"{speed:.1f}")
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [head, *lines])
