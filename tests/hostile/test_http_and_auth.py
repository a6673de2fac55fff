"""Hostile input at the HTTP and authentication layers: huge or malformed heads, silent and
surplus connections, giant cookies, forged sessions, odd whitespace, endless client addresses.
Each answers at once, as Node and Unleash answer it, and /health stays responsive meanwhile."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.testclient import TestClient

from mock_server import Clock, create_app
from mock_server.node.rate_limit import MAX_CLIENTS, RateLimiter
from mock_server.node.serving import HttpLimits, server_config
from tests.conftest import ADMIN_PAT, TOKENS

pytestmark = pytest.mark.hostile
HEALTH = b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


@contextmanager
def served(limits: HttpLimits | None = None) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(server_config(create_app(), "127.0.0.1", port, limits=limits))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with served() as port:
        yield port


def exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes; everything the server answers before it closes (a reset after the
    answer, as Node gives for an unread head, ends it too)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        answer = b""
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def health_stays_responsive(port: int, hostile: Callable[[], object]) -> object:
    """Run `hostile` while /health is asked; every /health answers 200 within 100 ms."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(hostile()))
    worker.start()
    slowest = 0.0
    while worker.is_alive() or not slowest:
        started = time.perf_counter()
        assert exchange(port, HEALTH).startswith(b"HTTP/1.1 200 OK")
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.005)
    worker.join()
    assert slowest < 0.1, f"/health took {slowest * 1000:.0f} ms"
    return result[0]


def timed(call: Callable[[], bytes]) -> tuple[bytes, float]:
    started = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - started


def head_with(value_size: int) -> bytes:
    return (
        b"GET /health HTTP/1.1\r\nHost: a\r\nX-Big: "
        + b"x" * value_size
        + b"\r\nConnection: close\r\n\r\n"
    )


def test_a_head_of_16_kb_is_refused_exactly_where_node_refuses_it(port):
    # Node counts the URL, header names and values: 7 + 4 + 1 + 5 + 10 + 5 + 16351 < 16384.
    assert exchange(port, head_with(16_351)).startswith(b"HTTP/1.1 200 OK")
    assert exchange(port, head_with(16_352)) == (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
    )


def test_a_megabyte_header_is_a_431_at_once(port):
    answer, seconds = health_stays_responsive(
        port, lambda: timed(lambda: exchange(port, head_with(1_000_000)))
    )
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert seconds < 0.1


@pytest.mark.parametrize("header", [b"X-A: a\x01b", b"X-A: a\x7fb", b"X(A: b", b"X-A: a\x0bb"])
def test_a_head_nodes_parser_rejects_is_its_bare_400(port, header):
    request = b"GET /health HTTP/1.1\r\nHost: a\r\n" + header + b"\r\nConnection: close\r\n\r\n"
    assert exchange(port, request) == b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"


def test_silent_connections_get_408_at_the_headers_timeout_while_others_are_served():
    with served(HttpLimits(headers_timeout=1.0)) as port:
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2_000)]
        try:
            assert exchange(port, HEALTH).startswith(b"HTTP/1.1 200 OK")
            deadline = time.monotonic() + 10
            for sock in silent:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                assert (
                    sock.recv(100) == b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
                )
            assert time.monotonic() < deadline
        finally:
            for sock in silent:
                sock.close()


def test_a_connection_beyond_the_cap_is_a_bare_503_not_a_silent_failure():
    with served(HttpLimits(max_connections=20)) as port:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        try:
            time.sleep(0.1)  # let the server take them all
            assert exchange(port, HEALTH) == (
                b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n"
            )
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.1)
        assert exchange(port, HEALTH).startswith(b"HTTP/1.1 200 OK")


def test_a_megabyte_cookie_of_backslashes_answers_at_once(port):
    cookie = b'unleash-session="' + b"\\" * 1_000_000 + b'"'
    request = b"GET " + TOKENS.encode() + b" HTTP/1.1\r\nHost: a\r\nCookie: " + cookie
    request += b"\r\nConnection: close\r\n\r\n"
    # Over Node's head limit too: refused by the server before any parsing of the cookie.
    answer, seconds = health_stays_responsive(port, lambda: timed(lambda: exchange(port, request)))
    assert answer.startswith(b"HTTP/1.1 431 ") and seconds < 0.1


def test_a_cookie_just_under_the_head_limit_is_parsed_in_linear_time():
    cookie = 'unleash-session="' + "\\" * 16_000 + '"'
    with TestClient(create_app()) as client:
        started = time.perf_counter()
        response = client.get(TOKENS, headers={"Cookie": cookie})
        assert time.perf_counter() - started < 0.1
    assert response.status_code == 401
    assert response.json()["name"] == "AuthenticationRequired"


def test_only_a_cookie_signed_by_the_mock_is_a_session():
    with TestClient(create_app()) as client:
        login = client.post(
            "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
        )
        signed = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]  # s%3A<sid>.<mac>
        sid = signed.removeprefix("s%3A").split(".")[0]
        client.cookies.clear()
        for forged in (sid, f"s%3A{sid}", f"s%3A{sid}.AAAA", f"s:{sid}.{'A' * 43}"):
            assert (
                client.get(TOKENS, headers={"Cookie": f"unleash-session={forged}"}).status_code
                == 401
            )
        assert (
            client.get(TOKENS, headers={"Cookie": f"unleash-session={signed}"}).status_code == 200
        )


@pytest.mark.parametrize(("around", "status"), [("  {}\t", 200), ("{}\x85", 401), ("{}\xa0", 401)])
def test_authorization_loses_only_the_spaces_and_tabs_around_it(around, status):
    with TestClient(create_app()) as client:
        value = around.format(ADMIN_PAT).encode("latin-1")
        assert client.get(TOKENS, headers={"Authorization": value}).status_code == status


def test_a_lone_surrogate_password_is_a_mismatch_not_a_500():
    with TestClient(create_app()) as client:
        body = json.dumps({"username": "admin", "password": "\ud800"})
        response = client.post(
            "/auth/simple/login", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 401
    assert response.json()["name"] == "PasswordMismatch"


def test_rate_limit_buckets_are_capped_and_forget_ended_windows():
    clock = Clock()
    clock.freeze()
    limiter = RateLimiter(clock, limit=10)
    for n in range(MAX_CLIENTS + 500):
        limiter.hit(f"client-{n}-" + "x" * 8_000)
    assert len(limiter) <= MAX_CLIENTS
    clock.advance(61)
    limiter.hit("one more")
    assert len(limiter) == 1


def test_a_non_loopback_host_is_warned_of_the_public_fixture_credentials(capsys):
    from mock_server import cli, fixtures

    assert cli._exposure("127.0.0.1", fixtures.load(), require_own=False) is None
    assert cli._exposure("0.0.0.0", fixtures.load(), require_own=False) is None
    warning = capsys.readouterr().err
    assert "WARNING: serving on 0.0.0.0" in warning and "published with unleash-pat" in warning
    assert ADMIN_PAT not in warning


def test_require_own_fixtures_refuses_the_public_credentials_off_loopback():
    # 192.0.2.1 (TEST-NET-1) is on no machine: the refusal comes before any bind.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mock_server.cli",
            "serve",
            "--host",
            "192.0.2.1",
            "--require-own-fixtures",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "use --fixtures with credentials of your own" in result.stderr
    assert "unleash-pat mock of" not in result.stdout  # no banner, no credentials printed
