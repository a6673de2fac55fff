"""Who is calling: the one caller resolver, used by authentication, the rate limits, the fault
rules and the journal.

It reads the credentials as Unleash's authorization middleware reads them and decides who acts,
in Unleash's order:
1. an admin API token in `Authorization` makes the caller an API user (no user id), unless
   the release lets a session cookie beat it (5.x);
2. otherwise a session cookie from `POST /auth/simple/login` wins;
3. otherwise a live PAT (`user:…`, raw or after `Bearer `).
Resolving has no side effect: a PAT's use is counted (its seenAt) by the authentication
middleware only, where Unleash counts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import Scope

from mock_server.node.routing import under

if TYPE_CHECKING:
    from mock_server.state import MockState
    from mock_server.units.accounts.models import Session, User
    from mock_server.units.pats.models import Pat

CALLER_KEY = "unleash_pat.caller"
_BEARER = re.compile(r"^Bearer\s+", re.I)
# Where Unleash mounts its bearer-token middleware: elsewhere (/logout) `Bearer <PAT>` stays as
# sent, and is then no credential.
_BEARER_MOUNT = "/api"


class AuthMethod(Enum):
    ADMIN_TOKEN = "admin-token"
    SESSION = "session"
    PAT = "pat"


@dataclass(frozen=True)
class Caller:
    user: User | None  # None for an admin API token: Unleash's "API user" has no id
    via: AuthMethod
    session: Session | None = None
    pat: Pat | None = None  # the PAT that authenticated the request

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


def credential(headers: Headers, bearer: bool = True) -> str:
    """The Authorization value as Unleash sees it: without the spaces and tabs around it (the
    HTTP parser's; Unleash trims nothing more, so a trailing U+0085 or U+00A0 stays), a leading
    `Bearer ` removed where the release reads that scheme (`bearer`)."""
    value = headers.get("authorization", "").strip(" \t")
    return _BEARER.sub("", value) if bearer else value


def cookies(headers: Headers) -> str | None:
    """The Cookie header as Node reads it: several are joined with `; `."""
    return "; ".join(headers.getlist("cookie")) or None


def looks_like_pat(authorization: str) -> bool:
    """What Unleash's PAT middleware and rate limit take for a PAT: the `user:` prefix."""
    return authorization.startswith("user:")


def client_address(scope: Scope) -> str:
    """Express's `req.ip` with `trust proxy` on, as Unleash runs: X-Forwarded-For's first entry."""
    forwarded = Headers(scope=scope).get("x-forwarded-for")
    if forwarded and forwarded.split(",")[0].strip():
        return forwarded.split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


def read_authorization(state: MockState, headers: Headers, path: str) -> str:
    """The Authorization value as Unleash's authentication reads it at `path` (as routed)."""
    return credential(headers, state.profile.bearer and under(path, _BEARER_MOUNT))


def resolve(state: MockState, headers: Headers, path: str) -> Caller | None:
    """Who a request to `path` (as routed) acts as, or None when no credential it sends is
    valid."""
    authorization = read_authorization(state, headers, path)
    admin = bool(authorization) and state.accounts.is_admin_token(authorization)
    session = state.sessions.lookup(cookies(headers))
    if admin and (session is None or not state.profile.cookie_beats_admin_token):
        return Caller(None, AuthMethod.ADMIN_TOKEN)
    if session is not None:
        return Caller(session.user, AuthMethod.SESSION, session)
    if looks_like_pat(authorization) and (pat := state.pats.find(authorization)) is not None:
        user = state.accounts.user(pat.user_id)
        if user is not None:
            return Caller(user, AuthMethod.PAT, pat=pat)
    return None


def of(scope: Scope) -> Caller | None:
    """The caller the authentication middleware left in the scope (None: none, or not under
    /api)."""
    return scope.get(CALLER_KEY)
