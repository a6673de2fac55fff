"""Hostile sizes for the parsers of Accept-Encoding, Expect, a path's escapes and a user search's
query: 1 MB (far past Node's 16 kB head, which bounds them when served) takes linear time,
in-process too."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from mock_server._compat import expects_continue
from mock_server.node import query
from mock_server.node.compression import negotiate
from mock_server.node.pg import ilike
from mock_server.node.routing import _malformed_escape
from tests.conftest import ADMIN_API_TOKEN

pytestmark = pytest.mark.hostile
MB = 1_000_000


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        (", ".join(["x;q=0.5"] * (MB // 9)), None),
        ("a" * MB + " b", None),
        ("gzip;q=" + "1" * MB, "gzip"),
        ("gzip;" + " " * MB, "gzip"),
    ],
    ids=["many-parts", "one-token-with-a-space", "long-quality", "long-parameters"],
)
def test_a_1_mb_accept_encoding_is_negotiated_in_linear_time(accept, coding):
    started = time.perf_counter()
    assert negotiate(accept) == coding
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    ("path", "broken"),
    [(b"%" * MB, True), (b"%e0" * (MB // 3), True), (b"/a" * (MB // 2), False)],
    ids=["bare-percents", "bad-utf8", "plain"],
)
def test_a_1_mb_path_is_checked_for_escapes_in_linear_time(path, broken):
    started = time.perf_counter()
    assert _malformed_escape(path) is broken
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize("value", [b"x" * MB, b"-" * MB, b"100-" * (MB // 4)])
def test_a_1_mb_expect_is_judged_in_linear_time(value):
    started = time.perf_counter()
    assert expects_continue([(b"expect", value)]) is False
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize(
    ("query_string", "parsed"),
    [
        (b"q=" + b"%25_" * (MB // 4), "%_" * (MB // 4)),
        (b"&".join([b"q[]=a"] * (MB // 6)), ["a"] * 1000),  # qs reads 1,000 parameters
        (b"q[" * (MB // 2), None),
    ],
    ids=["wildcards", "many-parameters", "open-brackets"],
)
def test_a_1_mb_query_is_read_in_linear_time(query_string, parsed):
    started = time.perf_counter()
    assert query.value(query_string, "q") == parsed
    assert time.perf_counter() - started < 3


def test_a_user_search_as_long_as_a_url_is_answered_at_once():
    """The longest URL a client sends (64 kB): ILIKE is matched segment by segment, never by a
    backtracking expression (docs/observations/unleash-8.2.0.md#user-search)."""
    with TestClient(create_app()) as client:
        started = time.perf_counter()
        response = client.get(
            "/api/admin/user-admin/search?q=" + "%25a" * 15_000 + "b",
            headers={"Authorization": ADMIN_API_TOKEN},
        )
    assert (response.status_code, response.json()) == (200, [])
    assert time.perf_counter() - started < 3


def test_ilike_over_a_long_value_takes_linear_time():
    started = time.perf_counter()
    assert not ilike("%" + "a%" * 5000 + "b%").fullmatch("a" * MB)
    assert ilike("%" + "_" * 5000 + "%").fullmatch("a" * MB)
    assert time.perf_counter() - started < 3
