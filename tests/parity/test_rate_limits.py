"""Against a shared server the suite meets Unleash's per-IP limits (10 logins a minute): it waits
out a 429 on login for as long as Retry-After says, within a bound, instead of failing."""

from __future__ import annotations

import time

import httpx

from .targets import LOGIN, TOKENS, Patience, Target


def _target(statuses: list[int], sent: list[httpx.Request], retry_after: str = "1") -> Target:
    """A target whose server answers `statuses` in turn (the last one from then on), each 429
    with this Retry-After."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status = statuses[min(len(sent), len(statuses)) - 1]
        return httpx.Response(status, headers={"Retry-After": retry_after} if status == 429 else {})

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


def test_the_sessions_waits_are_bounded_in_all_and_then_the_429_is_returned() -> None:
    sent: list[httpx.Request] = []
    target = _target([429], sent, retry_after="0")
    target.patience = Patience(seconds=0.8)
    started = time.monotonic()
    assert target.request("POST", LOGIN).status_code == 429
    assert len(sent) == 2  # one wait of 0.5 s (the margin) fitted in the 0.8 s, a second would not
    assert target.request("POST", LOGIN).status_code == 429
    assert len(sent) == 3  # too little left to wait: answered at once
    assert 0.5 <= time.monotonic() - started < 0.8


def test_a_429_on_other_paths_is_what_the_scenario_observes() -> None:
    sent: list[httpx.Request] = []
    response = _target([429, 200], sent).request("GET", TOKENS)
    assert response.status_code == 429
    assert len(sent) == 1
