"""Who is calling: Unleash's session, PAT and admin-API-token authentication, and its rate limits.

Like Unleash, authentication guards a path prefix (`/api`), not individual operations, and
runs before routing: an unknown path or method is a 401 without credentials and a 404 with them.
Under `/api/client`, `/api/frontend` and `/api/proxy` Unleash's API-token guard runs first and
refuses, the same way in every version, a request whose Authorization could be no token at all
(what it does with a PAT or an admin token there differs by version; the mock then goes on).
The order is Unleash's authorization middleware:
1. an admin API token in `Authorization` makes the caller an API user (no user id), unless
   the version lets a session cookie beat it (5.x);
2. otherwise a session cookie from `POST /auth/simple/login` wins;
3. otherwise a PAT (`user:…`, raw or after `Bearer `);
4. otherwise 401: `UnauthorizedError` if an Authorization header was sent, else
   `AuthenticationRequired`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import math
import random
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.clock import Clock
from mock_server.errors import (
    ApiTokenRequired,
    AuthenticationRequired,
    TooManyRequests,
    Unauthorized,
    UnleashError,
    WrongTokenType,
)
from mock_server.store import User
from mock_server.versions import VersionProfile

if TYPE_CHECKING:
    from mock_server.state import MockState

PRINCIPAL_KEY = "unleash_pat.principal"
SESSION_COOKIE = "unleash-session"
PROTECTED_PREFIX = "/api"
API_TOKEN_PREFIXES = ("/api/client", "/api/frontend", "/api/proxy")
_TOKEN_TYPE_CHECKED = ("/api/client", "/api/frontend")
_BEARER = re.compile(r"^Bearer\s+", re.I)
# Per-client tables (rate-limit buckets) hold at most this many clients: a client that sends a
# new X-Forwarded-For on every request cannot grow the mock's memory.
MAX_CLIENTS = 10_000


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


def cookie_value(header: str, name: str) -> str | None:
    """The `cookie` package's parse (0.7, as express-session runs it) for one name: pairs split
    on `;`, spaces and tabs trimmed, the first pair of that name wins, surrounding quotes
    dropped, percent-decoded where it decodes (else kept as sent). Linear in the header's
    length, unlike http.cookies (CVE-2024-7592)."""
    for pair in header.split(";"):
        key, eq, value = pair.partition("=")
        if not eq or key.strip(" \t") != name:
            continue
        value = value.strip(" \t")
        if value.startswith('"'):
            value = value[1:-1]
        if "%" in value:
            # Where decodeURIComponent throws, `cookie` keeps the raw value.
            with contextlib.suppress(UnicodeDecodeError):
                value = unquote(value, errors="strict")
        return value
    return None


class Sessions:
    """Login sessions, in memory, behind a cookie signed as express-session signs it
    (`s:<id>.<HMAC-SHA256>`, with the mock's own secret); an unsigned or badly signed cookie is
    no session. Like Unleash, a user keeps at most the version's number of sessions (if it has a
    cap): a login drops the oldest before adding its own."""

    def __init__(
        self, clock: Clock, profile: VersionProfile, rng: random.Random | None = None
    ) -> None:
        """`rng`: a seeded mock's generator, which makes cookies repeat; else the OS's."""
        self._clock = clock
        self._profile = profile
        self._rng = rng
        self._secret = rng.randbytes(32) if rng else secrets.token_bytes(32)
        self._by_id: dict[str, _Session] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def _sign(self, sid: str) -> str:
        mac = hmac.new(self._secret, sid.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode().rstrip("=")

    def create(self, user: User) -> tuple[str, int]:
        """Start a session; returns its Set-Cookie header value, written as Express writes it,
        and how many of the user's oldest sessions it ended to stay within the cap."""
        cap = self._profile.max_sessions_per_user
        ended: list[str] = []
        if cap is not None:
            own = [sid for sid, session in self._by_id.items() if session.user.id == user.id]
            ended = own[: max(0, len(own) - (cap - 1))]
            for sid in ended:
                del self._by_id[sid]
        raw = self._rng.randbytes(24) if self._rng else secrets.token_bytes(24)
        sid = base64.urlsafe_b64encode(raw).decode().rstrip("=")  # as secrets.token_urlsafe
        expires = self._clock.time() + self._profile.session_seconds
        signed = quote(f"s:{sid}.{self._sign(sid)}", safe="!*'()")
        cookie = (
            f"{SESSION_COOKIE}={signed}; Path=/; "
            f"Expires={formatdate(expires, usegmt=True)}; HttpOnly; SameSite=Lax"
        )
        self._by_id[sid] = _Session(user, expires, cookie)
        return cookie, len(ended)

    def lookup(self, cookie_header: str | None) -> _Session | None:
        raw = cookie_value(cookie_header, SESSION_COOKIE) if cookie_header else None
        if raw is None or not raw.startswith("s:"):
            return None
        sid, dot, signature = raw[2:].rpartition(".")
        if not dot or not hmac.compare_digest(
            self._sign(sid).encode(), signature.encode("utf-8", "surrogatepass")
        ):
            return None
        session = self._by_id.get(sid)
        if session is None or session.expires < self._clock.time():
            return None
        return session


