"""Plays a file into JACK and records what comes back: the far end of the live-session tests.

Run as a separate process after the JACK server is up (PortAudio only sees JACK if it runs
when PortAudio starts). Protocol on stdin/stdout, one line each:

- prints ``ready`` once its ports ``NAME:out_N`` / ``NAME:in_N`` exist (the test wires them);
- waits for a line on stdin, then starts the file at the next period boundary, and records
  the input from that same frame on;
- when the file and ``--tail`` seconds have passed, writes the recording (float32 WAV) and
  prints ``done START_FRAME LATENCY`` (the stream's reported input + output latency, frames).

Because both directions share one duplex stream, recorded frame ``i`` and played frame ``i``
are the same instant: the recording's lag against the file is the round trip.

    python tests/jack_player.py --name player --play song.wav --record rec.wav --tail 1.5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import soundfile as sf


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="JACK client name")
    ap.add_argument("--play", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--tail", type=float, default=1.5, help="seconds recorded after the file")
    ap.add_argument("--period", type=int, default=256)
    args = ap.parse_args()

    from rtsep.live.devices import rescan

    rescan(jack_client_name=args.name)
    import sounddevice as sd

    audio, sr = sf.read(args.play, dtype="float32", always_2d=True)  # (frames, channels)
    channels = audio.shape[1]
    total = audio.shape[0] + int(args.tail * sr)
    rec = np.zeros((total, channels), dtype=np.float32)
    state = {"frame": 0, "start": -1}

    def callback(indata, outdata, frames, time_info, status):
        f0 = state["frame"]
        start = state["start"]
        outdata.fill(0.0)
        if start >= 0:
            a = max(f0, start)  # first frame of this block at or after the start
            b = f0 + frames
            if a < b:
                i0, i1 = a - start, b - start
                n_play = max(0, min(i1, audio.shape[0]) - i0)
                if n_play:
                    outdata[a - f0 : a - f0 + n_play] = audio[i0 : i0 + n_play]
                n_rec = max(0, min(i1, total) - i0)
                if n_rec:
                    rec[i0 : i0 + n_rec] = indata[a - f0 : a - f0 + n_rec]
        state["frame"] = f0 + frames

    stream = sd.Stream(samplerate=sr, blocksize=args.period, channels=channels,
                       dtype="float32", callback=callback)
    with stream:
        print("ready", flush=True)
        sys.stdin.readline()
        now = state["frame"]
        start = (now // args.period + 2) * args.period  # a period boundary the callback will reach
        state["start"] = start
        while state["frame"] < start + total + args.period:
            time.sleep(0.05)
        latency = int(round(sum(stream.latency) * sr))  # this stream's own buffering, frames
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=os.path.dirname(os.path.abspath(args.record)))
    os.close(fd)
    sf.write(tmp, rec, sr, subtype="FLOAT")
    os.replace(tmp, args.record)
    print(f"done {start} {latency}", flush=True)
    sd._terminate()  # before the JACK server goes away, or PortAudio aborts at exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
