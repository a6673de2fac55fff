"""Ctrl-C or SIGTERM at any moment of `serve`'s start-up (imports, fixtures, binding, the
banner) is a stop like a later one: quiet, status 0."""

from __future__ import annotations

import ast
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import mock_server.cli

# -X importtime names each import on stderr as it completes. The last module the CLI imports at
# its top marks the moment its own code holds the signals, however long the interpreter took to
# get there on a busy machine (before it, a stop is Python's: a KeyboardInterrupt traceback).
SERVE = [sys.executable, "-X", "importtime", "-m", "mock_server.cli", "serve", "--port", "0"]
IMPORT_TIME = "import time:"


def _last_top_level_import() -> str:
    tree = ast.parse(Path(mock_server.cli.__file__).read_text())
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    last = imports[-1]
    return last.module if isinstance(last, ast.ImportFrom) else last.names[0].name  # type: ignore[return-value]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_start_up_exits_quietly_with_the_status_of_a_stop(signum):
    marker = _last_top_level_import()
    # Through the rest of its start: the mock's imports, the fixtures, the app, the banner.
    for delay in (0.0, 0.05, 0.1, 0.15, 0.25, 0.45, 0.75):
        with subprocess.Popen(
            SERVE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            assert process.stderr is not None
            seen = []
            watchdog = threading.Timer(30, process.kill)  # a marker never seen ends the wait
            watchdog.start()
            for line in process.stderr:
                seen.append(line)
                if line.rpartition("|")[2].strip() == marker:  # nested imports are indented
                    break
            else:
                pytest.fail(f"the CLI never imported {marker}: {''.join(seen)[-500:]}")
            watchdog.cancel()
            time.sleep(delay)
            process.send_signal(signum)
            try:
                stdout, rest = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"the stop {delay} s after start-up's imports went unheeded")
        stderr = "".join(
            line
            for line in [*seen, *rest.splitlines(keepends=True)]
            if not line.startswith(IMPORT_TIME)
        )
        assert (process.returncode, stderr) == (0, ""), (delay, stderr)
        assert "Traceback" not in stdout
