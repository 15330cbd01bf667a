"""`rtsep live --midi`: a real JACK MIDI port steers the separation while the song plays.

A sender process (tests/midi_sender.py, python-rtmidi on JACK) plays the vocal line of the
rendered song, with garbage between the notes, and quits before the song ends, so its port
disappears mid-run. `rtsep live` plays the song through the JACK dummy server and follows the
port; its summary must count every note, the garbage, the lost port, and time each event from
arrival to the mask that uses it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .jackserver import raise_priority
from .test_live import _readline

pytestmark = pytest.mark.jack

HERE = Path(__file__).resolve().parent
SR, HOP = 44100, 256
SECONDS = 12.0


def _song_and_score(tmp_path: Path) -> tuple[Path, Path]:
    from rtsep.io.audio import read_audio
    from rtsep.songs.default import render_default_song

    paths = render_default_song(sr=SR)
    mix, sr = read_audio(paths["mixture"])
    wav = tmp_path / "song.wav"
    sf.write(wav, mix[:, : int(SECONDS * sr)].T, sr, subtype="FLOAT")
    return wav, paths["vocals_midi"]


def _rtsep(jack, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtsep", *args], env=jack.env(),
                          capture_output=True, text=True, timeout=timeout)


def test_live_follows_a_jack_midi_port_through_garbage_and_its_loss(jack, tmp_path):
    wav, score = _song_and_score(tmp_path)
    stats_path = tmp_path / "stats.json"
    env = jack.env()
    sender = subprocess.Popen(
        [sys.executable, str(HERE / "midi_sender.py"), "--name", "sender", "--midi", str(score),
         "--garbage", "--seconds", str(SECONDS - 3.0)],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=raise_priority)
    live = None
    try:
        assert _readline(sender, 60) == "ready"
        listed = _rtsep(jack, "midi-ports")
        assert listed.returncode == 0 and "sender:out" in listed.stdout, listed
        wrong = _rtsep(jack, "live", "--in", str(wav), "--device", "system", "--midi", "nosuch")
        assert wrong.returncode == 2
        assert wrong.stderr.strip().splitlines() == [
            "rtsep: error: no MIDI input matches 'nosuch'; run `rtsep midi-ports` to see the "
            "MIDI inputs"]
        live = subprocess.Popen(
            [sys.executable, "-m", "rtsep", "live", "--in", str(wav), "--out", "vocals",
             "--device", "system", "--jack-name", "rtm", "--midi", "sender",
             "--buffer-hops", "4", "--stats-json", str(stats_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=raise_priority)
        # rtmidi connected the port itself; the test server ignores clients' own connection
        # requests (tests wire every connection they mean), so the test makes it
        jack.wait_for_ports(["rtm-midi:score"], timeout=60)
        jack.connect("sender:out", "rtm-midi:score")
        jack.wait_for_ports(["rtm:out_0"], timeout=60)  # the stream runs: start playing
        sender.stdin.write("go\n")
        sender.stdin.flush()
        sent = _readline(sender, SECONDS + 30).split()
        assert sent[0] == "sent", sent
        events, note_ons, loose, open_sysex = (int(v) for v in sent[1:5])
        assert sender.wait(timeout=10) == 0
        _, err = live.communicate(timeout=SECONDS + 30)
    finally:
        for proc in (sender, live):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert live.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    sc = json.loads(stats_path.read_text())["score"]
    assert "score: notes" in err  # the status line shows the score
    # Every note arrived (and garbage data bytes after a note-on are running status: notes too);
    # every event arrived, but an open SysEx and the F7 that closes it come as one message.
    assert note_ons <= sc["notes_started"] <= note_ons + loose and note_ons > 10
    assert sc["events_received"] == events - open_sysex
    assert sc["events_dropped"] >= 5  # garbage bytes and cut messages, counted
    assert sc["events_ignored"] >= 5  # SysEx and undefined bytes, counted
    assert sc["port_lost"] == 1 and sc["notes_active"] == 0  # the stuck note ended with the port
    hop_ms = 1000 * HOP / SR
    print(f"event to mask: p50 {sc['latency_p50_ms']:.2f} ms, p99 {sc['latency_p99_ms']:.2f} ms,"
          f" max {sc['latency_max_ms']:.2f} ms over {sc['events_timed']} events; hop {hop_ms:.2f}")
    assert sc["events_timed"] == sc["events_received"]
    # The goal: under 5 ms plus one hop. The median must meet it; the tail is left to the
    # scheduler of a shared test machine, with a bound that still catches a missed hop.
    assert sc["latency_p50_ms"] < 5.0 + hop_ms, sc
    assert sc["latency_p99_ms"] < 5.0 + 4 * hop_ms, sc
    assert np.isfinite(sc["latency_max_ms"])
