"""connexion, imported quietly, and every private API of a dependency the mock relies on.

No other module imports connexion: connexion 3.3 reads jsonschema's deprecated `RefResolver` and
imports `starlette.testclient` (which, on Starlette 1.x without `httpx2`, warns), both at import
time, and a library must not make a user's `-W error` test run fail. The warnings are silenced for
this one import, by category or text and by the importing module, without touching the process's
filters.

From connexion 3, which has no public hook for them: the class that calls handlers (to call
them directly), the validator map of an operation (to build validators once), and how path
parameters become routes (so that `/:id` takes any segment, as Express does, without
registering a process-wide Starlette convertor). From uvicorn: the httptools protocol's parser
and flow-control callbacks, its pipeline and its FlowControl, to enforce Node's HTTP limits
(serving.py), its request cycle's framing (Node's HTTP/1.0 keep-alive, its at-once
`100 Continue`), and the transport behind a request, to drop a connection on a control-plane
fault. The shapes are checked at import, so that a dependency that moved them fails at once
with this message, not on some later request.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import warnings
from email.utils import formatdate
from importlib.metadata import version
from typing import Any

import starlette.routing
from starlette.types import ASGIApp
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"connexion\.")
    # connexion 3.1 imports `multipart`, which python-multipart 0.0.13+ renamed.
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module=r"connexion\.")
    # Starlette 0.x's test client (which connexion imports) uses an alias newer anyio deprecates.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"starlette\.testclient$")
    # Starlette 1.x's own category is a UserWarning: matched by its text.
    warnings.filterwarnings(
        "ignore", message="Using `httpx` with `starlette.testclient`", module=r"connexion\."
    )
    from connexion import AsyncApp
    from connexion.apps.asynchronous import AsyncApi, AsyncOperation
    from connexion.context import scope as request_scope
    from connexion.datastructures import MediaTypeDict
    from connexion.exceptions import ProblemException
    from connexion.frameworks.starlette import starlettify_path
    from connexion.lifecycle import ConnexionRequest, ConnexionResponse
    from connexion.middleware.context import ContextMiddleware
    from connexion.middleware.exceptions import ExceptionMiddleware
    from connexion.middleware.request_validation import (
        RequestValidationAPI,
        RequestValidationMiddleware,
        RequestValidationOperation,
    )
    from connexion.middleware.routing import RoutingAPI, RoutingMiddleware, RoutingOperation
    from connexion.operations import AbstractOperation
    from connexion.resolver import Resolver
    from connexion.spec import Specification
    from connexion.validators import AbstractRequestBodyValidator, ParameterValidator

__all__ = [
    "AbstractOperation",
    "AbstractRequestBodyValidator",
    "AsyncApi",
    "AsyncApp",
    "AsyncOperation",
    "ConnexionRequest",
    "ConnexionResponse",
    "ContextMiddleware",
    "ExceptionMiddleware",
    "LimitedHttpProtocol",
    "MediaTypeDict",
    "ParameterValidator",
    "ProblemException",
    "RequestValidationAPI",
    "RequestValidationMiddleware",
    "RequestValidationOperation",
    "Resolver",
    "UntypedPathRoutingMiddleware",
    "operation_of",
    "request_scope",
    "set_api_class",
    "validator_map",
]

SUPPORTED = "connexion >=3.1,<4 (tested with 3.3) and uvicorn >=0.30 with httptools"
_PROTOCOL_METHODS = (
    "send_400_response",
    "pause_writing",
    "resume_writing",
    "on_response_complete",
    "timeout_keep_alive_handler",
    "shutdown",
    "on_message_begin",
    "on_url",
    "on_header",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
)


_PROTOCOL_STATE = (
    "transport",
    "connections",
    "loop",
    "flow",
    "pipeline",
    "parser",
    "headers",
    "cycle",
)


def _check_shapes() -> None:
    missing = [
        what
        for what, present in (
            ("AsyncApp._middleware_app", "_middleware_app" in AsyncApp.__init__.__code__.co_names),
            (
                "RequestValidationOperation._validator_map",
                "_validator_map" in RequestValidationOperation.__init__.__code__.co_names,
            ),
            (
                "RequestValidationOperation._operation",
                "_operation" in RequestValidationOperation.__init__.__code__.co_names,
            ),
            ("RoutingAPI._framework_path_and_name", "_framework_path_and_name" in vars(RoutingAPI)),
            ("RoutingOperation.from_operation", hasattr(RoutingOperation, "from_operation")),
            (
                "HttpToolsProtocol parser and flow callbacks",
                all(hasattr(HttpToolsProtocol, name) for name in _PROTOCOL_METHODS),
            ),
            (
                "HttpToolsProtocol.transport/connections/loop/flow/pipeline/parser/headers/cycle",
                set(_PROTOCOL_STATE) <= set(HttpToolsProtocol.__init__.__code__.co_names),
            ),
            (
                "RequestResponseCycle.chunked_encoding/expected_content_length/keep_alive/"
                "waiting_for_100_continue",
                {
                    "chunked_encoding",
                    "expected_content_length",
                    "keep_alive",
                    "waiting_for_100_continue",
                }
                <= set(RequestResponseCycle.__init__.__code__.co_names),
            ),
            (
                "FlowControl pause_reading/resume_reading/write_paused",
                {"pause_reading", "resume_reading"} <= set(vars(FlowControl))
                and "write_paused" in FlowControl.__init__.__code__.co_names,
            ),
        )
        if not present
    ]
    if missing:
        raise ImportError(
            f"unleash-pat needs {SUPPORTED}; connexion {version('connexion')} / uvicorn "
            f"{version('uvicorn')} lack " + ", ".join(missing)
        )


_check_shapes()


def set_api_class(app: AsyncApp, api_cls: type) -> None:
    """Make `app` build its operations with `api_cls` (set before `add_api`)."""
    app._middleware_app.api_cls = api_cls


def validator_map(operation: RequestValidationOperation) -> dict[str, Any]:
    return operation._validator_map


def operation_of(validation: RequestValidationOperation) -> AbstractOperation:
    """The spec operation a validation operation validates requests for."""
    return validation._operation


class _UntypedPathRoutingAPI(RoutingAPI):
    @staticmethod
    def _framework_path_and_name(operation: AbstractOperation, path: str) -> tuple[str, str]:
        untyped = starlettify_path(path)  # `{id}`: Starlette's own `[^/]+`, whatever the type
        return untyped, untyped


class UntypedPathRoutingMiddleware(RoutingMiddleware):
    """Connexion's router, with path parameters matched as plain segments; the validator then
    checks their type. Unlike connexion's own, it registers no convertor process-wide."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.router = starlette.routing.Router(default=RoutingOperation(None, self.app))

    def add_api(self, specification: Specification, base_path: str | None = None, **kwargs: Any):
        api = _UntypedPathRoutingAPI(
            specification, base_path=base_path, next_app=self.app, **kwargs
        )
        self.router.mount(api.base_path, app=api.router)


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under the limits of `limits` (a serving.HttpLimits, set on a
    subclass): too many connections, a request head too large, a head or a request too slow,
    a client that reads no answers. A refusal writes the limit's raw answer, closes the
    connection and mutes the parser's remaining callbacks, so the app never sees the request.

    Answers are bounded per connection as Node bounds them: while the transport's write buffer
    is above its high-water mark (the client is not reading), no more pipelined requests are
    read or started, and bytes already received wait unparsed; so are they while
    `max_pipelined` requests wait their turn. A connection whose writes stay paused for
    `send_timeout`, or that is closing with bytes still unsent for as long, is reset."""

    limits: Any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = _Flow(transport, self)  # before any request cycle takes it
        self._refused = False
        self._head_size = 0  # Node counts the URL, header names and values
        self._head_raw = 0  # bytes received while the head is incomplete
        self._in_head = True
        self._timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._held = b""  # received, not yet parsed: reading waits for the client or the queue
        self._completion_held = False  # a response complete while the client was not reading
        if len(self.connections) > self.limits.max_connections:
            self._refuse(self.limits.busy)
        else:
            self._arm(self.limits.headers_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._arm(None)
        self._arm_send(None)
        self._held = b""
        super().connection_lost(exc)

    def _arm(self, seconds: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None if seconds is None else self.loop.call_later(seconds, self._timed_out)

    def _timed_out(self) -> None:
        self._refuse(self.limits.timed_out)

    def _arm_send(self, seconds: float | None) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
        self._send_timer = (
            None if seconds is None else self.loop.call_later(seconds, self._send_timed_out)
        )

    def _send_timed_out(self) -> None:
        # The client has read nothing for send_timeout: no answer could reach it. A reset
        # (SO_LINGER 0) drops what is buffered here and in the kernel; a close would keep both
        # until the client reads.
        self._refused = True
        self._arm(None)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _bound_linger(self) -> None:
        """A connection closing with bytes unsent lingers until the client reads them: give it
        send_timeout (as long as writes may stay paused), then abort it."""
        if (
            self._send_timer is None
            and self.transport.is_closing()
            and self.transport.get_write_buffer_size()
        ):
            self._arm_send(self.limits.send_timeout)

    def _refuse(self, answer: bytes) -> None:
        if not self._refused:
            self._refused = True
            self._arm(None)
            self.transport.write(answer)
            self.transport.close()
            self._bound_linger()

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size >= self.limits.max_head_bytes:
            self._refuse(self.limits.head_too_large)

    def _reading_waits(self) -> bool:
        """Bytes received now wait unparsed: the client reads no answers, or enough of its
        pipelined requests wait already."""
        return self.flow.write_paused or len(self.pipeline) >= self.limits.max_pipelined

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._held or self._reading_waits():
            self._hold(data)
            return
        # Parsed a slice at a time, so that a burst of pipelined requests stops where the
        # queue is full rather than at the end of what the socket delivered.
        for start in range(0, len(data), _SLICE):
            if start and self._reading_waits():
                self._hold(data[start:])
                return
            self._parse(data[start : start + _SLICE])
            if self._refused:
                return

    def _hold(self, data: bytes) -> None:
        self._held += data  # one read's worth at most: reading is paused at once
        self.flow.pause_reading()

    def _release(self) -> None:
        """Parse what waited, and read again, once nothing holds reading back."""
        if self._refused or self._reading_waits() or self.transport.is_closing():
            return
        held, self._held = self._held, b""
        if held:
            self.data_received(held)
        if not self._held:
            self.flow.resume_reading()

    def _parse(self, data: bytes) -> None:
        in_head = self._in_head
        super().data_received(data)
        if in_head and self._in_head and not self._refused:
            # Raw bytes of a head still incomplete always exceed Node's count. Only a chunk that
            # leaves the head unfinished is counted: one that finishes it may carry body bytes.
            self._head_raw += len(data)
            if self._head_raw > self.limits.max_head_raw_bytes:
                self._refuse(self.limits.head_too_large)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.flow.pause_reading()
        if self._send_timer is None:
            self._arm_send(self.limits.send_timeout)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.transport.is_closing():
            return  # its linger stays bounded
        self._arm_send(None)
        if self._completion_held:
            self._completion_held = False
            super().on_response_complete()  # the next pipelined request may start
        self._release()

    def on_response_complete(self) -> None:
        if self.transport.is_closing():
            self._bound_linger()
        elif self.flow.write_paused:
            # The client has not read this answer: the next one waits until it does.
            self._completion_held = True
            return
        super().on_response_complete()
        self._release()

    def timeout_keep_alive_handler(self) -> None:
        super().timeout_keep_alive_handler()
        self._bound_linger()

    def shutdown(self) -> None:
        super().shutdown()
        self._bound_linger()  # the server waits for every connection to close

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head, self._head_size, self._head_raw = True, 0, 0
            self._arm(self.limits.headers_timeout)

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            self._count(len(url))
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            self._count(len(name) + len(value))
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._in_head = False
        version = self.parser.get_http_version()
        names = {name for name, _ in self.headers}
        if version == "1.1" and b"host" not in names:
            self._refuse(self.limits.no_host % formatdate(usegmt=True).encode())
            return
        self._arm(self.limits.request_timeout)
        super().on_headers_complete()
        if _ABSOLUTE_FORM.match(self.url):
            self.scope[ABSOLUTE_FORM_KEY] = True  # uvicorn keeps only the target's path
        cycle = self.cycle
        if cycle is None or self.scope.get("type") != "http":
            return
        if unchunked_version(version):
            # Node keeps an HTTP/x.0 connection that asks for keep-alive (uvicorn closes every
            # one), and frames no such answer as chunked.
            cycle.keep_alive = self.parser.should_keep_alive()
            cycle.send = _unchunked(cycle)  # type: ignore[method-assign]
        if (
            version == "1.1"
            and expects_continue(self.headers)
            and not any(c is cycle for c, _ in self.pipeline)
        ):
            # Node says 100 Continue as soon as the head is in, whether or not the body is read
            # (and for any Expect it can meet: uvicorn knows only `100-continue` alone).
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            self._arm(None)
            super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        # A head the parser rejects (a control character in a header, say): Node's bare 400.
        self._refuse(self.limits.malformed)


# Node's test of an `Expect` it can meet (`continueExpression` in its _http_server.js).
_CONTINUE = re.compile(r"(?:^|\W)100-continue(?:$|\W)", re.IGNORECASE)


def expects_continue(headers: list[tuple[bytes, bytes]]) -> bool | None:
    """None without an `Expect` header, else whether Node meets it (with 100 Continue); Node
    joins several with `, `."""
    expects = [value for name, value in headers if name.lower() == b"expect"]
    if not expects:
        return None
    return bool(_CONTINUE.search(b", ".join(expects).decode("latin-1")))


def unchunked_version(version: str) -> bool:
    """Node's rule for a request line's version: a minor version of 0 (HTTP/1.0, and HTTP/2.0
    sent as text) gets no chunked answer, and its connection is kept only if it asks."""
    return version.endswith(".0")


def _unchunked(cycle: RequestResponseCycle) -> Any:
    """The cycle's `send` for an HTTP/x.0 request: an answer without a Content-Length goes as
    it is, delimited by the connection's end (the serving layer says `Connection: close`), not
    chunked. Mock answers are small and bounded: the body is gathered to be sent at once."""
    send = cycle.send
    held: list[Any] = []

    async def unchunked(message: Any) -> None:
        if message["type"] == "http.response.start" and not any(
            name.lower() == b"content-length" for name, _ in message.get("headers", [])
        ):
            held.append(message)
            return
        if held and message["type"] == "http.response.body":
            held.append(message)
            if message.get("more_body", False):
                return
            start, *parts = held
            body = b"".join(part.get("body", b"") for part in parts)
            cycle.chunked_encoding = False
            cycle.expected_content_length = 0 if cycle.scope["method"] == "HEAD" else len(body)
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        await send(message)

    return unchunked


_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://")
# In the scope of a request whose target is in absolute form (`http://host/…`).
ABSOLUTE_FORM_KEY = "unleash_pat.absolute_form"
_SLICE = 4096  # bytes parsed at a time: at most ~200 requests past the pipelining bound


class _Flow(FlowControl):
    """uvicorn's flow control, except that reading stays paused while the protocol holds it
    back (uvicorn resumes reading whenever a response completes or the app reads the body)."""

    def __init__(self, transport: asyncio.Transport, protocol: LimitedHttpProtocol) -> None:
        super().__init__(transport)
        self._protocol = protocol

    def resume_reading(self) -> None:
        if not self._protocol._held and not self._protocol._reading_waits():
            super().resume_reading()


async def close_connection(receive: Any) -> None:
    """Drop the client's connection, sending nothing more: the control plane's `drop` and
    `truncate` faults. ASGI has no message for it, so this closes uvicorn's transport, which its
    request cycle (the owner of `receive`) holds. Served in process (no transport), it raises
    ConnectionResetError, which an in-process client sees as the failed connection."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionResetError("unleash-pat fault: connection dropped")
    transport.close()
    # Let uvicorn see the connection lost, so it does not try to answer on it.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
