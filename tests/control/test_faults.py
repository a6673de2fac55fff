"""Fault rules, observed by an HTTP client over a real uvicorn on loopback (the plugin's mock)."""

from __future__ import annotations

import time

import httpx
import pytest

from mock_server import versions

TOKENS = "/api/admin/user/tokens"


def _get(unleash, token: str | None = None) -> httpx.Response:
    return httpx.get(unleash.url + TOKENS, headers={"Authorization": token or unleash.token})


def test_the_client_observes_at_least_the_injected_latency(unleash):
    unleash.faults.add(method="GET", path=TOKENS, delay_ms=400, times=1)
    started = time.perf_counter()
    response = _get(unleash)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed >= 0.4
    assert unleash.faults.list() == []  # it fired once and is spent


def test_a_random_latency_stays_within_its_range(unleash):
    unleash.faults.add(path=TOKENS, delay_ms={"min": 100, "max": 200}, times=3, seed=1)
    for _ in range(3):
        started = time.perf_counter()
        _get(unleash)
        assert time.perf_counter() - started >= 0.1
    delays = [e["latencyMs"] for e in unleash.journal.entries(path=TOKENS)]
    assert all(100 <= d < 1000 for d in delays)  # the server's own measure


def test_a_dropped_connection_is_a_connection_error_for_the_client(unleash):
    unleash.faults.add(method="GET", path=TOKENS, drop=True, times=1)
    with pytest.raises(httpx.TransportError):
        _get(unleash)
    assert _get(unleash).status_code == 200  # the server is fine, the rule is spent
    assert unleash.journal.entries(path=TOKENS)[0]["status"] == 0


def test_a_truncated_response_fails_the_client_read(unleash):
    unleash.faults.add(method="GET", path=TOKENS, truncate=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        _get(unleash)
    assert _get(unleash).status_code == 200


def test_a_status_rule_answers_its_status_and_body(unleash):
    unleash.faults.add(method="POST", status=503, body={"message": "down"}, times=1)
    response = httpx.post(
        unleash.url + TOKENS,
        headers={"Authorization": unleash.token},
        json={"description": "x", "expiresAt": "2099-01-01T00:00:00Z"},
    )
    assert (response.status_code, response.json()) == (503, {"message": "down"})
    assert [p["description"] for p in unleash.snapshot()["users"][0]["pats"]] == ["default"]


def test_n_times_rules_stop_after_n(unleash):
    unleash.faults.add(method="GET", path=TOKENS, status=500, body={}, times=3)
    statuses = [_get(unleash).status_code for _ in range(5)]
    assert statuses == [500, 500, 500, 200, 200]
    assert unleash.faults.list() == []


def test_probability_rules_under_a_seed_repeat_exactly(unleash):
    def run() -> list[int]:
        unleash.faults.clear()
        unleash.faults.add(path=TOKENS, status=503, body={}, probability=0.5, seed=7)
        return [_get(unleash).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 503} == set(first)  # it fires on some requests, not on all


def test_a_rule_for_a_user_spares_the_other_users(unleash):
    alice = unleash.snapshot()["users"][1]["pats"][0]["secret"]
    rule = unleash.faults.add(path=TOKENS, user=2, status=503, body={})
    assert _get(unleash, alice).status_code == 503
    assert _get(unleash).status_code == 200
    assert unleash.faults.list() == [rule | {"fired": 1}]


def test_control_requests_are_never_faulted(unleash):
    unleash.faults.add(status=503, body={})  # matches every request, forever
    assert _get(unleash).status_code == 503
    assert unleash.snapshot()["users"]
    unleash.faults.clear()
    assert _get(unleash).status_code == 200


def test_a_fault_on_logout_answers_before_the_logout_ends_any_session(unleash):
    unleash.faults.add(method="POST", path="/logout", status=503, times=1)
    login = httpx.post(
        unleash.url + "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
    )
    cookie = {"Cookie": login.headers["set-cookie"].split(";")[0]}
    assert httpx.post(unleash.url + "/LOGOUT", headers=cookie).status_code == 503
    assert httpx.get(unleash.url + "/api/admin/user", headers=cookie).status_code == 200
    assert httpx.post(unleash.url + "/logout", headers=cookie).status_code == 302
    assert httpx.get(unleash.url + "/api/admin/user", headers=cookie).status_code == 401


def test_a_user_fault_on_logout_reads_the_credential_as_logout_does(unleash):
    """Unleash strips `Bearer ` under /api only: at /logout it leaves no one acting, so a rule
    for the PAT's user does not fire (authentication answers 401), and the PAT alone does."""
    unleash.faults.add(path="/logout", user=1, status=503)
    bearer = {"Authorization": f"Bearer {unleash.token}"}
    assert httpx.post(unleash.url + "/logout", headers=bearer).status_code == 401
    pat = {"Authorization": unleash.token}
    assert httpx.post(unleash.url + "/logout", headers=pat).status_code == 503


@pytest.mark.parametrize("version", list(versions.profiles()))
def test_a_user_fault_fires_exactly_when_the_request_acts_as_that_user(version):
    """One caller resolver decides for authentication, faults and the journal: a session cookie
    sent with an admin API token acts as the cookie's user where the release lets the cookie win
    (then user 1's fault fires), and as the API user elsewhere (then it does not: 403)."""
    from starlette.testclient import TestClient

    from mock_server import Options, create_app

    app = create_app(options=Options(unleash_version=version))
    admin_token = app.state.fixtures.admin_tokens[0]
    with TestClient(app) as client:
        login = client.post(
            "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
        )
        cookie = login.headers["set-cookie"].split(";")[0]
        client.cookies.clear()
        client.post("/_unleash-pat/faults", json={"match": {"user": 1}, "status": 503})
        response = client.get(TOKENS, headers={"Authorization": admin_token, "Cookie": cookie})
        entry = client.get("/_unleash-pat/journal").json()["requests"][-1]
    if versions.resolve(version).cookie_beats_admin_token:
        assert response.status_code == 503
    else:
        assert response.status_code == 403
        assert entry["user"] is None and entry["auth"] == "admin-token"
