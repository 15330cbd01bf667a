"""The JACK test harness itself: a server that runs for the whole session must never block."""

from __future__ import annotations

import os
import stat

import pytest

from .jackserver import JackServer, missing_tools


def test_jackd_output_goes_to_a_file_not_a_pipe():
    # jackd logs each late wake-up of the dummy driver. Written to a pipe that nobody reads,
    # 64 KiB of that blocked jackd in write() and froze its graph for the rest of the session
    # (CI saw jack_connect and jack_lsp time out).
    if missing_tools():
        pytest.skip("JACK tools not installed")
    server = JackServer().start()
    try:
        log = getattr(server, "log_path", None)
        for fd in (1, 2):
            mode = os.stat(f"/proc/{server.proc.pid}/fd/{fd}").st_mode
            assert stat.S_ISREG(mode), f"jackd's fd {fd} is not a regular file"
        assert "JACK server starting" in server.log_tail()
    finally:
        server.stop()
    assert not log.exists()  # the log goes with its server
