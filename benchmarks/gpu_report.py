"""``gpu_check.py``'s results as markdown tables (for OUT/gpu_check.md and BENCHMARKS.md)."""

from __future__ import annotations


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        return platform.processor() or platform.machine()


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-2 else f"{value:.{digits}f}".rstrip(
            "0").rstrip(".")
    return str(value)


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines + [""]


def markdown(res: dict) -> str:
    env = res.get("env", {})
    label = "CPU DRY RUN (no GPU figures)" if res.get("dry_run") else "device run"
    out = [f"# gpu_check: {label}", "",
           "Machine: " + ", ".join(f"{k} {v}" for k, v in env.items()), "",
           f"Command: `{res.get('command', '')}`; elapsed {res.get('elapsed_s', '?')} s; "
           f"tolerance {res.get('tolerance')} (max |difference| of mask and embedding).", ""]
    if res.get("correctness"):
        out += ["## Correctness against the torch CPU backend (state carried)", ""]
        out += _table(["model", "runner", "where", "hops", "max diff mask", "max diff emb",
                       "status"],
                      [[r["model"], r["runner"], r["where"], r.get("hops"),
                        r.get("max_diff_mask"), r.get("max_diff_emb"), r["status"]]
                       for r in res["correctness"]])
    export = res.get("tensorrt_export")
    if export:
        out += [f"torch.export of the explicit-cell step (TensorRT's input): "
                f"{len(export['ops'])} ops, opaque RNN op: {export['opaque_rnn']}", ""]
    if res.get("timing"):
        out += ["## Per-hop step time, batch 1 (microseconds)", ""]
        out += _table(["size", "params M", "runner", "where", "p50 us", "p99 us", "steps",
                       "build s", "first calls s", "status"],
                      [[r["size"], r["params_m"], r["runner"], r["where"], r.get("p50_us"),
                        r.get("p99_us"), r.get("steps"), r.get("build_s"),
                        r.get("first_calls_s"), r["status"]] for r in res["timing"]])
    if res.get("engine"):
        out += ["## Whole engine on the 60 s song", ""]
        out += _table(["model", "backend", "in use", "rtf", "p50 ms/hop", "p99 ms/hop",
                       "max ms/hop", "model p99 ms", "hop ms", "status"],
                      [[r["model"], r["backend"],
                        (r.get("backend_choice") or {}).get("backend"), r.get("rtf"),
                        r.get("p50_ms"), r.get("p99_ms"), r.get("max_ms"),
                        r.get("model_p99_ms"), r.get("hop_ms"), r["status"]]
                       for r in res["engine"]])
    if res.get("training"):
        out += ["## Training the shipped student architecture (audio seconds per second)", ""]
        out += _table(["device", "mode", "threads", "steps", "wall s", "audio s/s",
                       "ratio to CPU", "last loss", "status"],
                      [[r["device"], r["mode"], r.get("threads"), r.get("steps"),
                        r.get("wall_s"), r.get("audio_s_per_s"), r.get("ratio_to_cpu"),
                        r.get("last_loss"), r["status"]] for r in res["training"]])
    return "\n".join(out)
