"""Fixtures are checked whole before anything changes, and applied all or nothing; a state file
that cannot be loaded stops `serve` with a message, never a traceback or an empty start."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from mock_server import FixtureError, create_app, fixtures
from mock_server.persistence import StateFileError
from tests.conftest import ADMIN_PAT, FUTURE

C = "/_unleash-pat"
JSON = {"Content-Type": "application/json"}
NEW = "user:" + "cd" * 28


def _pat(description: str = "p", secret: str = NEW) -> dict:
    return {"description": description, "secret": secret, "expiresAt": FUTURE}


BAD_FIXTURES = [
    ('{"users": [{"id": 1e300, "username": "big"}]}', "2147483647"),
    ('{"users": [{"id": 1e28, "username": "big"}]}', "2147483647"),
    ('{"users": [{"id": 2147483648, "username": "big"}]}', "2147483647"),
    ('{"users": [{"id": 0, "username": "zero"}]}', "at least 1"),
    ('{"users": [{"id": 5, "username": "\\ud800"}]}', "UTF-8"),
    ('{"users": [{"id": 5, "username": "e", "email": "a\\udfff@example.com"}]}', "UTF-8"),
    ('{"users": [{"id": 5, "username": "p", "password": "pw\\ud83d"}]}', "UTF-8"),
    ('{"adminTokens": ["\\udc00abcdefgh"]}', "UTF-8"),
    ('{"users": [{"id": 5, "username": "' + "u" * 256 + '"}]}', "too long"),
    ('{"users": [{"id": 5, "username": "nul\\u0000"}]}', "NUL"),
    (
        json.dumps({"users": [{"id": 5, "username": "n", "pats": [_pat("a\x00b")]}]}),
        "NUL",
    ),
    (
        json.dumps(
            {
                "users": [
                    {
                        "id": 5,
                        "username": "many",
                        "pats": [_pat(f"p{n}", f"user:{n:056x}") for n in range(11)],
                    }
                ]
            }
        ),
        "at most 10",
    ),
    # One valid user, then one that fails: the valid one is not added either.
    ('{"users": [{"id": 5, "username": "fine"}, {"id": 6, "username": "\\ud800"}]}', "UTF-8"),
]


@pytest.mark.parametrize(("text", "words"), BAD_FIXTURES)
@pytest.mark.parametrize("mode", ["add", "replace"])
def test_fixtures_that_cannot_be_kept_change_nothing(tmp_path, text, words, mode):
    path = tmp_path / "state.db"
    app = create_app(state_path=path)
    with TestClient(app) as client:
        response = client.post(f"{C}/fixtures?mode={mode}", content=text, headers=JSON)
        assert response.status_code == 400, response.text
        assert words in response.json()["error"]
        assert ADMIN_PAT not in response.text
        state = client.get(f"{C}/state").json()
        assert [u["username"] for u in state["users"]] == ["admin", "alice"]
    app.state.close()
    restarted = create_app(state_path=path)  # the file still loads, with every PAT
    assert [u.username for u in restarted.state.accounts.users()] == ["admin", "alice"]
    assert restarted.state.pats.find(ADMIN_PAT) is not None
    restarted.state.close()


def test_fixtures_parsed_from_data_refuse_a_lone_surrogate_and_deep_nesting():
    with pytest.raises(FixtureError, match="users/0/username: not encodable as UTF-8"):
        fixtures.parse({"users": [{"id": 3, "username": "bad\ud800"}]})
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(FixtureError, match="nested deeper than 32 levels"):
        fixtures.parse({"users": deep})


def test_a_change_that_fails_while_adding_is_rolled_back(tmp_path, monkeypatch):
    path = tmp_path / "state.db"
    app = create_app(state_path=path)
    body = {
        "users": [{"id": 5, "username": "a"}, {"id": 6, "username": "b", "pats": [_pat()]}],
        "adminTokens": ["new-admin-token"],
    }
    from mock_server.persistence import StateFile

    def disk_full(self, pat, secret, next_id):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(StateFile, "pat_created", disk_full)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(f"{C}/fixtures", json=body)
        assert response.status_code == 500
        state = client.get(f"{C}/state").json()
        assert [u["username"] for u in state["users"]] == ["admin", "alice"]
        assert state["adminTokens"] == ["*:*.unleash-insecure-admin-api-token"]
        assert app.state.pats.find(NEW) is None and app.state.pats.find(ADMIN_PAT) is not None
    monkeypatch.undo()
    app.state.close()
    restarted = create_app(state_path=path)
    assert [u.username for u in restarted.state.accounts.users()] == ["admin", "alice"]
    assert restarted.state.accounts.admin_tokens() == ["*:*.unleash-insecure-admin-api-token"]
    restarted.state.close()


def test_an_unexpected_control_error_answers_a_generic_500_and_logs_it(monkeypatch, caplog):
    app = create_app()

    def broken() -> dict:
        raise RuntimeError(f"boom with {ADMIN_PAT}")

    monkeypatch.setattr(app.state, "snapshot", lambda secrets=False: broken())
    with TestClient(app) as client, caplog.at_level(logging.ERROR):
        response = client.get(f"{C}/state")
    assert response.status_code == 500
    assert ADMIN_PAT not in response.text and "boom" not in response.text
    assert set(response.json()) == {"error"}
    assert any("GET /_unleash-pat/state" in r.getMessage() for r in caplog.records)


def _serve(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def _break(path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(sql)
    db.close()


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO pats VALUES (99, 12345, 'orphan', '2099-01-01T00:00:00+00:00', "
        "'2020-01-01T00:00:00+00:00', 'user:" + "ef" * 28 + "');",
        "UPDATE pats SET expires_at = 'not a date';",
        "DROP TABLE users;",
        "DELETE FROM meta;",
        "CREATE TABLE other (x); INSERT INTO other VALUES (1);",
    ],
)
def test_a_state_file_that_cannot_be_loaded_stops_serve_naming_it(tmp_path, sql):
    path = tmp_path / "state.db"
    create_app(state_path=path).state.close()
    _break(path, sql)
    before = path.read_bytes()
    result = _serve("--state", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before  # not wiped, not seeded over
    with pytest.raises(StateFileError, match=r"state\.db"):
        create_app(state_path=path)


def test_a_file_that_is_no_database_stops_serve_naming_it(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00" * 8192)
    result = _serve("--state", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    assert str(path) in result.stderr and "Traceback" not in result.stderr
