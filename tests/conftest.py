"""Shared fixtures: a private JACK dummy server for tests marked ``jack``."""

from __future__ import annotations

import os

import pytest

from .jackserver import JackServer, missing_tools


@pytest.fixture(scope="session")
def jack():
    """A running ``jackd -d dummy`` at 44.1 kHz, period 256, 2 in / 2 out, for the session.

    Skips when jackd2's tools are missing, except under CI (``CI`` set), where the install
    step provides them and their absence is a failure.
    """
    missing = missing_tools()
    if missing:
        reason = f"JACK tools not installed ({', '.join(missing)}; Debian package jackd2)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = JackServer(rate=44100, period=256, channels=2).start()
    try:
        yield server
    finally:
        server.stop()