class RateLimiter:
    """express-rate-limit's memory store: a fixed window per client, started by its first hit.
    Buckets go when their window ends, and the oldest go first beyond MAX_CLIENTS."""

    def __init__(self, clock: Clock, limit: int, window_seconds: int = 60) -> None:
        self._clock = clock
        self.limit = limit
        self.window = window_seconds
        # Ordered by window start, which (one window length for all) is the order they end in.
        self._hits: OrderedDict[bytes, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, client: str) -> tuple[list[tuple[bytes, bytes]], int | None]:
        """Count one request; returns the RateLimit-* headers and, when it is over the limit,
        the seconds to wait (express-rate-limit's Retry-After is the window's remaining time)."""
        # In whole milliseconds, as express-rate-limit counts: no float rounding in Reset.
        now = int(self._clock.time() * 1000)
        key = hashlib.blake2b(client.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            while self._hits:
                oldest, (_, ends) = next(iter(self._hits.items()))
                if ends > now and len(self._hits) < MAX_CLIENTS:
                    break
                del self._hits[oldest]
            count, reset_at = self._hits.get(key, (0, 0))
            if now >= reset_at:
                count, reset_at = 0, now + self.window * 1000
                self._hits.pop(key, None)  # a new window goes to the end of the order
            count += 1
            self._hits[key] = (count, reset_at)
        reset = max(0, math.ceil((reset_at - now) / 1000))
        headers = [
            (b"ratelimit-policy", f"{self.limit};w={self.window}".encode()),
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(max(self.limit - count, 0)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        return headers, (reset if count > self.limit else None)


def credential(headers: Headers) -> str:
    """The Authorization value as Unleash sees it: without the spaces and tabs around it (the
    HTTP parser's; Unleash trims nothing more, so a trailing U+0085 or U+00A0 stays), a leading
    `Bearer ` removed."""
    return _BEARER.sub("", headers.get("authorization", "").strip(" \t"))


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


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


def authenticate(state: MockState, headers: Headers, authorization: str) -> Principal:
    """`authorization` is `credential(headers)`, which the caller needs too."""
    admin = bool(authorization) and state.store.is_admin_token(authorization)
    session = state.sessions.lookup(headers.get("cookie"))
    if admin and (session is None or not state.profile.cookie_beats_admin_token):
        return Principal(None, "admin-token")
    if session is not None:
        return Principal(session.user, "session", session)
    if authorization.startswith("user:"):
        found = state.store.authenticate(authorization)
        if found is not None:
            return Principal(found[0], "pat")
    if headers.get("authorization"):
        raise Unauthorized()
    raise AuthenticationRequired()


class AuthMiddleware:
    """Guards /api, leaving the Principal in the scope for the handlers; counts PAT
    requests on every path against Unleash's rate limit."""

    def __init__(self, app: ASGIApp, *, state: MockState) -> None:
        self.app = app
        self.state = state

    def _api_token_guard(self, path: str, authorization: str) -> None:
        if not any(_under(path, p) for p in API_TOKEN_PREFIXES):
            return
        if not (
            authorization.startswith("user:") or self.state.store.is_admin_token(authorization)
        ):
            raise ApiTokenRequired()
        if self.state.profile.api_token_routes_refuse_user_tokens and any(
            _under(path, p) for p in _TOKEN_TYPE_CHECKED
        ):
            raise WrongTokenType()

    def _limit(self, scope: Scope, authorization: str, send: Send) -> tuple[Send, int | None]:
        """Unleash's PAT rate limit: it counts every request whose Authorization (as the auth
        middleware left it) is a PAT, on any path. Returns `send` with the RateLimit-* headers,
        and the seconds to wait when over the limit."""
        if not (authorization.startswith("user:") and self.state.profile.pat_rate_limit):
            return send, None
        limit_headers, retry_after = self.state.pat_limiter.hit(client_key(scope))
        return with_headers(send, limit_headers), retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = Headers(scope=scope)
        protected = _under(path, PROTECTED_PREFIX)
        principal: Principal | None = None
        try:
            if protected:
                authorization = credential(headers)
                self._api_token_guard(path, authorization)
                # An unauthenticated request ends in the auth middleware, before the limiter.
                principal = authenticate(self.state, headers, authorization)
            else:
                # No auth middleware here, so `Bearer ` stays and such a header is not counted.
                authorization = headers.get("authorization", "").strip(" \t")
            send, retry_after = self._limit(scope, authorization, send)
            if retry_after is not None:
                raise TooManyRequests(retry_after)
        except UnleashError as exc:
            await exc.response(self.state.profile.errors)(scope, receive, send)
            return
        if principal is not None:
            scope[PRINCIPAL_KEY] = principal
            session = principal.session
            if session and not session.resent and self.state.profile.resends_session_cookie:
                session.resent = True
                send = with_headers(send, [(b"set-cookie", session.cookie.encode())])
        await self.app(scope, receive, send)
