"""Who is calling: Unleash's session, PAT and admin-API-token authentication, and its rate limits.

Like Unleash, authentication guards a path prefix (`/api/admin`), not individual operations, and
runs before routing: an unknown path or method is a 401 without credentials and a 404 with them.
The order is Unleash's authorization middleware:
1. an admin API token in `Authorization` makes the caller an API user (no user id);
2. otherwise a session cookie from `POST /auth/simple/login` wins;
3. otherwise a PAT (`user:…`, raw or after `Bearer `);
4. otherwise 401: `UnauthorizedError` if an Authorization header was sent, else
   `AuthenticationRequired`.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.cookies import SimpleCookie

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.errors import AuthenticationRequired, TooManyRequests, Unauthorized, UnleashError
from mock_server.store import PatStore, User

PRINCIPAL_KEY = "unleash_pat.principal"
SESSION_COOKIE = "unleash-session"
SESSION_SECONDS = 2 * 24 * 3600
PROTECTED_PREFIX = "/api/admin"
_BEARER = re.compile(r"^Bearer\s+", re.I)


@dataclass
class _Session:
    user: User
    expires: float
    cookie: str
    # express-session saves a new session on its first use and sends the cookie again then.
    resent: bool = False


@dataclass(frozen=True)
class Principal:
    user: User | None  # None for an admin API token: Unleash's "API user" has no id
    via: str  # "admin-token" | "session" | "pat"
    session: _Session | None = None


class Sessions:
    """Login sessions, in memory. The cookie looks like express-session's signed id. Like Unleash,
    a user keeps at most 5 sessions: a login drops all but the 4 newest before adding its own."""

    MAX_PER_USER = 5

    def __init__(self) -> None:
        self._by_id: dict[str, _Session] = {}

    def clear(self) -> None:
        self._by_id.clear()

    def create(self, user: User) -> str:
        """Start a session; returns its Set-Cookie header value, written as Express writes it."""
        own = [sid for sid, session in self._by_id.items() if session.user.id == user.id]
        for sid in own[: max(0, len(own) - (self.MAX_PER_USER - 1))]:
            del self._by_id[sid]
        sid = secrets.token_urlsafe(24)
        expires = time.time() + SESSION_SECONDS
        cookie = (
            f"{SESSION_COOKIE}=s%3A{sid}.{secrets.token_urlsafe(32)}; Path=/; "
            f"Expires={formatdate(expires, usegmt=True)}; HttpOnly; SameSite=Lax"
        )
        self._by_id[sid] = _Session(user, expires, cookie)
        return cookie

    def lookup(self, cookie_header: str | None) -> _Session | None:
        if not cookie_header:
            return None
        jar = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # a malformed Cookie header is ignored, as express-session does
            return None
        morsel = jar.get(SESSION_COOKIE)
        if morsel is None:
            return None
        sid = morsel.value.removeprefix("s%3A").removeprefix("s:").split(".", 1)[0]
        session = self._by_id.get(sid)
        if session is None or session.expires < time.time():
            return None
        return session


class RateLimiter:
    """express-rate-limit's memory store: a fixed window per client, started by its first hit."""

    def __init__(self, limit: int, window_seconds: int = 60) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()

    def hit(self, key: str) -> tuple[list[tuple[bytes, bytes]], int | None]:
        """Count one request; returns the RateLimit-* headers and, when it is over the limit,
        the seconds to wait (express-rate-limit's Retry-After is the window's remaining time)."""
        now = time.monotonic()
        with self._lock:
            count, reset_at = self._hits.get(key, (0, 0.0))
            if now >= reset_at:
                count, reset_at = 0, now + self.window
            count += 1
            self._hits[key] = (count, reset_at)
        reset = max(0, math.ceil(reset_at - now))
        headers = [
            (b"ratelimit-policy", f"{self.limit};w={self.window}".encode()),
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(max(self.limit - count, 0)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        return headers, (reset if count > self.limit else None)


def credential(headers: Headers) -> str:
    """The Authorization value as Unleash sees it: trimmed, a leading `Bearer ` removed."""
    return _BEARER.sub("", headers.get("authorization", "").strip())


def client_key(scope: Scope) -> str:
    """Express's `req.ip` with `trust proxy` on, as Unleash runs: X-Forwarded-For's first entry."""
    forwarded = Headers(scope=scope).get("x-forwarded-for")
    if forwarded and forwarded.split(",")[0].strip():
        return forwarded.split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


def with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            MutableHeaders(raw=message["headers"]).raw.extend(extra)
        await send(message)

    return wrapped


class Authenticator:
    def __init__(self, store: PatStore, sessions: Sessions, pat_limiter: RateLimiter) -> None:
        self.store = store
        self.sessions = sessions
        self.pat_limiter = pat_limiter

    def authenticate(self, headers: Headers, authorization: str) -> Principal:
        """`authorization` is `credential(headers)`, which the caller needs too."""
        if authorization and self.store.is_admin_token(authorization):
            return Principal(None, "admin-token")
        session = self.sessions.lookup(headers.get("cookie"))
        if session is not None:
            return Principal(session.user, "session", session)
        if authorization.startswith("user:"):
            found = self.store.authenticate(authorization)
            if found is not None:
                return Principal(found[0], "pat")
        if headers.get("authorization"):
            raise Unauthorized()
        raise AuthenticationRequired()


class AuthMiddleware:
    """Guards /api/admin; leaves the Principal in the scope for the handlers."""

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator) -> None:
        self.app = app
        self.auth = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            authorization = credential(headers)
            principal = self.auth.authenticate(headers, authorization)
            # Unleash limits requests whose Authorization is a PAT, once they are authenticated.
            if authorization.startswith("user:"):
                limit_headers, retry_after = self.auth.pat_limiter.hit(client_key(scope))
                send = with_headers(send, limit_headers)
                if retry_after is not None:
                    raise TooManyRequests(retry_after)
        except UnleashError as exc:
            await exc.response()(scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = principal
        if principal.session is not None and not principal.session.resent:
            principal.session.resent = True
            send = with_headers(send, [(b"set-cookie", principal.session.cookie.encode())])
        await self.app(scope, receive, send)
