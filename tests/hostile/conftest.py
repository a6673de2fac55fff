"""Hostile-input tests: the mock served by uvicorn on a loopback port under Node's HTTP limits
(mock_server.node.serving, as `unleash-pat serve` runs it), reached over real sockets, so that a
request which stalls the event loop shows up as a slow `GET /health` next to it."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from mock_server import create_app
from tests.conftest import served

T = TypeVar("T")
HEALTH_LIMIT_S = 0.1


@dataclass(frozen=True)
class ServedMock:
    url: str
    host: str
    port: int
    app: Any  # the connexion AsyncApp


@pytest.fixture
def served_mock() -> Iterator[ServedMock]:
    """A fresh mock, served by uvicorn on a thread on a free loopback port, for one test."""
    app = create_app()
    with served(app) as url:
        port = int(url.rsplit(":", 1)[1])
        mock = ServedMock(url, "127.0.0.1", port, app)
        _warm_up(mock)
        yield mock


def _warm_up(mock: ServedMock) -> None:
    """First requests build connexion's middleware and validators: not a stall to measure."""
    with httpx.Client(base_url=mock.url, timeout=10) as client:
        for _ in range(3):
            client.get("/health")
        client.get("/api/admin/user/tokens")
        client.post("/api/admin/user/tokens", json={})
        client.delete("/api/admin/user/tokens/1")


@pytest.fixture
def health_stays_responsive(served_mock: ServedMock) -> Callable[..., T]:
    """`health_stays_responsive(send_hostile[, limit])`: see `_health_stays_responsive`."""
    return lambda send_hostile, limit=HEALTH_LIMIT_S: _health_stays_responsive(
        served_mock, send_hostile, limit
    )


@pytest.fixture
def send_raw(served_mock: ServedMock) -> Callable[[bytes], RawResponse]:
    """`send_raw(request_bytes)` to the served mock: see `_send_raw`."""
    return lambda request: _send_raw(served_mock, request)


def _health_stays_responsive(
    mock: ServedMock, send_hostile: Callable[[], T], limit: float = HEALTH_LIMIT_S
) -> T:
    """Run `send_hostile` on a thread while probing `GET /health` (raw sockets, 5 ms apart, so
    the probing itself takes little of this process's GIL, which the served mock shares) until
    it returns; every probe must answer 200 within `limit` (100 ms). Returns what
    `send_hostile` returned."""
    health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    latencies: list[float] = []
    with ThreadPoolExecutor(1) as pool:
        hostile = pool.submit(send_hostile)
        while True:  # at least one probe, even if the hostile request is already answered
            response = _send_raw(mock, health)
            latencies.append(response.seconds)
            assert (response.status, response.body) == (200, b'{"health":"GOOD"}')
            if hostile.done():
                break
            time.sleep(0.005)
        result = hostile.result()
    assert max(latencies) < limit, f"/health took {max(latencies):.3f} s"
    return result


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def _send_raw(mock: ServedMock, request: bytes, timeout: float = 10) -> RawResponse:
    """One HTTP/1.1 request as raw bytes (for what httpx refuses to send, such as a 640 kB
    URL); reads the answer until the server closes or Content-Length is reached."""
    started = time.perf_counter()
    with socket.create_connection((mock.host, mock.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("content-length", len(body)))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return RawResponse(int(lines[0].split()[1]), headers, body, time.perf_counter() - started)
