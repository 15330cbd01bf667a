"""Shared set-up: the tests' own cache folder, and a private JACK dummy server for tests marked
``jack``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Rendered songs, ONNX exports and measured attack delays go to a cache of the checkout's own
# (git ignores .cache/), never to the user's ~/.cache. Set before any rtsep import, and
# inherited by the subprocesses the tests start.
os.environ["RTSEP_CACHE_DIR"] = str(Path(__file__).resolve().parents[1] / ".cache" / "tests")

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
