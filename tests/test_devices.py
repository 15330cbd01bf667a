"""Device listing and resolution: on the JACK dummy server, and with no audio devices at all."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rtsep.errors import DeviceError
from rtsep.live.devices import format_table, match_device

RTSEP = [sys.executable, "-m", "rtsep"]


def _dev(index, name, n_in, n_out):
    return {"index": index, "name": name, "hostapi": "ALSA", "max_input_channels": n_in,
            "max_output_channels": n_out, "default_samplerate": 48000.0,
            "default_input": False, "default_output": False}


# Names as real ALSA systems list them.
ALSA = [_dev(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", 2, 2),
        _dev(1, "HDA Intel PCH: HDMI 0 (hw:0,3)", 0, 8),
        _dev(2, "USB Audio CODEC: - (hw:1,0)", 2, 2),
        _dev(3, "default", 32, 32)]


def test_match_by_index_name_substring_and_exact_name():
    assert match_device(ALSA, 2, "input") == 2
    assert match_device(ALSA, "2", "output") == 2
    assert match_device(ALSA, "usb", "input") == 2
    assert match_device(ALSA, "hdmi", "output") == 1
    assert match_device(ALSA, "DEFAULT", "output") == 3  # exact name beats substrings


@pytest.mark.parametrize("spec, kind, words", [
    ("nosuch", "input", "no input device matches"),
    (9, "output", "no audio device with index 9"),
    ("hda", "output", "matches several output devices"),
    ("hdmi", "input", "no input device matches"),  # HDMI has no inputs
    ("1", "input", "has no input channels"),
])
def test_unknown_ambiguous_or_wrong_direction_is_a_one_line_device_error(spec, kind, words):
    with pytest.raises(DeviceError) as err:
        match_device(ALSA, spec, kind)
    msg = str(err.value)
    assert words in msg and "rtsep devices" in msg and "\n" not in msg


def test_table_lists_every_device():
    text = format_table(ALSA)
    assert all(d["name"] in text for d in ALSA)
    assert "no audio devices" in format_table([])


def _no_audio_env():
    import os

    env = dict(os.environ)
    env["JACK_DEFAULT_SERVER"] = "rtsep_no_such_server"  # no JACK; this machine has no ALSA card
    env["JACK_NO_START_SERVER"] = "1"
    return env


def test_cli_without_devices_says_so_in_one_line():
    env = _no_audio_env()
    listed = subprocess.run([*RTSEP, "devices", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    if json.loads(listed.stdout):
        pytest.skip("this machine has real audio devices")
    live = subprocess.run([*RTSEP, "live", "--device", "system", "--seconds", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert live.returncode == 2
    assert live.stderr.strip().startswith("rtsep: error: no audio devices found")
    assert "Traceback" not in live.stderr and len(live.stderr.strip().splitlines()) == 1


@pytest.mark.jack
def test_cli_lists_the_jack_device_and_rejects_unknown_ones(jack):
    listed = subprocess.run([*RTSEP, "devices", "--json"], env=jack.env(), capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    devices = json.loads(listed.stdout)
    jackdev = [d for d in devices if "JACK" in d["hostapi"]]
    assert len(jackdev) == 1
    assert jackdev[0]["max_input_channels"] == 2 and jackdev[0]["max_output_channels"] == 2
    assert jackdev[0]["default_samplerate"] == 44100
    table = subprocess.run([*RTSEP, "devices"], env=jack.env(), capture_output=True, text=True, timeout=60)
    assert "system" in table.stdout and "JACK Audio Connection Kit" in table.stdout
    for spec in ("nosuch", "42"):
        bad = subprocess.run([*RTSEP, "live", "--device", spec, "--seconds", "1"], env=jack.env(),
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2
        assert "rtsep devices" in bad.stderr and "Traceback" not in bad.stderr
    # --out both needs four output channels; the server has two.
    both = subprocess.run([*RTSEP, "live", "--device", "system", "--out", "both", "--seconds", "1"],
                          env=jack.env(), capture_output=True, text=True, timeout=60)
    assert both.returncode == 2 and "needs 4 output channels" in both.stderr
