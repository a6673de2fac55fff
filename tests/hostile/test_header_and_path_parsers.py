"""Hostile sizes for the parsers of Accept-Encoding, Expect and a path's escapes: 1 MB (far past
Node's 16 kB head, which bounds them when served) takes linear time, in-process too."""

from __future__ import annotations

import time

import pytest

from mock_server._compat import expects_continue
from mock_server.node.compression import negotiate
from mock_server.node.routing import _malformed_escape

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
