"""A pytest plugin (installed with the package): a mock Unleash for your tests.

One server per session, reset before each test, like pytest-httpserver:

    def test_my_client_creates_a_pat(unleash):
        client = MyClient(unleash.url, token=unleash.token)
        client.create_pat("ci")
        assert [p.description for p in unleash.state.store.list(1)] == ["default", "ci"]

`unleash_app` gives the ASGI app itself, for in-process clients (httpx.ASGITransport).

pytest loads this module in every run of an environment that has the package installed, so it
imports only pytest and the standard library: the mock (connexion, uvicorn, jsonschema) loads
when a test first asks for one of its fixtures.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mock_server.app import MockApp
    from mock_server.state import MockState


@dataclass(frozen=True)
class RunningMock:
    url: str
    app: MockApp

    @property
    def state(self) -> MockState:
        """Everything the mock holds: `.store`, `.clock`, `.fixtures`, `.reset()` …"""
        return self.app.state

    @property
    def token(self) -> str:
        """The first fixture user's first PAT (user 1, `admin`, in the default fixtures)."""
        return self.state.fixtures.users[0][1][0].secret

    @property
    def admin_token(self) -> str:
        return self.state.fixtures.admin_tokens[0]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("unleash_pat_fixtures", "fixtures YAML for the unleash mock (default: bundled)")
    parser.addini(
        "unleash_pat_version",
        "the Unleash version the mock answers as: 5.12.8, 6.10.1, 7.6.5, 8.2.0 or a major",
        default="8.2.0",
    )


def _create(config: pytest.Config) -> MockApp:
    from mock_server.app import create_app
    from mock_server.options import Options

    return create_app(
        config.getini("unleash_pat_fixtures") or None,
        options=Options(unleash_version=config.getini("unleash_pat_version")),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def unleash_session_server(pytestconfig: pytest.Config) -> Iterator[RunningMock]:
    import uvicorn

    from mock_server.serving import server_config

    app = _create(pytestconfig)
    port = _free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="unleash-pat-mock", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the unleash-pat mock did not start")
        thread.join(0.01)
    yield RunningMock(f"http://127.0.0.1:{port}", app)
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def unleash(unleash_session_server: RunningMock) -> RunningMock:
    """The session's mock server, reset to its fixtures."""
    unleash_session_server.state.reset()
    return unleash_session_server


@pytest.fixture
def unleash_app(pytestconfig: pytest.Config) -> MockApp:
    """A fresh in-process mock (an ASGI app) for each test."""
    return _create(pytestconfig)
