"""Installed into someone else's project, the package stays out of the way: the pytest plugin
loads nothing heavy, nothing it imports warns, and its fixtures work under `-W error`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("connexion", "starlette", "uvicorn", "jsonschema", "yaml", "httpx", "schemathesis")


def loaded_after(statement: str) -> list[str]:
    """The heavy top-level modules a fresh interpreter holds after `statement` (warnings fail)."""
    probe = f"{statement}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return sorted({name.split(".")[0] for name in json.loads(result.stdout)} & set(HEAVY))


@pytest.mark.parametrize("statement", ["import mock_server", "import mock_server.pytest_plugin"])
def test_the_package_and_its_plugin_import_nothing_heavy(statement):
    assert loaded_after(statement) == []


def test_the_whole_mock_imports_without_a_warning():
    assert "connexion" in loaded_after("from mock_server import create_app; create_app()")


def test_only_the_compatibility_module_imports_connexion():
    importers = []
    for path in sorted((ROOT / "mock_server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "connexion" for name in names):
                importers.append(path.relative_to(ROOT / "mock_server").as_posix())
    assert sorted(set(importers)) == ["_compat.py"]


USER_PROJECT = ROOT / ".ci" / "user_project"


def run_user_project(tmp_path: Path, *selection: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text((USER_PROJECT / "test_user.py").read_text())
    # Python's -W covers what loads before pytest reads its options, pytest's -W the tests.
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "-W", "error", *selection],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_user_project_runs_under_w_error_with_no_warnings_unrelated_tests_load_no_mock(
    tmp_path,
):
    unrelated = run_user_project(tmp_path, "test_user.py::test_unrelated_test_loads_no_mock")
    assert unrelated.returncode == 0, unrelated.stdout + unrelated.stderr
    assert "1 passed" in unrelated.stdout and "warning" not in unrelated.stdout

    everything = run_user_project(tmp_path)
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert "3 passed" in everything.stdout and "warning" not in everything.stdout


def test_the_contract_suites_pytest_options_are_registered_outside_a_checkout(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # a user's project, not this checkout
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "pytest", "-p", "no:cacheprovider", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for option in ("--unleash-url", "--unleash-token", "--unleash-read-only"):
        assert option in result.stdout
    assert "--base-url" not in result.stdout  # pytest-base-url's, not ours to take
