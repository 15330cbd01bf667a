"""Live separation: a sounddevice stream, two ring buffers and a worker thread.

The audio callback only copies: device input (or the next block of a file) into the input
ring, and the output ring into the device output. A worker thread takes whole hops from the
input ring, runs ``Engine.process_hop`` and writes the hop of output. The output ring is
primed with ``priming_samples`` zeros: enough that, if each hop is computed within one
callback period, every output frame is there when the callback needs it. A frame that is
not there is output as zero and skipped (an xrun) so the latency never grows; a worker that
has used up all but one hop of the extra buffering computes cheap hops (last mask reused)
until it catches up.

Delay added by the session on top of the device's own buffers, in samples:
``measured_latency_samples = engine_delay + priming_samples``: ``process_hop`` returns the
hop from ``engine_delay`` samples ago (one hop, plus any model look-ahead); the priming covers
one callback burst (a device period longer than the blocksize brings several callbacks back
to back), the hop remainder and ``extra_buffer_hops``.

The callback (audited): copies between the device buffers and the preallocated rings, integer
counters, and once the note of its thread id; no allocation beyond array views (a test
counts), no lock, no logging, no call into the engine. Its thread, the worker and the main
thread get real-time scheduling where allowed (``realtime.py``): a thread that holds the GIL
while preempted would stall the others. A stop signal while streaming is polled, so the stream
is always closed and the summary made; a JACK server that dies is seen by ``JackWatch`` and
its stream is never touched again.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import time

import numpy as np

from .. import interrupts
from ..errors import ConfigError, DeviceError
from .realtime import (
    CALLBACK_PRIORITY,
    MAIN_PRIORITY,
    WORKER_PRIORITY,
    fifo_priority,
    request_realtime,
    restore_normal,
    thread_policy,
)
from .ringbuffer import RingBuffer
from .status import session_summary
from .stream import (
    abandon,
    close_stream,
    is_jack_stream,
    open_stream,
    start_stream,
    stream_xrun_flags,
)

OUT_MODES = ("karaoke", "vocals", "both", "sum")
STALL_S = 2.0  # seconds without a callback after which the device counts as gone
TICK_S = 0.05  # how often the main thread looks for a stop signal, a worker error, the end


class LiveSession:
    """Runs ``engine`` on a device stream; see the module docstring for the timing.

    ``source`` is ``"mic"`` (device input, channels ``input_offset..+engine.channels``) or a
    ``(channels, samples)`` float array at ``engine.sr`` played as if it were the input.
    ``out``: ``karaoke``/``vocals`` (stereo or mono), ``both`` (vocals on channels 1-2,
    karaoke on 3-4), ``sum`` (vocals + karaoke = delayed input, for loopback tests).
    ``probe`` (samples,) is played once on one extra output channel after the others, and
    ``capture_seconds`` of raw device input are kept in ``captured`` ``(channels, frames)``.
    ``loop`` plays a file source again and again (soak tests). ``device_period``: the frames
    the audio system moves per cycle when it is known (a JACK server's buffer size); a
    ``blocksize`` that differs from it makes PortAudio call back in bursts, which the output
    buffering must cover.
    """

    def __init__(self, engine, source="mic", *, input_device=None, output_device=None,
                 out="karaoke", blocksize=None, extra_buffer_hops=2, input_offset=0,
                 out_channels=None, probe=None, capture_seconds=0.0, loop=False,
                 device_period=None):
        if out not in OUT_MODES:
            raise ConfigError(f"--out must be one of {', '.join(OUT_MODES[:3])}, got {out!r}")
        self.engine = engine
        self.sr = int(engine.sr)
        self.hop = int(engine.hop)
        self.channels = int(engine.channels)
        self.mic = isinstance(source, str)
        if self.mic and source != "mic":
            raise ConfigError(f"live input must be 'mic' or audio samples, got {source!r}")
        self.file = None if self.mic else np.ascontiguousarray(source, dtype=np.float32)
        if self.file is not None and (self.file.ndim != 2 or self.file.shape[0] != self.channels):
            raise ConfigError(f"file audio must be shaped ({self.channels}, samples), got {self.file.shape}")
        # process_hop returns the hop that entered hop_delay_samples ago (Engine.process adds
        # hop - 1 samples of FIFO on top for arbitrary blocks; the session uses whole hops).
        self.engine_delay = int(engine.hop_delay_samples)
        self.input_device, self.output_device = input_device, output_device
        self.out = out
        self.blocksize = int(blocksize or self.hop)
        if self.blocksize < 1 or int(extra_buffer_hops) < 0:
            raise ConfigError("blocksize must be >= 1 and extra_buffer_hops >= 0")
        self.extra_buffer_hops = int(extra_buffer_hops)
        self.input_offset = int(input_offset)
        pairs = 4 if out == "both" else (1 if out == "sum" else 2)
        self.ring_channels = int(out_channels or pairs)
        self.probe = None if probe is None else np.ascontiguousarray(probe, dtype=np.float32)
        self.device_out_channels = self.ring_channels + (probe is not None)
        self.loop = bool(loop) and self.file is not None and self.file.shape[1] > 0
        if self.loop and self.file.shape[1] < self.blocksize:
            self.file = np.tile(self.file, (1, -(-self.blocksize // self.file.shape[1])))
        self.device_period = int(device_period) if device_period else None
        # Frames of silence before the first computed frame (see module docstring).
        b, h = burst_frames(self.blocksize, self.device_period), self.hop
        on_time = b + h - math.gcd(b, h)  # the most frames an on-time worker finds waiting
        self.priming_samples = on_time + self.extra_buffer_hops * h
        self._cheap_backlog = on_time + max(0, self.extra_buffer_hops - 1) * h
        cap = 2 ** int(math.ceil(math.log2(4 * (self.priming_samples + b + h))))
        # The input ring holds 2 s or more: a worker stalled that long still finds every frame
        # (and catches up with cheap hops) instead of losing input, which would shift the output.
        in_cap = 2 ** int(math.ceil(math.log2(max(cap, 2 * self.sr))))
        self._in_ring = RingBuffer(self.channels, in_cap)
        self._out_ring = RingBuffer(self.ring_channels, cap)
        self.captured = np.zeros((self.channels + self.input_offset if self.mic else 0,
                                  int(capture_seconds * self.sr)), dtype=np.float32)
        self.xrun_frames = np.zeros(64, dtype=np.int64)  # stream frame of the first xruns
        self._timings = np.zeros(4096)  # compute seconds per hop, a ring indexed by hop count
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.scheduling = "not started"  # the worker's real-time scheduling, in words
        self.callback_scheduling = "not started"  # the audio callback thread's
        self.main_scheduling = "not started"  # the main thread's, while it streams
        self._watch = None  # a JackWatch while the stream runs on JACK
        self.stream = None
        self.on_start = None  # called with the session once the stream runs (e.g. to wire ports)
        self.notes: list[str] = []  # choices made for the user (build_session), to be shown
        self._reset_counters()

    @property
    def measured_latency_samples(self) -> int:
        """Samples from an input frame to its output frame, device buffers not included."""
        return self.engine_delay + self.priming_samples

    def prepare(self) -> None:
        """Reset engine, rings and counters, and prime the output ring with silence."""
        self.engine.reset()
        self._in_ring.reset()
        self._out_ring.reset()
        self._out_ring.write_zeros(self.priming_samples)
        self._alloc_work_buffers()
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.frames = 0  # frames the callback has handled
        self.hops = 0
        self.xruns = 0  # callbacks that lacked output frames: the session's own xruns
        # Callbacks PortAudio flagged (over/underflow): the audio system's xruns, e.g. a JACK
        # server whose timer woke late; counted apart because the session cannot cause them.
        self.device_xruns = 0
        self.input_overflows = 0
        self.signal_onset = -1  # first engine-input frame that was not zero
        self._file_pos = 0
        self._capture_pos = 0
        self._last_frames, self._last_progress, self._device_lost = 0, None, False
        self._callback_tid = 0  # the audio callback's thread, as the callback found it
        self._worker_tid = 0
        self._callback_tid_seen = 0

    # -- audio callback: copies only --------------------------------------------------------
    def _callback(self, indata, outdata, frames, time_info, status):
        if not self._callback_tid:  # once: the main thread raises this thread's priority
            self._callback_tid = threading.get_native_id()
        if status and stream_xrun_flags(status):
            self.device_xruns += 1
        if indata is not None:
            src = indata.T
            if self._capture_pos < self.captured.shape[1]:
                n = min(frames, self.captured.shape[1] - self._capture_pos)
                self.captured[:, self._capture_pos : self._capture_pos + n] = src[: self.captured.shape[0], :n]
                self._capture_pos += n
            if self._in_ring.write(src[self.input_offset : self.input_offset + self.channels]) < frames:
                self.input_overflows += 1
        else:
            pos, length = self._file_pos, self.file.shape[1]
            if self.loop:  # at most two slices: the file's end, then its start again
                pos %= length
                n = min(frames, length - pos)
                got = self._in_ring.write(self.file[:, pos : pos + n])
                if n < frames:
                    got += self._in_ring.write(self.file[:, : frames - n])
            else:
                n = max(0, min(frames, length - pos))
                got = self._in_ring.write(self.file[:, pos : pos + n]) if n else 0
                if n < frames:
                    got += self._in_ring.write_zeros(frames - n)
            if got < frames:
                self.input_overflows += 1
            self._file_pos = pos + frames
        dst = outdata.T
        if self.probe is not None:
            pos = self.frames
            n = max(0, min(frames, self.probe.shape[0] - pos))
            dst[-1, :n] = self.probe[pos : pos + n]
            dst[-1, n:] = 0.0
            dst = dst[:-1]
        if self._out_ring.read_into(dst) < frames:
            if self.xruns < self.xrun_frames.shape[0]:
                self.xrun_frames[self.xruns] = self.frames
            self.xruns += 1
        self.frames += frames

    def _output_callback(self, outdata, frames, time_info, status):
        self._callback(None, outdata, frames, time_info, status)

    # -- worker: runs the engine off the callback ------------------------------------------
    def _work(self) -> None:
        try:
            self._worker_tid = threading.get_native_id()
            self.scheduling = request_realtime(WORKER_PRIORITY)
            self._work_loop()
        except BaseException as exc:  # reported by run() in the main thread
            self._error = exc
            self._stop.set()

    def _work_loop(self) -> None:
        poll = min(0.0005, self.hop / self.sr / 8)
        while not self._stop.is_set():
            if not self.step():
                time.sleep(poll)

    def _alloc_work_buffers(self) -> None:
        hop, c = self.hop, self.channels
        self._x32 = np.zeros((c, hop), dtype=np.float32)
        self._x = np.zeros((c, hop))
        self._hop_out = np.zeros((self.ring_channels, hop), dtype=np.float32)

    def step(self) -> bool:
        """Process one hop from the input ring if a whole hop is there; False if not.

        The worker thread calls this in a loop; tests call it directly to play the worker.
        """
        hop = self.hop
        backlog = self._in_ring.available()
        if backlog < hop:
            return False
        # Cheap hops when the callback already skipped frames, or when so many hops wait that
        # less than one hop of the buffer's slack is left before the next callback skips.
        cheap = self._out_ring.available() < 0 or backlog > self._cheap_backlog
        x32, x = self._x32, self._x
        self._in_ring.read_available_into(x32)
        x[:] = x32
        if self.signal_onset < 0 and np.any(x32):
            self.signal_onset = self.hops * hop + int(np.argmax(np.any(x32 != 0, axis=0)))
        t0 = time.perf_counter()
        vocals, karaoke = self.engine.process_hop(x, cheap=cheap)
        layout_output(self._hop_out, vocals, karaoke, self.out)
        self._timings[self.hops % self._timings.shape[0]] = time.perf_counter() - t0
        self._out_ring.write(self._hop_out)
        self.hops += 1
        return True

    # -- control ---------------------------------------------------------------------------
    def compute_stats(self, last_hops: int | None = None) -> tuple[float, float]:
        """Median and 99th percentile of compute seconds over the last ``last_hops`` hops."""
        n = min(self.hops, self._timings.shape[0], last_hops or self._timings.shape[0])
        if n == 0:
            return 0.0, 0.0
        idx = (np.arange(self.hops - n, self.hops)) % self._timings.shape[0]
        t = self._timings[idx]
        return float(np.median(t)), float(np.percentile(t, 99))

    def recent_timings(self, n: int) -> np.ndarray:
        """Compute seconds of the last ``n`` hops (at most the 4096 kept), oldest first."""
        n = max(0, min(int(n), self.hops, self._timings.shape[0]))
        return self._timings[np.arange(self.hops - n, self.hops) % self._timings.shape[0]]

    def run(self, seconds: float | None = None, status=None, status_interval: float = 0.25,
            frames: int | None = None) -> dict:
        """Stream until ``seconds`` pass (wall clock), ``frames`` frames were played, the file
        ends, a stop signal, or the device fails (``DeviceError``).

        ``status(session)`` is called every ``status_interval`` seconds. Returns the summary;
        ``summary["stopped_by"]`` names the signal (SIGINT, SIGTERM, SIGHUP) that stopped the
        run, or is None. Once the stream is being opened, stop signals are polled
        (``rtsep.interrupts.held``), so the stream is always closed and the summary made,
        whenever a signal comes; the caller acts on ``stopped_by`` once it has reported.
        """
        self.engine.warmup()  # compile kernels before the device starts asking for frames
        self.prepare()
        self._stop.clear()
        self._error = None
        worker = threading.Thread(target=self._work, name="rtsep-worker", daemon=True)
        # A full garbage collection can pause every thread for milliseconds; the hop loop makes
        # no reference cycles, so collection waits until the stream is closed.
        gc_was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        old_switch = sys.getswitchinterval()
        # The callback needs the GIL within a fraction of a period; the default 5 ms is too long.
        sys.setswitchinterval(min(old_switch, 0.0005))
        started = time.monotonic()
        stopped_by = None
        with interrupts.held():
            try:
                stopped_by = self._stream(worker, seconds, frames, status, status_interval, started)
            except KeyboardInterrupt as exc:  # SIGINT where rtsep's handlers are not installed
                stopped_by = interrupts.signal_of(exc)
            finally:
                # The stream stops first: a callback running after the worker has stopped would
                # count xruns that never reached a listener.
                self._close_stream()
                self._stop.set()
                if worker.is_alive():
                    worker.join(timeout=2.0)
                if not self.main_scheduling.startswith(("normal", "not")):
                    restore_normal()
                sys.setswitchinterval(old_switch)
                if gc_was_enabled:
                    gc.enable()
        summary = self.summary(time.monotonic() - started)
        summary["interrupted"] = stopped_by is not None
        summary["stopped_by"] = None if stopped_by is None else interrupts.signal_name(stopped_by)
        return summary

    def _stream(self, worker, seconds, frames, status, status_interval, started) -> int | None:
        """Open and run the stream until it should stop; returns the stop signal or None."""
        from .jackwatch import JackWatch

        self.stream = open_stream(self)
        if is_jack_stream(self.stream):
            self._watch = JackWatch.start()  # None when the JACK-Client package cannot
        worker.start()
        self.main_scheduling = request_realtime(MAIN_PRIORITY)
        self._check_server()
        start_stream(self)
        if self.on_start is not None:
            self.on_start(self)
        end_frames = None if self.file is None or self.loop else (
            self.file.shape[1] + self.measured_latency_samples)
        next_status = time.monotonic() + status_interval
        while True:
            time.sleep(TICK_S)
            signum = interrupts.take_pending()
            if signum is not None:
                return signum
            if self._error is not None:
                raise self._error
            if self._callback_tid != self._callback_tid_seen:
                self._raise_callback_thread()
            now = time.monotonic()
            if status is not None and now >= next_status:
                status(self)
                next_status = now + status_interval
            if seconds is not None and now - started >= seconds:
                return None
            if end_frames is not None and self.frames >= end_frames:
                return None
            if frames is not None and self.frames >= frames:
                return None
            self._check_device_alive()

    def _raise_callback_thread(self) -> None:
        """Real-time scheduling for the thread that runs the audio callback, unless the audio
        system gave it already (JACK does when its server runs real-time)."""
        tid = self._callback_tid_seen = self._callback_tid
        given = fifo_priority(tid)
        if not given:
            self.callback_scheduling = request_realtime(CALLBACK_PRIORITY, tid)
            return
        self.callback_scheduling = f"{thread_policy(tid)} (set by the audio system)"
        # Equal FIFO priorities do not preempt each other: stay below the callback.
        if not self._worker_tid:
            return
        worker = fifo_priority(self._worker_tid)
        if worker >= given:
            self.scheduling = (request_realtime(given - 1, self._worker_tid) if given > 1
                               else _normal(self._worker_tid))
        if fifo_priority() >= max(1, fifo_priority(self._worker_tid)):
            self.main_scheduling = (request_realtime(given - 2) if given > 2 else _normal(None))

    def _check_server(self) -> None:
        """Raise DeviceError at once if the JACK watchdog saw the server go away."""
        if self._watch is not None and self._watch.gone:
            abandon(self)
            raise DeviceError("the JACK server stopped (or dropped this client); "
                              "restart it and run again")

    def _check_device_alive(self) -> None:
        """Raise DeviceError when the stream has stopped calling back (device or server gone).

        PortAudio does not always notice: a JACK server that dies leaves the stream "active"
        with no callbacks. The JACK watchdog tells at once; elsewhere a stall of ``STALL_S``
        seconds counts as a lost device.
        """
        self._check_server()
        now = time.monotonic()
        if self.frames != self._last_frames or self._last_progress is None:
            self._last_frames, self._last_progress = self.frames, now
            return
        limit = STALL_S if self.frames else 2 * STALL_S  # the first callback may take longer
        if not self.stream.active or now - self._last_progress > limit:
            abandon(self)
            raise DeviceError("the audio device stopped delivering audio (disconnected, or its "
                              "server stopped?)")

    def _close_stream(self) -> None:
        # A stream whose server is gone is never closed: PortAudio would wait forever or abort.
        if self._watch is not None and self._watch.gone:
            abandon(self)
        if self.stream is not None and not self._device_lost:
            close_stream(self.stream)
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def device_latency_samples(self) -> int:
        """Input + output latency the stream reports (its own buffers), in samples."""
        if self.stream is None:
            return 0
        lat = self.stream.latency
        total = sum(lat) if isinstance(lat, tuple) else lat
        return int(round(total * self.sr))

    def summary(self, wall_seconds: float) -> dict:
        """The end-of-run numbers (see ``rtsep.live.status.session_summary``)."""
        return session_summary(self, wall_seconds)


def _normal(tid) -> str:
    restore_normal(tid)
    return "normal (the audio callback's real-time priority is too low to stay below)"


def burst_frames(blocksize: int, device_period: int | None) -> int:
    """Frames the callback may be asked for in one burst, the period the buffering must cover.

    When the audio system's period differs from the blocksize, PortAudio adapts: callbacks of
    ``blocksize`` frames come back to back once per device period (or one every few periods).
    """
    b = int(blocksize)
    p = int(device_period or b)
    if p == b:
        return b
    big, small = max(b, p), min(b, p)
    return big if big % small == 0 else big + small


def layout_output(out: np.ndarray, vocals: np.ndarray, karaoke: np.ndarray, mode: str) -> None:
    """Fill one output hop ``out`` ``(ring channels, hop)`` for ``--out mode``.

    ``vocals`` and ``karaoke`` are the engine's ``(engine channels, hop)``. ``both`` puts the
    vocals on the first half of the channels and the karaoke on the second; ``sum`` plays
    their sum (the delayed input, for loopback measurements). A mono engine's signal goes to
    every channel of its group; more engine channels than a group has are mixed down.
    """
    if mode == "sum":
        groups = [vocals + karaoke]
    else:
        groups = {"vocals": [vocals], "karaoke": [karaoke], "both": [vocals, karaoke]}[mode]
    width = out.shape[0] // len(groups)
    for g, sig in enumerate(groups):
        dst = out[g * width : (g + 1) * width]
        if sig.shape[0] == width:
            dst[:] = sig
        elif sig.shape[0] == 1:
            dst[:] = sig[0]
        else:
            dst[:] = sig.mean(axis=0)
