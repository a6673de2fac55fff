"""`--state PATH`: users, PATs and ids in SQLite across restarts, and across a kill -9."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml
from starlette.testclient import TestClient

from mock_server import create_app
from tests.conftest import ADMIN_PAT, FUTURE, TOKENS, auth, create, listed

SERVE = [sys.executable, "-m", "mock_server.cli", "serve"]


def test_pats_users_and_ids_survive_a_restart_and_a_reset_seeds_afresh(tmp_path):
    path = tmp_path / "state.db"
    with TestClient(create_app(state_path=path)) as client:
        secret = create(client, "kept").json()["secret"]
        create(client, "gone")
        client.delete(f"{TOKENS}/4", headers=auth(ADMIN_PAT))
        client.post("/_unleash-pat/fixtures", json={"users": [{"id": 7, "username": "zoe"}]})
    client.app.state.close()  # lets go of the file, as a stopped server does
    with TestClient(create_app(state_path=path)) as client:
        assert [(p["id"], p["description"]) for p in listed(client, secret)] == [
            (1, "default"),
            (3, "kept"),
        ]
        assert create(client, "next").json()["id"] == 5  # 4 was used, then deleted
        state = client.get("/_unleash-pat/state").json()
        assert [u["username"] for u in state["users"]] == ["admin", "alice", "zoe"]
        client.post("/_unleash-pat/reset")
        assert [p["description"] for p in listed(client)] == ["default"]
    client.app.state.close()
    with TestClient(create_app(state_path=path)) as client:
        assert [p["description"] for p in listed(client)] == ["default"]
        assert client.get(TOKENS, headers=auth(secret)).status_code == 401
    client.app.state.close()


def test_without_a_state_file_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with TestClient(create_app()) as client:
        create(client, "memory only")
    assert list(tmp_path.iterdir()) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(path: Path, fixtures: Path, port: int, log: Path) -> subprocess.Popen:
    args = ["--port", str(port), "--fixtures", str(fixtures), "--state", str(path)]
    with log.open("ab") as stderr:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [*SERVE, *args, "--rate-limit-per-minute", "1000000"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.perf_counter() + 20
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health")
            return process
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            assert time.perf_counter() < deadline, "the mock did not start"
            time.sleep(0.05)


def test_every_pat_whose_201_arrived_survives_a_sigkill_during_1000_creates(tmp_path):
    users = 112  # 9 more PATs each: room for 1,000 creates
    tokens = [f"user:{n:056x}" for n in range(1, users + 1)]
    fixtures = tmp_path / "users.yaml"
    fixtures.write_text(
        yaml.safe_dump(
            {
                "users": [
                    {
                        "id": n + 1,
                        "username": f"u{n}",
                        "pats": [{"description": "seed", "secret": t, "expiresAt": FUTURE}],
                    }
                    for n, t in enumerate(tokens)
                ]
            }
        )
    )
    path, port = tmp_path / "state.db", _free_port()
    log = tmp_path / "serve.log"
    process = _serve(path, fixtures, port, log)
    created: list[tuple[int, str]] = []
    halfway = threading.Event()

    def create_loop() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(1000):
                try:
                    response = client.post(
                        TOKENS,
                        headers=auth(tokens[n % users]),
                        json={"description": f"pat {n}", "expiresAt": FUTURE},
                    )
                except httpx.TransportError:
                    return  # the server is gone
                assert response.status_code == 201, response.text
                created.append((response.json()["id"], response.json()["secret"]))
                if len(created) == 300:
                    halfway.set()

    loop = threading.Thread(target=create_loop)
    loop.start()
    try:
        assert halfway.wait(60), "300 creates did not arrive"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        loop.join(30)
        arrived = list(created)
        assert 300 <= len(arrived) < 1000  # killed in the middle of the loop
        process = _serve(path, fixtures, port, log)
        state = httpx.get(f"http://127.0.0.1:{port}/_unleash-pat/state").json()
        kept = {(p["id"], p["secret"]) for u in state["users"] for p in u["pats"]}
        assert set(arrived) <= kept
        again = httpx.get(f"http://127.0.0.1:{port}{TOKENS}", headers=auth(arrived[-1][1]))
        assert again.status_code == 200
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
