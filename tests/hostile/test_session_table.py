"""Logins from ever new addresses on a release with no per-user session cap (5.12.8):
the session table stays bounded (expired sessions go as logins come; beyond MAX_SESSIONS the
oldest go), and the cookie of a session that went is refused as an expired one is. Before,
40,000 such logins kept 40,000 sessions and the mock's memory grew with each."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app, versions
from mock_server.units.accounts import models
from mock_server.units.accounts.models import Sessions, User
from tests.conftest import TOKENS

pytestmark = pytest.mark.hostile
UNCAPPED = versions.profiles()["5.12.8"]
LOGIN = {"username": "admin", "password": "unleash4all"}


def _cookie(set_cookie: str) -> str:
    return set_cookie.split(";")[0]


def test_logins_without_a_per_user_cap_keep_the_table_bounded():
    assert UNCAPPED.max_sessions_per_user is None
    clock = Clock()
    clock.freeze()
    sessions = Sessions(clock, UNCAPPED)
    admin = User(1, "admin")
    first = _cookie(sessions.create(admin)[0])
    for _ in range(2 * models.MAX_SESSIONS):
        last = _cookie(sessions.create(admin)[0])
    assert len(sessions) == models.MAX_SESSIONS
    assert sessions.lookup(first) is None  # the oldest went first
    assert sessions.lookup(last) is not None
    # Once they expire, the next login drops them all.
    clock.advance(UNCAPPED.session_seconds + 1)
    sessions.create(admin)
    assert len(sessions) == 1


def test_a_capped_release_counts_only_live_sessions():
    profile = versions.profiles()["8.2.0"]
    clock = Clock()
    clock.freeze()
    sessions = Sessions(clock, profile)
    admin = User(1, "admin")
    assert [sessions.create(admin)[1] for _ in range(6)] == [0, 0, 0, 0, 0, 1]
    clock.advance(profile.session_seconds + 1)
    assert sessions.create(admin)[1] == 0  # the five expired ones went as expired, not capped
    assert len(sessions) == 1


def test_the_cookie_of_an_evicted_session_is_refused_as_an_expired_one_is(monkeypatch):
    monkeypatch.setattr(models, "MAX_SESSIONS", 3)
    clock = Clock()
    clock.freeze()
    app = create_app(options=Options(unleash_version="5.12.8"), clock=clock)
    with TestClient(app) as client:

        def login(address: str) -> str:
            response = client.post(
                "/auth/simple/login", json=LOGIN, headers={"X-Forwarded-For": address}
            )
            assert response.status_code == 200
            client.cookies.clear()
            return _cookie(response.headers["set-cookie"])

        evicted = login("10.0.0.1")
        for n in range(2, 5):
            login(f"10.0.0.{n}")
        assert app.state.snapshot()["sessions"] == 3
        refused = client.get(TOKENS, headers={"Cookie": evicted})
        live = login("10.0.0.9")
        assert client.get(TOKENS, headers={"Cookie": live}).status_code == 200
        clock.advance(UNCAPPED.session_seconds + 1)
        expired = client.get(TOKENS, headers={"Cookie": live})
    assert refused.status_code == expired.status_code == 401
    assert refused.json()["name"] == expired.json()["name"] == "AuthenticationRequired"
    assert refused.headers.get("set-cookie") == expired.headers.get("set-cookie")
