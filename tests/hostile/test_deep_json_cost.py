"""Deeply nested JSON bodies cost about what a tiny body costs when the request is refused
anyway: the body parser checks them with V8's algorithm, which allocates nothing,
and builds the value only once authentication let the request through."""

from __future__ import annotations

import socket
import statistics
import time

import pytest

from mock_server.node import javascript
from tests.conftest import ADMIN_PAT, TOKENS

pytestmark = pytest.mark.hostile
SIZE = 8 * 1024
NESTED = {
    "arrays": b"[" * (SIZE // 2) + b"]" * (SIZE // 2),
    "unclosed": b"[" * SIZE,
    "objects": b'{"a":' * (SIZE // 6) + b"1" + b"}" * (SIZE // 6),
}


def _request(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{header}\r\n" for header in headers)
    return (
        f"POST {TOKENS} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, float]:
    """One request on a kept-alive connection: its status and latency (Content-Length framed)."""
    started = time.perf_counter()
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), time.perf_counter() - started


def test_an_8kb_nested_body_without_credentials_costs_about_a_tiny_one(served_mock):
    """Medians of interleaved requests on one connection (noise falls on all alike). Before,
    8 kB of nested arrays cost 4.7 times a tiny body, of nested objects 15 times."""
    latencies: dict[str, list[float]] = {name: [] for name in ["tiny", *NESTED]}
    bodies = {"tiny": b"{}", **NESTED}
    with socket.create_connection((served_mock.host, served_mock.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(60):
            for name, body in bodies.items():
                status, seconds = _exchange(sock, _request(body))
                assert status == (400 if name == "unclosed" else 401)
                latencies[name].append(seconds)
    tiny = statistics.median(latencies["tiny"])
    ratios = {name: statistics.median(latencies[name]) / tiny for name in NESTED}
    assert max(ratios.values()) < 3, ratios


def test_a_deep_body_is_built_only_for_a_request_that_gets_through(served_mock, monkeypatch):
    builds: list[int] = []
    build = javascript.parse_v8
    monkeypatch.setattr(
        javascript, "parse_v8", lambda text: builds.append(len(text)) or build(text)
    )
    deep = b"[" * 50_000 + b"]" * 50_000  # past the worker-thread threshold too
    with socket.create_connection((served_mock.host, served_mock.port), timeout=10) as sock:
        for body in [*NESTED.values(), deep]:
            assert _exchange(sock, _request(body))[0] in (400, 401)
        assert builds == []
        # Authenticated, the validator needs the value: built once (and refused, not an object).
        assert _exchange(sock, _request(deep, f"Authorization: {ADMIN_PAT}"))[0] == 400
    assert builds == [len(deep)]
