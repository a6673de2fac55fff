"""A user's `pytest -n 2` suite in which a test leaves a slow request in flight passes: the
next test's reset fences the request off (scripts/xdist_isolation.py runs it 50 times)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "xdist_isolation.py"


@pytest.mark.slow
def test_a_user_suite_under_xdist_with_a_request_left_in_flight_passes():
    spec = importlib.util.spec_from_file_location("xdist_isolation", SCRIPT)
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    for _ in range(2):
        result = runner.run_once()
        assert result.returncode == 0, result.stdout[-3000:]
        assert "16 passed" in result.stdout
