"""The control plane's place in the mock: in front of everything else.

A request under `/_unleash-pat/` goes to the control API (when it is on) and nowhere else: it is
not journalled, no fault applies to it, and it counts towards no Unleash rate limit. Any other
request goes to the mock, through the fault rules, and into the journal. With no rules and no
seed, the cost on the mock's hot path is one closure per direction and one ring append.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import callers
from mock_server._compat import close_connection
from mock_server.control.faults import FaultRule
from mock_server.control.journal import EXCERPT_BYTES, Body, readable
from mock_server.errors import ERROR_IDS, ResetInFlight
from mock_server.node.responses import json_response
from mock_server.node.routing import normalize

if TYPE_CHECKING:
    from mock_server.control.routes import ControlApi
    from mock_server.state import MockState

PREFIX = "/_unleash-pat"


def caller_id(state: MockState, headers: Headers, path: str) -> int | None:
    """The user a request to `path` (as routed) acts as, as the authentication middleware
    decides it (the caller resolver's answer, without counting a use): for fault rules that
    match a user."""
    caller = callers.resolve(state, headers, path)
    return caller.user_id if caller is not None else None


class ControlMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        state: MockState,
        control: ControlApi | None,
        prefixes: tuple[str, ...] = (),
    ) -> None:
        """`prefixes`: the app's routes, so that a fault's path matches as Express routes."""
        self.app = app
        self.state = state
        self.control = control
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/"):
            if self.control is not None:
                await self.control(scope, receive, send)
                return
            await self.app(scope, receive, send)  # off: an unknown path, as Unleash answers it
            return
        state = self.state
        state.stamp(scope)
        if state.rng is not None:
            ERROR_IDS.set(state.new_error_id)  # this request's context only
        if self.control is None:
            await self.app(scope, receive, send)
            return
        if state.faults:
            routed = normalize(path, self.prefixes)
            rule = state.faults.fire(
                scope["method"],
                routed,
                # Resolved once for the request, however many rules match a user.
                functools.cache(functools.partial(caller_id, state, Headers(scope=scope), routed)),
            )
            if rule is not None:
                await self._journalled(scope, receive, send, rule)
                return
        await self._journalled(scope, receive, send, None)

    async def _journalled(
        self, scope: Scope, receive: Receive, send: Send, rule: FaultRule | None
    ) -> None:
        started = time.perf_counter()
        arrived = self.state.clock.time()
        # Each body's first EXCERPT_BYTES + 1 bytes (the one more says it was cut), its size.
        request, request_size = bytearray(), 0
        response, response_size = bytearray(), 0
        response_readable = True
        status = 0

        async def journal_receive() -> Message:
            nonlocal request_size
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                request_size += len(chunk)
                if len(request) <= EXCERPT_BYTES:
                    request.extend(chunk[: EXCERPT_BYTES + 1 - len(request)])
            return message

        async def journal_send(message: Message) -> None:
            nonlocal status, response_size, response_readable
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = Headers(raw=message.get("headers", []))
                response_readable = readable(None, headers.get("content-encoding"))
            else:
                chunk = message.get("body", b"")
                response_size += len(chunk)
                if len(response) <= EXCERPT_BYTES:
                    response.extend(chunk[: EXCERPT_BYTES + 1 - len(response)])
            await send(message)

        # A GET's body is not worth a wrapper on the hot path (Unleash ignores it too).
        with_body = journal_receive if scope["method"] not in ("GET", "HEAD") else receive
        try:
            if rule is None:
                await self.app(scope, with_body, journal_send)
            else:
                await self._fault(rule, scope, with_body, journal_send, receive)
        finally:
            if self.state.current(scope):  # a request from before a reset is none of its business
                headers = Headers(scope=scope)
                self._record(
                    scope,
                    arrived,
                    started,
                    status,
                    Body(
                        bytes(request),
                        request_size,
                        readable(headers.get("content-type"), headers.get("content-encoding")),
                    ),
                    Body(bytes(response), response_size, response_readable),
                )

    def _record(
        self,
        scope: Scope,
        arrived: float,
        started: float,
        status: int,
        request: Body,
        response: Body,
    ) -> None:
        caller = callers.of(scope)
        self.state.journal.record(
            arrived,
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            status,
            (time.perf_counter() - started) * 1000,
            caller.user_id if caller is not None else None,
            caller.via.value if caller is not None else None,
            request,
            response,
            self.state.accounts.is_admin_token,
        )

    async def _fault(
        self, rule: FaultRule, scope: Scope, receive: Receive, send: Send, server: Receive
    ) -> None:
        """`server` is the server's own receive, through which the connection is closed."""
        delay = rule.delay_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
            if not self.state.current(scope):  # reset while it slept
                await ResetInFlight().response(self.state.profile)(scope, receive, send)
                return
        if rule.drop:
            await close_connection(server)
        elif rule.status is not None:
            await json_response(rule.body, rule.status)(scope, receive, send)
        elif rule.truncate:
            await self._truncated(scope, receive, send, server)
        else:
            await self.app(scope, receive, send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send, server: Receive) -> None:
        """The mock's answer, with its full Content-Length but half of its body, then the
        connection closed."""
        start: Message | None = None
        body = bytearray()

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                body.extend(message.get("body", b""))

        await self.app(scope, receive, collect)
        assert start is not None
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"transfer-encoding"]
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(max(len(body), 2)).encode()))
        await send({**start, "headers": headers})
        half = bytes(body[: len(body) // 2])
        await send({"type": "http.response.body", "body": half, "more_body": True})
        await close_connection(server)
