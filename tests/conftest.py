"""Shared fixtures: a fresh in-process mock per test, driven through its ASGI app."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import create_app, fixtures
from mock_server.node.serving import server_config

# The default fixtures' credentials: user 1 `admin`, user 2 `alice`, the admin API token.
DEFAULT_FIXTURES = fixtures.load()
ADMIN_PAT = DEFAULT_FIXTURES.users[0][1][0].secret
ALICE_PAT = DEFAULT_FIXTURES.users[1][1][0].secret
ADMIN_API_TOKEN = DEFAULT_FIXTURES.admin_tokens[0]
TOKENS = "/api/admin/user/tokens"
FUTURE = "2099-12-31T23:59:59.999Z"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": token}


@pytest.fixture
def no_credential_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` reads credentials it is not given from these (a real server's export line sets
    them): a test of its arguments sees only its own."""
    for variable in ("UNLEASH_PAT", "UNLEASH_PAT_2", "UNLEASH_ADMIN_TOKEN", "UNLEASH_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def create(client: TestClient, description: str, token: str = ADMIN_PAT, expires: str = FUTURE):
    return client.post(
        TOKENS, headers=auth(token), json={"description": description, "expiresAt": expires}
    )


def listed(client: TestClient, token: str = ADMIN_PAT) -> list[dict]:
    response = client.get(TOKENS, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()["pats"]


pytest_plugins = ["pytester"]
# A user's project with a configuration of its own, run by its own pytest (test_xdist_isolation).
collect_ignore = ["control/user_xdist"]


@contextlib.contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """`app` served as `unleash-pat serve` serves it (uvicorn under Node's limits), on a thread,
    on a free loopback port; yields its URL."""
    server = uvicorn.Server(server_config(app, "127.0.0.1", 0))
    thread = threading.Thread(target=server.run, name="served-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the mock did not start")
        thread.join(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    body: bytes


class Recording:
    """Middleware around a mock that keeps every HTTP request it passes on (the contract suite
    still finds the mock's fixtures through `.app`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[Recorded] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while not messages or messages[-1].get("more_body", False):
            messages.append(await receive())
        body = b"".join(m.get("body", b"") for m in messages)
        self.requests.append(Recorded(scope["method"], scope["path"], body))
        pending = iter(messages)

        async def replay() -> Message:
            return next(pending, None) or await receive()

        await self.app(scope, replay, send)
