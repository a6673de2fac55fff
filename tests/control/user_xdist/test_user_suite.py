"""A user's suite under `pytest -n 2`: one test leaves a slow request in flight (a fault's
delay) and returns; every other test counts exactly what it did, so a request that finished in
the next test (a PAT created, a rate-limit hit, a journal entry) would fail it."""

import contextlib
import threading
import time

import httpx
import pytest

TOKENS = "/api/admin/user/tokens"


def _create(unleash, description):
    return httpx.post(
        unleash.url + TOKENS,
        headers={"Authorization": unleash.token},
        json={"description": description, "expiresAt": "2099-01-01T00:00:00Z"},
        timeout=10,
    )


@pytest.mark.parametrize("n", range(4))
def test_leaves_a_slow_create_in_flight(unleash, n):
    unleash.faults.add(method="POST", path=TOKENS, delay_ms=150 + 50 * n)

    def send():
        with contextlib.suppress(httpx.HTTPError):  # the session's server may stop first
            _create(unleash, f"left in flight {n}")

    threading.Thread(target=send, daemon=True).start()
    deadline = time.monotonic() + 5
    while not unleash.faults.list()[0]["fired"]:  # the server has it: asleep in the delay
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.fixture
def unleash_options():
    return {"rate_limit_per_minute": 3}


@pytest.mark.parametrize("n", range(12))
def test_counts_exactly_what_it_did(unleash, n):
    headers = {"Authorization": unleash.token}
    statuses = [httpx.get(unleash.url + TOKENS, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]  # a hit left by another test would make the third a 429
    assert _create(unleash, f"mine {n}").status_code == 429  # the fourth PAT request
    unleash.options.set(rate_limit_per_minute=1000)
    assert _create(unleash, f"mine {n}").status_code == 201
    pats = httpx.get(unleash.url + TOKENS, headers=headers).json()["pats"]
    assert [p["description"] for p in pats] == ["default", f"mine {n}"]
    assert unleash.journal.count() == 6
    assert unleash.journal.count(method="POST", status=201) == 1
