"""The state file is one server's: a second one on it is refused, and a file unlinked, replaced,
truncated or zeroed under a running server fails the next write loudly instead of taking it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from mock_server.persistence import StateFileError
from tests.conftest import ADMIN_PAT, TOKENS, auth, create, listed

SERVE = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0"]


def test_a_second_mock_on_the_same_state_file_is_refused_until_the_first_closes(tmp_path):
    path = tmp_path / "state.db"
    first = create_app(state_path=path)
    with pytest.raises(StateFileError, match=r"state\.db.*in use"):
        create_app(state_path=path)
    first.state.close()
    create_app(state_path=path).state.close()


def test_a_second_serve_on_the_same_state_file_exits_2_naming_it(tmp_path):
    path = tmp_path / "state.db"
    with subprocess.Popen(
        [*SERVE, "--state", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as first:
        try:
            assert "unleash-pat mock" in first.stdout.readline()  # serving, the file locked
            second = subprocess.run(
                [*SERVE, "--state", str(path)], capture_output=True, text=True, timeout=30
            )
            assert (second.returncode, second.stdout) == (2, "")
            assert str(path) in second.stderr and "in use" in second.stderr
            assert "Traceback" not in second.stderr
        finally:
            first.send_signal(signal.SIGTERM)
            assert first.wait(15) == 0


def _unlink(path: Path) -> None:
    path.unlink()


def _replace(path: Path) -> None:
    other = path.with_name("other.db")
    other.write_bytes(path.read_bytes())
    os.replace(other, path)


def _truncate(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(0)


def _zero(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.write(b"\x00" * size)


@pytest.mark.parametrize("damage", [_unlink, _replace, _truncate, _zero])
def test_a_write_to_a_state_file_changed_under_the_server_fails_loudly(tmp_path, damage, caplog):
    path = tmp_path / "state.db"
    app = create_app(state_path=path)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert create(client, "kept").status_code == 201
            damage(path)
            with caplog.at_level(logging.ERROR):
                response = create(client, "not kept")
            assert response.status_code == 500
            assert set(response.json()) >= {"name", "message"}  # Unleash's error shape
            assert [p["description"] for p in listed(client)] == ["default", "kept"]
            deleted = client.delete(f"{TOKENS}/1", headers=auth(ADMIN_PAT))
            assert deleted.status_code == 500
            assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200  # reads go on
        logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any(str(path) in line and "not kept" in line for line in logged), logged
    finally:
        app.state.close()
