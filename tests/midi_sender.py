"""Plays a MIDI file's notes out of a JACK MIDI port in real time: the keyboard player of the
live-score tests.

Run as a separate process once the JACK server is up. Protocol on stdin/stdout, one line each:

- prints ``ready`` once its output port ``NAME:out`` exists (the session under test opens it);
- waits for a line on stdin, then sends every note on/off of the file at its time, and with
  ``--garbage`` also, between them: garbage bytes, incomplete messages, notes in running status,
  SysEx (whole and unterminated), undefined status bytes, and a note that never ends;
- prints ``sent EVENTS NOTE_ONS LOOSE OPEN`` (port events sent, note-ons among them, garbage
  events that begin with data bytes, which a receiver may rightly read as running status of
  the last note-on, and SysEx left open: rtmidi delivers each with the event that closes it
  as one message) and exits, so its port goes away while the session still runs.

    python tests/midi_sender.py --name sender --midi vocals.mid --garbage
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="JACK client name")
    ap.add_argument("--midi", required=True)
    ap.add_argument("--seconds", type=float, default=None, help="stop sending after this")
    ap.add_argument("--garbage", action="store_true")
    ap.add_argument("--linger", type=float, default=0.0, help="seconds to keep the port open")
    args = ap.parse_args()

    import rtmidi

    from rtsep.score import read_score

    tl = read_score(args.midi)
    events = [(float(t), [int(b) for b in m]) for t, m in zip(tl.times, tl.messages)
              if args.seconds is None or t < args.seconds]
    extra = []
    if args.garbage:
        ch = int(tl.messages[0][0]) & 0x0F
        # at times between the notes (never within 20 ms of one, so the notes stay exact)
        junk = [[0x45, 0x12, 0x7F],  # data bytes with no status
                [0x90 | ch],  # a note on cut short
                [0xF0, 0x01, 0x02, 0x03],  # SysEx left open, closed by the next event
                [0xF7],
                [0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7],  # a whole SysEx
                [0xF4], [0xFD], [0xF9],  # undefined status bytes
                [0xA0 | ch, 60, 10],  # poly pressure: valid, not used
                [0xB0 | ch, 7, 100]]  # a volume controller: valid, not used
        times = [t for t, _ in events]
        t = 0.3
        k = 0
        end = times[-1] if times else 1.0
        while t < end:
            if all(abs(t - u) > 0.02 for u in times):
                bad = junk[k % len(junk)]
                extra.append((t, bad))
                k += 1
                if bad[0] == 0xF0 and bad[-1] != 0xF7:
                    # rtmidi holds every later event back as part of an open SysEx until
                    # one ends in F7; the end follows at once so the notes are not delayed
                    extra.append((t + 0.001, junk[k % len(junk)]))
                    k += 1
            t += 0.13
        # a note that never ends, on the voice's channel, on a key the song does not use
        extra.append((0.1, [0x90 | ch, 20, 64]))
    plan = sorted(events + extra, key=lambda e: e[0])

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=args.name)
    out.open_virtual_port("out")
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    note_ons = loose = open_sysex = 0
    for t, msg in plan:
        delay = start + t - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        out.send_message(msg)
        note_ons += int(len(msg) == 3 and msg[0] >> 4 == 0x9 and msg[2] > 0)
        loose += int(msg[0] < 0x80)
        open_sysex += int(msg[0] == 0xF0 and msg[-1] != 0xF7)
    time.sleep(args.linger)
    print(f"sent {len(plan)} {note_ons} {loose} {open_sysex}", flush=True)
    out.close_port()
    out.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
