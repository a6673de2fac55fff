"""Hostile sizes at the control plane: fault rules and admin tokens are capped, a request
resolves its caller once whatever the rules, a 16 MB fixtures upload is parsed and checked off
the event loop, and nesting beyond reason is a 400 (or exit 2 from `serve --fixtures`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import callers, create_app
from mock_server.control.faults import MAX_RULES
from mock_server.control.routes import MAX_BODY
from mock_server.units.accounts import MAX_ADMIN_TOKENS
from tests.conftest import ADMIN_PAT, TOKENS, auth

pytestmark = pytest.mark.hostile
C = "/_unleash-pat"


def test_fault_rules_are_capped(client):
    for n in range(MAX_RULES):
        rule = {"match": {"user": 1000 + n}, "status": 503}
        assert client.post(f"{C}/faults", json=rule).status_code == 201
    over = client.post(f"{C}/faults", json={"status": 503})
    assert over.status_code == 409
    assert str(MAX_RULES) in over.json()["error"]
    assert len(client.get(f"{C}/faults").json()["faults"]) == MAX_RULES


def test_a_request_resolves_its_caller_once_however_many_rules_match_a_user(monkeypatch):
    app = create_app()
    for n in range(MAX_RULES):
        app.state.faults.add({"match": {"user": 1000 + n}, "status": 503})
    resolved = []
    real = callers.resolve
    monkeypatch.setattr(callers, "resolve", lambda *a: resolved.append(1) or real(*a))
    with TestClient(app) as client:
        client.get(TOKENS, headers=auth(ADMIN_PAT))  # warm up connexion
        resolved.clear()
        started = time.perf_counter()
        for _ in range(20):
            assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200
        elapsed = (time.perf_counter() - started) / 20
    assert len(resolved) == 20 * 2  # once for the rules, once by authentication
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms per request with {MAX_RULES} rules"


def test_admin_tokens_are_capped_per_upload_and_in_total(client):
    tokens = [f"*:*.{n:032x}" for n in range(MAX_ADMIN_TOKENS + 1)]
    too_many = client.post(f"{C}/fixtures", json={"adminTokens": tokens})
    assert too_many.status_code == 400
    assert f"at most {MAX_ADMIN_TOKENS}" in too_many.json()["error"]
    assert client.post(f"{C}/fixtures", json={"adminTokens": tokens[:-2]}).status_code == 200
    beyond = client.post(f"{C}/fixtures", json={"adminTokens": tokens[-2:]})
    assert beyond.status_code == 409
    assert len(client.get(f"{C}/state").json()["adminTokens"]) == MAX_ADMIN_TOKENS


def test_a_16_mb_fixtures_upload_is_parsed_and_checked_off_the_event_loop(
    served_mock, health_stays_responsive
):
    user = {"id": 0, "username": "", "email": "someone@example.com", "password": "p" * 40}
    widest = json.dumps(user | {"id": 99_999_999, "username": "user99999999"})
    count = (MAX_BODY - 1000) // (len(widest) + 2)
    users = [user | {"id": n + 10, "username": f"user{n}"} for n in range(count)]
    users.append({"id": 0, "username": "last"})  # invalid: id 0, found after all the others
    body = json.dumps({"users": users}).encode()
    assert MAX_BODY - 2_000_000 < len(body) < MAX_BODY

    def upload() -> httpx.Response:
        return httpx.post(
            f"{served_mock.url}{C}/fixtures",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )

    # Not 100 ms: building a document of a million objects sets off the cyclic collector, whose
    # full passes hold the GIL for tens of milliseconds each (8 s on the event loop before).
    response = health_stays_responsive(upload, 0.5)
    assert response.status_code == 400 and "users" in response.json()["error"]
    assert len(served_mock.app.state.accounts.users()) == 2


def _serve_with_fixtures(path) -> subprocess.CompletedProcess[str]:
    """`serve --fixtures path`, which must refuse them: exit 2, nothing on stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--fixtures", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout) == (2, "")
    return result


@pytest.mark.parametrize(
    "text",
    [
        "users: " + "[" * 200 + "]" * 200,
        "users: " + "[" * 100_000,
        "users:\n" + "".join("  " * n + "- \n" for n in range(400)),
    ],
    # Short ids: the text in one would pass 128 kB to the server through PYTEST_CURRENT_TEST.
    ids=["flow-brackets", "unclosed-brackets", "indented-lists"],
)
def test_serve_refuses_deeply_nested_fixtures_with_exit_2(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    result = _serve_with_fixtures(path)
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_yaml_aliases_at_once(tmp_path):
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    laughs += [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(laughs) + "\nusers: [*i]\n")
    started = time.perf_counter()
    result = _serve_with_fixtures(path)
    assert "aliases are not accepted" in result.stderr
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("path", ["/faults", "/options", "/clock/advance"])
def test_deeply_nested_control_bodies_are_a_400_naming_the_depth(client, path):
    deep = '{"body": ' + "[" * 500 + "]" * 500 + ', "status": 503}'
    response = client.request(
        "PUT" if path == "/options" else "POST",
        C + path,
        content=deep,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "deeper than" in response.json()["error"]


def test_the_journal_does_not_scan_the_admin_tokens_per_request(monkeypatch):
    app = create_app()
    with TestClient(app) as client:
        tokens = [f"*:*.{n:032x}" for n in range(MAX_ADMIN_TOKENS - 1)]
        client.post(f"{C}/fixtures", json={"adminTokens": tokens})
        accounts = type(app.state.accounts)

        def listed(self):
            raise AssertionError("every admin token listed for one request")

        monkeypatch.setattr(accounts, "admin_tokens", listed)
        client.get(f"/nowhere/{tokens[-1]}", headers=auth(tokens[-1]))
        monkeypatch.undo()
        entry = client.get(f"{C}/journal").json()["requests"][-1]
        assert tokens[-1] not in json.dumps(entry)


def test_a_control_body_other_than_fixtures_is_held_to_a_megabyte(client):
    from mock_server.control.routes import MAX_JSON_BODY

    big = '{"status": 503, "body": "' + "x" * MAX_JSON_BODY + '"}'
    response = client.post(f"{C}/faults", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert client.get(f"{C}/faults").json() == {"faults": []}
