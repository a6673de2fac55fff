"""Time moved back: no rate window outlasts one window length, and the seenAt interval is a
sane, finite number wherever it is set."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app
from mock_server.node.rate_limit import RateLimiter
from tests.conftest import ADMIN_PAT, TOKENS, auth
from tests.test_cli_errors import run_cli

C = "/_unleash-pat"


def test_a_rate_window_restarts_when_the_clock_moves_back():
    app = create_app(options=Options(rate_limit_per_minute=1))
    with TestClient(app) as client:
        client.put(f"{C}/clock", json={"frozen": True, "now": "2031-01-01T00:00:00Z"})
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200
        client.put(f"{C}/clock", json={"now": "2004-01-01T00:00:00Z"})
        again = client.get(TOKENS, headers=auth(ADMIN_PAT))
        assert again.status_code == 200  # a new window, started now
        assert int(again.headers["ratelimit-reset"]) <= 60
        over = client.get(TOKENS, headers=auth(ADMIN_PAT))
        assert over.status_code == 429
        assert 0 < int(over.headers["retry-after"]) <= 60


def test_no_window_of_any_limiter_outlasts_its_length_after_the_clock_moves_back():
    clock = Clock()
    clock.freeze()
    limiter = RateLimiter(clock, limit=1, window_seconds=60)
    limiter.hit("client")
    clock.advance(-10 * 365 * 86400)
    headers, retry_after = limiter.hit("client")
    assert retry_after is None and dict(headers)[b"ratelimit-reset"] == b"60"
    _, retry_after = limiter.hit("client")
    assert retry_after == 60


@pytest.mark.parametrize("seconds", ["5e-324", "0.0009", "86401", "nan", "-1", "inf"])
def test_serve_refuses_a_seen_at_interval_out_of_range(seconds):
    result = run_cli("serve", "--seen-at-flush-seconds", seconds)
    assert (result.returncode, result.stdout) == (2, "")
    assert "--seen-at-flush-seconds" in result.stderr
    assert "0.001" in result.stderr and "86400" in result.stderr


@pytest.mark.parametrize("seconds", [5e-324, 0.0009, 86401, -1])
def test_options_refuse_a_seen_at_interval_out_of_range(seconds):
    with pytest.raises(ValueError, match="seen_at_flush_seconds"):
        Options(seen_at_flush_seconds=seconds)
    with TestClient(create_app()) as client:
        response = client.put(f"{C}/options", json={"seen_at_flush_seconds": seconds})
        assert response.status_code == 400
        assert client.get(f"{C}/options").json()["seen_at_flush_seconds"] == 180
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200


@pytest.mark.parametrize("seconds", [0, 0.001, 15, 86400])
def test_a_seen_at_interval_in_range_is_taken_at_runtime(seconds):
    with TestClient(create_app()) as client:
        response = client.put(f"{C}/options", json={"seen_at_flush_seconds": seconds})
        assert response.json()["seen_at_flush_seconds"] == seconds
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200
        if seconds == 0:  # written at once
            assert client.get(TOKENS, headers=auth(ADMIN_PAT)).json()["pats"][0]["seenAt"]
