"""One reset returns the mock to how it started, and fences off the requests that were in flight
when it came (they change nothing in the new state, and their clients see a failure)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app
from tests.conftest import ADMIN_PAT, FUTURE, TOKENS, auth, create, served

C = "/_unleash-pat"


def test_a_reset_returns_every_part_of_the_mock_to_its_start():
    clock = Clock()
    clock.freeze(clock.now().replace(year=2030))
    started_at = clock.time()
    app = create_app(options=Options(token_expiry_notifications=True, seed=3), clock=clock)
    with TestClient(app) as client:
        first = create(client, "first").json()["secret"]
        started_options = client.get(f"{C}/options").json()
        client.post(f"{C}/reset")
        client.put(f"{C}/options", json={"pats_kill_switch": True, "rate_limit_per_minute": 5})
        client.put(f"{C}/clock", json={"now": "2040-01-01T00:00:00Z"})
        client.post(f"{C}/faults", json={"match": {"path": "/nowhere"}, "status": 500})
        client.post("/auth/simple/login", json={"username": "admin", "password": "unleash4all"})
        client.get(TOKENS, headers=auth(ADMIN_PAT))
        replaced = {"users": [{"id": 9, "username": "zed"}], "adminTokens": ["zed-token"]}
        client.post(f"{C}/fixtures?mode=replace", json=replaced)

        assert client.post(f"{C}/reset").status_code == 204

        assert client.get(f"{C}/options").json() == started_options
        assert app.state.clock.time() == started_at and app.state.clock.frozen
        assert client.get(f"{C}/faults").json() == {"faults": []}
        assert client.get(f"{C}/journal").json() == {"count": 0, "requests": []}
        assert len(app.state.sessions) == len(app.state.pat_limiter) == 0
        state = client.get(f"{C}/state").json()
        assert [u["username"] for u in state["users"]] == ["admin", "alice"]
        assert state["adminTokens"] == ["*:*.unleash-insecure-admin-api-token"]
        client.cookies.clear()
        assert create(client, "first").json()["secret"] == first  # the seed starts again
        assert client.get(f"{C}/journal").json()["requests"][0]["seq"] == 1


def test_replacing_fixtures_keeps_clock_options_faults_and_journal():
    with TestClient(create_app()) as client:
        client.put(f"{C}/options", json={"pats_kill_switch": True})
        client.put(f"{C}/clock", json={"frozen": True})
        client.post(f"{C}/faults", json={"match": {"path": "/nowhere"}, "status": 500})
        client.get("/health")
        replaced = {"users": [{"id": 9, "username": "zed"}]}
        response = client.post(f"{C}/fixtures?mode=replace", json=replaced)
        assert [u["username"] for u in response.json()["users"]] == ["zed"]
        assert client.get(f"{C}/options").json()["pats_kill_switch"] is True
        assert client.get(f"{C}/clock").json()["frozen"] is True
        assert len(client.get(f"{C}/faults").json()["faults"]) == 1
        assert client.get(f"{C}/journal").json()["count"] == 1


def _create_in_flight(url: str, outcome: list[httpx.Response]) -> threading.Thread:
    def send() -> None:
        body = {"description": "in flight", "expiresAt": FUTURE}
        outcome.append(httpx.post(url + TOKENS, headers=auth(ADMIN_PAT), json=body, timeout=10))

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_a_delayed_request_in_flight_across_a_reset_changes_nothing_and_fails():
    app = create_app()
    with served(app) as url, httpx.Client(base_url=url) as control:
        rule = {"match": {"method": "POST", "path": TOKENS}, "delay_ms": 600}
        assert control.post(f"{C}/faults", json=rule).status_code == 201
        outcome: list[httpx.Response] = []
        thread = _create_in_flight(url, outcome)
        deadline = time.monotonic() + 5
        while not app.state.faults.rules()[0].fired:  # it is asleep in the fault's delay
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert control.post(f"{C}/reset").status_code == 204
        thread.join(10)
        (response,) = outcome
        assert response.status_code == 503
        assert "reset" in response.json()["message"]
        state = control.get(f"{C}/state").json()
        assert [p["description"] for p in state["users"][0]["pats"]] == ["default"]
        assert control.get(f"{C}/journal").json()["count"] == 0
        assert len(app.state.pat_limiter) == 0  # no hit in the new rate window


def test_a_request_whose_body_arrives_after_a_reset_changes_nothing():
    app = create_app()
    with served(app) as url:
        port = int(url.rsplit(":", 1)[1])
        body = b'{"description": "slow body", "expiresAt": "2099-01-01T00:00:00Z"}'
        head = (
            f"POST {TOKENS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {ADMIN_PAT}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head + body[:10])
            time.sleep(0.2)
            assert httpx.post(f"{url}{C}/reset").status_code == 204
            sock.sendall(body[10:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 503 ")
        pats = app.state.pats.list(1)
        assert [p.description for p in pats] == ["default"]
        assert len(app.state.journal) == 0 and len(app.state.pat_limiter) == 0
