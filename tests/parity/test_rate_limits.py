"""Against a shared server the suite meets Unleash's per-IP limits (10 logins a minute): it waits
out a 429 on login for as long as Retry-After says, within a bound, instead of failing."""

from __future__ import annotations

import time

import httpx

from .targets import LOGIN, TOKENS, Target, patiently


def _target(statuses: list[int], sent: list[httpx.Request]) -> Target:
    """A target whose server answers `statuses` in turn, each 429 with `Retry-After: 1`."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status = statuses[min(len(sent), len(statuses)) - 1]
        return httpx.Response(status, headers={"Retry-After": "1"} if status == 429 else {})

    client = httpx.Client(base_url="http://unleash", transport=httpx.MockTransport(answer))
    return Target("real", client, {}, "*:*.admin")


def test_a_login_answered_429_is_sent_again_once_retry_after_has_passed() -> None:
    sent: list[httpx.Request] = []
    started = time.monotonic()
    response = _target([429, 200], sent).request("POST", LOGIN, json={"username": "u"})
    assert response.status_code == 200
    assert [r.url.path for r in sent] == [LOGIN, LOGIN]
    assert sent[1].content == sent[0].content
    assert time.monotonic() - started >= 1


def test_waiting_stops_at_the_budget_and_returns_the_429() -> None:
    sent: list[httpx.Request] = []
    target = _target([429], sent)
    started = time.monotonic()
    response = patiently(lambda: target.request("POST", "/api/admin/user-admin"), budget=0.5)
    assert response.status_code == 429
    assert len(sent) == 1
    assert time.monotonic() - started < 0.5


def test_a_429_on_other_paths_is_what_the_scenario_observes() -> None:
    sent: list[httpx.Request] = []
    response = _target([429, 200], sent).request("GET", TOKENS)
    assert response.status_code == 429
    assert len(sent) == 1
