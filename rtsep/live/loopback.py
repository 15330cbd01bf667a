"""Round-trip latency through the engine on a device whose outputs are looped to its inputs.

Wiring (a cable, or JACK ports connected ``out_0 -> in_0`` and ``out_1 -> in_1``):

- output 2 plays a probe (seeded white noise); it comes back on input 2 after the device's
  own loop delay ``D``;
- the engine, fed from input 2, runs with ``out="sum"`` (vocals + karaoke, which is its delayed
  input, so the signal survives separation unchanged) and plays on output 1, which comes back
  on input 1.

So input 1 is input 2 delayed by the session's delay plus ``D``: the time from a sound at the
device input to its processed sound back at the device input, which is what a performer
hears (input buffer + engine + output buffer). Both lags are found by cross-correlation and
reported next to what the code declares: ``session latency + device latency`` (the latency
the stream reports for its input and output buffers).
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import DeviceError

PROBE_LEVEL = 0.25


def measure_loopback(device=None, preset: str = "default", seconds: float = 10.0, *,
                     connect_jack: bool | None = None, blocksize: int | None = None,
                     extra_buffer_hops: int | None = None, seed: int = 0) -> dict:
    """Run the loop for ``seconds`` and return the measured and declared delays.

    ``connect_jack``: wire the loop through JACK-Client (``None``: do it when the device's
    host API is JACK). ``blocksize`` defaults to the JACK period (else one hop) and
    ``extra_buffer_hops`` to the live default (``build.default_buffer_hops``). A stop signal
    ends the measurement with ``Interrupted``. Keys of the result: ``measured_delay_ms``/``_samples`` (input to
    processed input), ``expected_delay_ms``/``_samples`` (session + device),
    ``session_latency_ms``, ``algorithmic_latency_ms``, ``device_buffer_ms``,
    ``loop_delay_ms`` (the device loop alone), ``period`` (frames per callback), ``xruns``,
    ``cheap_hops``, ``correlation`` (peak normalised correlation, near 1 for a clean loop).
    """
    from ..config import EngineConfig
    from ..core.engine import Engine
    from ..interrupts import Interrupted
    from .build import default_buffer_hops
    from .devices import device_info, rescan, resolve_device
    from .jackwatch import server_period
    from .session import LiveSession

    if seconds < 2.0:
        raise DeviceError(f"a loopback measurement needs at least 2 s, got {seconds}")
    client = f"rtsep_loop_{os.getpid()}"
    rescan(jack_client_name=client)
    idx = resolve_device(device, "output")
    info = device_info(idx, "output")
    if info["max_input_channels"] < 2 or info["max_output_channels"] < 2:
        raise DeviceError(f"{info['name']} needs 2 inputs and 2 outputs for a loopback test; "
                          "run `rtsep devices` to see the devices")
    if connect_jack is None:
        connect_jack = "jack" in info["hostapi"].lower()
    sr = int(round(info["default_samplerate"]))
    engine = Engine(sr, 1, EngineConfig(preset=preset))
    period = server_period() if "jack" in info["hostapi"].lower() else None
    if extra_buffer_hops is None:
        extra_buffer_hops = default_buffer_hops(engine.hop, sr)
    probe = PROBE_LEVEL * np.random.default_rng(seed).standard_normal(int(seconds * sr))
    session = LiveSession(engine, "mic", input_device=idx, output_device=idx, out="sum",
                          out_channels=1, probe=probe, input_offset=1,
                          capture_seconds=seconds, blocksize=blocksize or period,
                          extra_buffer_hops=extra_buffer_hops, device_period=period)
    if connect_jack:
        session.on_start = lambda s: _jack_wire(client, 2)
    # Device time, not wall time: a busy machine may run the device a little slow.
    summary = session.run(seconds=2 * seconds + 10, frames=int((seconds + 0.3) * sr))
    if summary["stopped_by"]:
        import signal

        raise Interrupted(getattr(signal, summary["stopped_by"]))
    cap = session.captured
    period = session.blocksize
    max_lag = int(0.5 * sr)
    loop, _ = _lag(probe.astype(np.float32), cap[1], max_lag)
    measured, corr = _lag(cap[1], cap[0], max_lag)
    device_buf = session.device_latency_samples()
    expected = session.measured_latency_samples + device_buf
    ms = 1000.0 / sr
    return {
        "device": info["name"],
        "samplerate": sr,
        "preset": preset,
        "period": period,
        "measured_delay_samples": measured,
        "measured_delay_ms": measured * ms,
        "expected_delay_samples": expected,
        "expected_delay_ms": expected * ms,
        "session_latency_ms": session.measured_latency_samples * ms,
        "algorithmic_latency_ms": engine.latency_samples * ms,
        "device_buffer_ms": device_buf * ms,
        "loop_delay_samples": loop,
        "loop_delay_ms": loop * ms,
        "correlation": corr,
        "xruns": summary["xruns"],
        "xrun_seconds": [round(f / sr, 3) for f in summary["xrun_frames"]],
        "cheap_hops": summary["cheap_hops"],
        "seconds": summary["duration_s"],
        "compute_p99_ms": summary["compute_p99_ms"],
        "extra_buffer_hops": extra_buffer_hops,
        "device_xruns": summary["device_xruns"],
        "worker_scheduling": summary["worker_scheduling"],
    }


def _lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag in samples (0..max_lag) at which ``delayed`` best matches ``reference``.

    Also returns the normalised correlation at that lag. Uses only the samples where the
    reference is present (a device may start a little late).
    """
    from scipy.signal import correlate

    n = min(reference.shape[0], delayed.shape[0])
    if n <= max_lag + 1 or not np.any(delayed[:n]):
        raise DeviceError("no signal came back through the loop: are the outputs wired to the inputs?")
    ref = reference[: n - max_lag].astype(np.float64)
    dly = delayed[:n].astype(np.float64)
    c = correlate(dly, ref, mode="valid", method="fft")  # c[k] = sum ref[i] * dly[i + k]
    lag = int(np.argmax(c[: max_lag + 1]))
    seg = dly[lag : lag + ref.shape[0]]
    denom = np.sqrt(np.dot(ref, ref) * np.dot(seg, seg))
    return lag, float(c[lag] / denom) if denom > 0 else 0.0


def _jack_wire(client: str, channels: int) -> None:
    """Connect ``client:out_N`` to ``client:in_N`` for N < ``channels`` (JACK-Client)."""
    from .jackwatch import connect_ports

    connect_ports([(f"{client}:out_{ch}", f"{client}:in_{ch}") for ch in range(channels)])


def format_loopback(r: dict) -> str:
    """The loopback result as a few lines of text."""
    return "\n".join([
        f"loopback on {r['device']} at {r['samplerate']} Hz, preset {r['preset']}, "
        f"period {r['period']} frames, {r['seconds']:.1f} s",
        f"measured round trip   {r['measured_delay_ms']:7.2f} ms ({r['measured_delay_samples']} samples,"
        f" correlation {r['correlation']:.3f})",
        f"declared              {r['expected_delay_ms']:7.2f} ms = session {r['session_latency_ms']:.2f}"
        f" (algorithmic {r['algorithmic_latency_ms']:.2f} + buffering) + device {r['device_buffer_ms']:.2f}",
        f"device loop alone     {r['loop_delay_ms']:7.2f} ms",
        f"xruns {r['xruns']}, cheap hops {r['cheap_hops']}, compute p99 {r['compute_p99_ms']:.2f} ms,"
        f" buffering {r['extra_buffer_hops']} hop(s), worker {r['worker_scheduling']}",
    ])
