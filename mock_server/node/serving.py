"""Serving the mock over HTTP the way Node serves Unleash: uvicorn with httptools, under Node's
limits, so that no connection can stall or exhaust the mock.

Node 20 (real Unleash here) answers a request head over 16 kB (its URL, header names and
values counted) with a bare 431, and one that has not sent its head within 60 s, or its whole
request within 300 s, with a bare 408; Unleash closes an idle kept-alive connection after 15 s
(its `Keep-Alive: timeout=15`). Node has no connection cap; the mock answers a bare 503 beyond
`max_connections` instead of running out of file descriptors. A head Node's parser rejects (a
control character in a header value, a bad header name) gets Node's bare 400. An HTTP/1.1
request that expects anything but `100-continue` gets Node's bare 417, before Unleash sees it.

Like Node, the mock stops reading a connection's pipelined requests while its answers wait
unread (the write buffer above its high-water mark), so a client that sends and never reads
holds at most one answer in the mock's memory. Unlike Node (whose `server.timeout` is off by
default), it drops such a client after `send_timeout` (60 s, Node's `headersTimeout`: the mock's
bound on a client too slow to send its head, applied to one too slow to take its answer); a
connection closing with bytes still unsent gets as long, then is dropped too.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server._compat import LimitedHttpProtocol, expects_continue, unchunked_version


def _bare(status: str) -> bytes:
    return f"HTTP/1.1 {status}\r\nConnection: close\r\n\r\n".encode()


@dataclass(frozen=True)
class HttpLimits:
    max_head_bytes: int = 16 * 1024  # Node's --max-http-header-size
    max_head_raw_bytes: int = 64 * 1024  # a head this long can never fit the count above
    headers_timeout: float = 60.0  # Node's server.headersTimeout
    request_timeout: float = 300.0  # Node's server.requestTimeout
    keep_alive_timeout: int = 15  # Unleash's server.keepAliveTimeout
    # Not Node's: a client that reads none of its answer for this long (the write buffer above
    # its high-water mark, or a closing connection still holding unsent bytes) is dropped.
    send_timeout: float = 60.0
    max_pipelined: int = 16  # requests waiting behind the one being answered, per connection
    max_connections: int = 10_000
    head_too_large: bytes = _bare("431 Request Header Fields Too Large")
    timed_out: bytes = _bare("408 Request Timeout")
    busy: bytes = _bare("503 Service Unavailable")
    malformed: bytes = _bare("400 Bad Request")
    # Node's requireHostHeader: an HTTP/1.1 request without Host, answered as Node writes it.
    no_host: bytes = (  # %s: the Date
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nDate: %s\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would die
        # by the signal; a stop that was asked for is a clean exit (status 0).
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        # A stop asked for during start-up (the CLI's handler notes it) that something caught
        # on its way: it is honoured now.
        if any(getattr(handler, "asked", False) for handler in previous.values()):
            self.should_exit = True
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def server_config(
    app: Any,
    host: str,
    port: int,
    log_level: str = "warning",
    limits: HttpLimits | None = None,
) -> uvicorn.Config:
    """uvicorn's settings for serving `app` under Node's limits."""
    limits = limits or HttpLimits()
    protocol = type("NodeLimitedHttpProtocol", (LimitedHttpProtocol,), {"limits": limits})
    return uvicorn.Config(
        _says_how_the_connection_goes(_unmet_expectation(app), limits.keep_alive_timeout),
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        http=protocol,
        timeout_keep_alive=limits.keep_alive_timeout,
        server_header=False,  # Node sends no Server header
    )


def _unmet_expectation(app: ASGIApp) -> ASGIApp:
    """Node answers an HTTP/1.1 request expecting what it cannot meet with a bare 417 (no
    body; chunked, as it sets no length) and keeps the connection; Express never sees it."""

    async def app_checking(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("http_version") == "1.1"
            and expects_continue(scope["headers"]) is False
        ):
            await send({"type": "http.response.start", "status": 417, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return app_checking


def _says_how_the_connection_goes(app: ASGIApp, keep_alive_timeout: int) -> ASGIApp:
    """Node names the connection's fate on every answer: `Connection: keep-alive` and
    `Keep-Alive: timeout=N` while it keeps it (HTTP/1.1, or HTTP/1.0 that asks for keep-alive),
    `Connection: close` otherwise. Saying it here also makes uvicorn close: older releases
    neither write it nor honour the parser's verdict for versions other than 1.1. HTTP/1.0 has
    no chunked framing: there an answer without a Content-Length is sent as it is and ends
    with the connection."""
    kept = [(b"connection", b"keep-alive"), (b"keep-alive", b"timeout=%d" % keep_alive_timeout)]
    closed = [(b"connection", b"close")]

    async def app_saying(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        version = scope.get("http_version", "1.1")
        old = unchunked_version(version)
        tokens = {
            token.strip().lower()
            for name, value in scope["headers"]
            if name == b"connection"
            for token in value.split(b",")
        }
        # Node keeps HTTP/1.1 unless asked to close, HTTP/x.0 only if asked to keep.
        keeps = b"close" not in tokens and (not old or b"keep-alive" in tokens)

        async def saying(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (old and name.lower() == b"transfer-encoding")
                ]
                names = {name.lower() for name, _ in headers}
                if b"connection" not in names:
                    unframed = old and b"content-length" not in names
                    headers += kept if keeps and not unframed else closed
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, saying)

    return app_saying


def run_server(
    app: Any,
    host: str,
    port: int,
    log_level: str = "warning",
    sock: socket.socket | None = None,
) -> None:
    """Serve `app` until SIGINT or SIGTERM, once connections are closed; on `sock` if given
    (from `listen`), else on `host:port`."""
    # Everything seeded lives as long as the server: keep the collector from rescanning it
    # (with 100,000 seeded users, GC pauses otherwise reach 180 ms at p99).
    gc.collect()
    gc.freeze()
    _map_large_buffers()
    log = logging.getLogger("uvicorn.error")
    log.addFilter(_malformed_requests_at_info)
    try:
        _Server(server_config(app, host, port, log_level)).run(
            sockets=None if sock is None else [sock]
        )
    finally:
        log.removeFilter(_malformed_requests_at_info)


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def _map_large_buffers() -> None:
    """glibc raises its mmap threshold to the largest block freed so far (up to 32 MB); blocks
    below it come from the heap, where freed ones stay resident, fragmented: after 150 dropped
    slow readers (a 670 kB answer buffered each), 100 MB stayed for good. Fixed at glibc's
    initial 128 kB, each block that large gets its own mapping, returned when freed. Only
    where the mock owns its process (`unleash-pat serve`); a no-op off Linux or without
    mallopt."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


def _malformed_requests_at_info(record: logging.LogRecord) -> bool:
    """uvicorn logs bytes that are not HTTP as a server warning with no context. They are the
    client's error, answered 400 (as Node does, silently), and the contract suite sends them
    on purpose: say so, at info level."""
    if record.msg != "Invalid HTTP request received.":
        return True
    record.msg = "a client sent a request that is not valid HTTP/1.1; answered 400 Bad Request"
    record.levelno, record.levelname = logging.INFO, "INFO"
    return logging.getLogger(record.name).isEnabledFor(logging.INFO)


class CannotListen(Exception):
    pass


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen on `host:port` now, so that a busy port is reported before anything is
    printed or built (uvicorn would bind only after start-up, and then exit 1 with a log line)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is free
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(
                f"port {port} on {host} is already in use (is another server running there?);"
                " choose a free one with --port"
            ) from exc
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    # Listening already: a client that connects as soon as the banner shows waits in the backlog
    # (uvicorn's size) for the server, rather than being refused.
    sock.listen(2048)
    return sock
