"""Clients that send requests and never read the answers: the mock stops reading a
connection's pipelined requests while its answers wait unread, queues no more than a bounded
number of them, and drops a connection whose answers stay unread for `send_timeout` (here 1 s;
60 s when served). Before, 150 such connections held 1.75 MB each, some past every timeout."""

from __future__ import annotations

import random
import socket
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from mock_server import create_app
from mock_server.node.serving import HttpLimits, server_config
from tests.conftest import ADMIN_PAT, FUTURE, TOKENS

pytestmark = pytest.mark.hostile
LIMITS = HttpLimits(send_timeout=1.0)
BIG_GET = (
    f"GET {TOKENS} HTTP/1.1\r\nHost: a\r\nAuthorization: {ADMIN_PAT}\r\n"
    "Accept-Encoding: gzip\r\n\r\n"
).encode()
HEALTH = b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n"
OPENAPI = b"GET /docs/openapi.json HTTP/1.1\r\nHost: a\r\n\r\n"


@contextmanager
def served(limits: HttpLimits, send_buffer: int = 0) -> Iterator[tuple[int, uvicorn.Server]]:
    """The mock under `limits`; with `send_buffer`, the kernel's send buffer of each accepted
    connection that small (so that unread answers reach the mock's own buffer at once)."""
    listening = socket.socket()
    if send_buffer:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    listening.bind(("127.0.0.1", 0))
    listening.listen(100)
    server = uvicorn.Server(server_config(create_app(), "127.0.0.1", 0, limits=limits))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    try:
        yield listening.getsockname()[1], server
    finally:
        server.should_exit = True
        thread.join(10)
        listening.close()


def _not_reading(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a tiny window
    sock.connect(("127.0.0.1", port))
    return sock


def _big_list(port: int) -> int:
    """Nine PATs with 99 kB descriptions of random text: a list of about 900 kB, gzip'd 670."""
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + " "
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": ADMIN_PAT}
    ) as c:
        for n in range(9):
            body = {"description": f"{n} " + "".join(rng.choices(alphabet, k=99_000))}
            assert c.post(TOKENS, json={**body, "expiresAt": FUTURE}).status_code == 201
        return len(c.get(TOKENS, headers={"Accept-Encoding": "gzip"}).content)


def _drain(sock: socket.socket, timeout: float) -> tuple[int, str]:
    """Read what the server sent until it ends the connection; bytes read and how it ended."""
    sock.settimeout(timeout)
    received = 0
    try:
        while chunk := sock.recv(1 << 16):
            received += len(chunk)
    except ConnectionResetError:
        return received, "reset"
    except TimeoutError:
        return received, "still open"
    return received, "closed"


def test_a_client_that_reads_no_answers_is_dropped_after_the_send_timeout():
    with served(LIMITS) as (port, server):
        size = _big_list(port)
        sock = _not_reading(port)
        try:
            sock.sendall(BIG_GET * 20)
            time.sleep(LIMITS.send_timeout + 1.5)
            received, ended = _drain(sock, timeout=5)
        finally:
            sock.close()
        assert ended in ("reset", "closed"), ended
        assert received < 5 * size  # of 20 answers, the few the kernel's buffers took
        assert not server.server_state.connections
        assert b"200 OK" in _exchange(port, HEALTH)


@pytest.mark.parametrize("answers", [2, 4])
def test_a_connection_closed_with_answers_unsent_is_dropped_after_the_send_timeout(answers):
    """The keep-alive timeout closes a connection whose client read none of a few 14 kB
    answers: what the kernel's buffers did not take (too little to pause writing) stays
    unsent, and close() would keep it, and the connection, until the client reads."""
    limits = HttpLimits(send_timeout=1.0, keep_alive_timeout=1)
    with served(limits, send_buffer=4096) as (port, server):
        sock = _not_reading(port)
        try:
            sock.sendall(OPENAPI * answers)
            assert _until(lambda: len(server.server_state.connections) == 1)
            (protocol,) = server.server_state.connections
            assert _until(lambda: protocol.transport.get_write_buffer_size() > 0)
            assert not protocol.flow.write_paused
            deadline = time.monotonic() + limits.keep_alive_timeout + limits.send_timeout + 2
            while server.server_state.connections and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not server.server_state.connections
        finally:
            sock.close()


def test_pipelined_requests_wait_unparsed_while_answers_are_unread():
    """2,000 pipelined requests for a 14 kB answer in one write, none read: the answers fill
    the write buffer; what the mock has parsed and queued stays bounded, the rest waits as
    bytes; the answers flow again once the client reads."""
    limits = HttpLimits(send_timeout=30.0)
    with served(limits) as (port, server):
        sock = _not_reading(port)
        try:
            sock.sendall(OPENAPI * 2_000)
            assert _until(lambda: len(server.server_state.connections) == 1)
            (protocol,) = server.server_state.connections
            assert _until(lambda: protocol.flow.write_paused and protocol.flow.read_paused)
            time.sleep(0.2)  # nothing more is parsed meanwhile
            assert len(protocol.pipeline) <= limits.max_pipelined + 4096 // len(OPENAPI) + 1
            sock.settimeout(10)
            answered = b""
            while answered.count(b"HTTP/1.1 200 OK") < 200:
                answered += sock.recv(1 << 16)
        finally:
            sock.close()


def _until(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer
