"""Unleash's authentication middleware, and its rate limit on PAT requests.

Like Unleash, authentication guards path prefixes (`/api`, and the units' authenticated routes
such as `/logout`), not individual operations, and runs before routing: an unknown path or
method there is a 401 without credentials and a 404 with them.
Who acts is the caller resolver's decision (callers.py); here a refusal is written, a PAT's use
is counted, and the caller is left in the scope for the handlers. Under `/api/client`,
`/api/frontend` and `/api/proxy` Unleash's API-token guard runs first and refuses, the same way
in every release, a request whose Authorization could be no token at all (what it does with a
PAT or an admin token there differs by release; the mock then goes on).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import callers
from mock_server.callers import CALLER_KEY, client_address, looks_like_pat, read_authorization
from mock_server.errors import (
    AuthenticationRequired,
    ResetInFlight,
    TooManyRequests,
    Unauthorized,
    UnleashError,
    api_token_required,
    wrong_token_type,
)
from mock_server.node.routing import sent_path, under
from mock_server.versions import RateLimitedPosts

if TYPE_CHECKING:
    from mock_server.state import MockState
    from mock_server.units.accounts.models import Session

PROTECTED_PREFIX = "/api"
LOGIN_LIMITED = "/auth/simple"
CREATE_USER_LIMITED = "/api/admin/user-admin"
API_TOKEN_PREFIXES = ("/api/client", "/api/frontend", "/api/proxy")
_TOKEN_TYPE_CHECKED = ("/api/client", "/api/frontend")
# Where Unleash mounts its routers: Express matches these case-insensitively, like any route.
MOUNT_POINTS = ("/api/admin", *API_TOKEN_PREFIXES, PROTECTED_PREFIX)


def with_headers(
    send: Send,
    extra: Callable[[], list[tuple[bytes, bytes]]],
    *,
    overridden: bool = False,
    replacing: bool = False,
) -> Send:
    """`send` adding the headers `extra()` gives when the response starts; `overridden`: not
    those the response already has (a later middleware's res.setHeader replaced them);
    `replacing`: in place of those it has (this middleware's res.setHeader came later)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = MutableHeaders(raw=message.setdefault("headers", [])).raw
            added = extra()
            if replacing:
                names = {name for name, _ in added}
                raw[:] = [(name, value) for name, value in raw if name.lower() not in names]
            given = {name.lower() for name, _ in raw} if overridden else set()
            raw.extend((name, value) for name, value in added if name not in given)
        await send(message)

    return wrapped


class LoginLimitMiddleware:
    """Unleash's login limit (SIMPLE_LOGIN_LIMIT_PER_MINUTE), a middleware on `/auth/simple`,
    mounted twice: before the body is parsed (`before_body`) and after; it acts where the
    release runs it (8.2.0 before: a login with malformed JSON, an unknown encoding or charset
    is counted and carries its RateLimit-* headers; 7.6.5 after). It counts every method there
    (`GET /auth/simple/login` too), the path matched in its case as sent where the release does
    so (8.2: `POST /aUth/simple/login` is not counted, though the login route takes it), else in
    any case. Its headers win over the PAT limit's."""

    def __init__(self, app: ASGIApp, *, state: MockState, before_body: bool) -> None:
        self.app = app
        self.state = state
        self.before_body = before_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.state.profile.login_limit_before_body == self.before_body
        ):
            path = sent_path(scope)
            if not self.state.profile.login_limit_case_sensitive:
                path = path.lower()
            if under(path, LOGIN_LIMITED):
                limit_headers, retry_after = self.state.login_limiter.hit(client_address(scope))
                send = with_headers(send, lambda: limit_headers, replacing=True)
                if retry_after is not None:
                    error = TooManyRequests(retry_after)
                    await error.response(self.state.profile)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class AuthMiddleware:
    """Guards /api and `guarded` (more prefixes: the units' authenticated routes), leaving the
    Caller in the scope for the handlers; counts PAT requests on every path against Unleash's
    rate limit."""

    def __init__(self, app: ASGIApp, *, state: MockState, guarded: tuple[str, ...] = ()) -> None:
        self.app = app
        self.state = state
        self.guarded = (PROTECTED_PREFIX, *guarded)

    def _api_token_guard(self, path: str, authorization: str) -> None:
        if not any(under(path, p) for p in API_TOKEN_PREFIXES):
            return
        if not (looks_like_pat(authorization) or self.state.accounts.is_admin_token(authorization)):
            raise api_token_required()
        if self.state.profile.api_token_routes_refuse_user_tokens and any(
            under(path, p) for p in _TOKEN_TYPE_CHECKED
        ):
            raise wrong_token_type()

    def _limit(self, scope: Scope, authorization: str, send: Send) -> tuple[Send, int | None]:
        """Unleash's PAT rate limit: it counts every request whose Authorization (as the auth
        middleware left it) is a PAT, on any path. Returns `send` with the RateLimit-* headers,
        and the seconds to wait when over the limit."""
        if not (looks_like_pat(authorization) and self.state.profile.pat_rate_limit):
            return send, None
        limit_headers, retry_after = self.state.pat_limiter.hit(client_address(scope))
        # A route's own limiter (the create-user limit) sets the same headers after this one.
        return with_headers(send, lambda: limit_headers, overridden=True), retry_after

    def _create_user_limit(self, scope: Scope, send: Send) -> tuple[Send, int | None]:
        """8.x's create-user limit (CREATE_USER_RATE_LIMIT_PER_MINUTE), a middleware after
        authentication on POST below /api/admin/user-admin: it counts every such POST, one no
        route takes too (`…/validate-password+`), matching the path in its case as sent (not
        `/API/ADMIN/USER-ADMIN/…`), as its rules match Express's req.path. Earlier releases put
        it on the create route alone (the user_admin unit's handler)."""
        if (
            scope["method"] != "POST"
            or self.state.profile.user_admin_rate_limited_posts is not RateLimitedPosts.ALL
            or not under(sent_path(scope), CREATE_USER_LIMITED)
        ):
            return send, None
        limit_headers, retry_after = self.state.user_admin_limiter.hit(client_address(scope))
        return with_headers(send, lambda: limit_headers), retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        headers = Headers(scope=scope)
        caller: callers.Caller | None = None
        try:
            if not state.current(scope):
                # Reset since it arrived (while its body came, say): this is the first step that
                # changes state, and nothing it would change may reach the new one.
                raise ResetInFlight()
            path = scope.get("path", "")
            if any(under(path, prefix) for prefix in self.guarded):
                authorization = read_authorization(state, headers, path)
                self._api_token_guard(path, authorization)
                caller = callers.resolve(state, headers, path)
                if caller is None:
                    # An unauthenticated request ends here, before the limiter.
                    if headers.get("authorization"):
                        raise Unauthorized()
                    raise AuthenticationRequired()
                if caller.pat is not None:
                    state.pats.record_use(caller.pat)  # where Unleash counts it, 429 or not
            else:
                # No auth middleware here, so `Bearer ` stays and such a header is not counted.
                authorization = headers.get("authorization", "").strip(" \t")
            send, retry_after = self._limit(scope, authorization, send)
            if retry_after is None and caller is not None:
                send, retry_after = self._create_user_limit(scope, send)
            if retry_after is not None:
                raise TooManyRequests(retry_after)
        except UnleashError as exc:
            await exc.response(state.profile)(scope, receive, send)
            return
        if caller is not None:
            scope[CALLER_KEY] = caller
            session = caller.session
            # Only a request under /api is the session's first use (8.2.0: GET /logout, the
            # front end's page behind authentication, sends no cookie and leaves it to the next).
            if (
                session
                and not session.resent
                and state.profile.resends_session_cookie
                and under(scope["path"], PROTECTED_PREFIX)
            ):
                session.resent = True
                send = with_headers(send, functools.partial(_cookie_again, session))
        await self.app(scope, receive, send)


def _cookie_again(session: Session) -> list[tuple[bytes, bytes]]:
    """The session's cookie, as express-session writes it again when the response starts:
    none where the request ended the session (a logout)."""
    return [] if session.ended else [(b"set-cookie", session.cookie.encode())]
