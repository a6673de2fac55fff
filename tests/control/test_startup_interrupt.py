"""Ctrl-C or SIGTERM at any moment of `serve`'s start-up (imports, fixtures, binding, the
banner) is a stop like a later one: quiet, status 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

SERVE = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_start_up_exits_quietly_with_the_status_of_a_stop(signum):
    # From the moment the package's own code runs (the interpreter's start, before it, is
    # Python's): through its imports, the fixtures, the app, the banner.
    for delay in (0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 0.9):
        with subprocess.Popen(
            SERVE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            time.sleep(delay)
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=30)
        assert (process.returncode, stderr) == (0, ""), (delay, stderr)
        assert "Traceback" not in stdout
