"""A pytest plugin (installed with the package): a mock Unleash for your tests.

One server per session, reset before each test to how it started (fixtures, clock, options,
faults, journal, sessions, rate windows), like pytest-httpserver; a request a test left in
flight changes nothing in the next test (it fails with a 503). `unleash` drives it through the
control API:

    def test_my_client_creates_a_pat(unleash):
        client = MyClient(unleash.url, token=unleash.token)
        client.create_pat("ci")
        assert unleash.journal.count(method="POST") == 1
        unleash.clock.advance(days=15)

Override `unleash_options` (in a module, a conftest, or with parametrize) to set options for
the tests it covers, e.g. `{"pats_kill_switch": True}`.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mock_server.app import MockApp
    from mock_server.control.client import Clock, ControlClient, Faults, Journal
    from mock_server.control.client import Options as RuntimeOptions
    from mock_server.state import MockState


@dataclass(frozen=True)
class RunningMock:
    url: str
    app: MockApp
    control: ControlClient

    @property
    def clock(self) -> Clock:
        return self.control.clock

    @property
    def faults(self) -> Faults:
        return self.control.faults

    @property
    def journal(self) -> Journal:
        return self.control.journal

    @property
    def options(self) -> RuntimeOptions:
        return self.control.options

    def load(self, fixtures: dict[str, Any] | str | Path, *, replace: bool = False) -> dict:
        return self.control.load(fixtures, replace=replace)

    def snapshot(self) -> dict[str, Any]:
        return self.control.snapshot()

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
        "the Unleash release the mock answers as (a major: its newest; default: the newest)",
        default="",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    """Where the release asked for is not one measured, which one answers (read only when
    asked: the release files load nothing for a project that does not set the option)."""
    asked = config.getini("unleash_pat_version")
    if not asked:
        return None
    from mock_server.versions import choice

    profile, notice = choice(asked)
    return f"unleash-pat: {notice or f'the mock answers as {profile.name}'}"


def _create(config: pytest.Config, **control: Any) -> MockApp:
    from mock_server.app import create_app
    from mock_server.options import Options

    return create_app(
        config.getini("unleash_pat_fixtures") or None,
        options=Options(unleash_version=config.getini("unleash_pat_version") or None),
        **control,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def unleash_session_server(pytestconfig: pytest.Config) -> Iterator[RunningMock]:
    import uvicorn

    from mock_server.control.client import ControlClient
    from mock_server.node.serving import server_config

    app = _create(pytestconfig, control_allowed_hosts=())  # reached at 127.0.0.1 only
    port = _free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, name="unleash-pat-mock", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the unleash-pat mock did not start")
        thread.join(0.01)
    url = f"http://127.0.0.1:{port}"
    control = ControlClient(url)
    yield RunningMock(url, app, control)
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def unleash_options() -> dict[str, Any]:
    """Options for the `unleash` mock in the tests this covers (none by default): keys of
    PUT /_unleash-pat/options, e.g. `{"token_expiry_notifications": True}`."""
    return {}


@pytest.fixture
def unleash(unleash_session_server: RunningMock, unleash_options: dict[str, Any]) -> RunningMock:
    """The session's mock server, reset to how it started (one call: fixtures, the wall clock,
    options, no faults, an empty journal, no sessions or rate windows), with `unleash_options`
    over its options."""
    mock = unleash_session_server
    mock.control.reset()
    if unleash_options:
        mock.options.set(**unleash_options)
    return mock


@pytest.fixture
def unleash_app(pytestconfig: pytest.Config) -> MockApp:
    """A fresh in-process mock (an ASGI app) for each test."""
    return _create(pytestconfig)
