"""Every reach into the mock's internals that the defect corpus makes, in one place.

Most defects are ASGI middleware over HTTP (proxy.py) and need none of this. The few below
change a rule no rewrite of requests or answers can reach (a PAT that must keep authenticating
after its expiry or deletion, a limit counted another way, a session cap, a new secret format).
The mock's modules are being refactored (store.py, auth.py, handlers.py will move), so when this
module breaks, fix it here: each hook says what it needs from the mock.

Hooks patch the objects of one app's state (never a class or a module: other apps in the process
stay stock), and are applied again whenever the state rebuilds them (reset, a new seed).
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

StoreWrapper = Callable[..., Any]


def _state(app: Any) -> Any:
    # Needs: the public `app.state` (a MockState).
    return app.state


def on_every_build(app: Any, apply: Callable[[Any], None]) -> None:
    """Run `apply(state)` now and after every rebuild of the state's store, sessions and
    limiters. Needs: MockState._build() as the one place that (re)creates them."""
    state = _state(app)
    build = state._build

    def rebuilt(*args: Any, **kwargs: Any) -> None:
        build(*args, **kwargs)
        apply(state)

    state._build = rebuilt
    apply(state)


# -- the store ---------------------------------------------------------------------------------
class _Store:
    """The defects' view of the mock's stores: one object with users and PATs, over the state's
    accounts and PAT backends (units/accounts, units/pats). Needs: state.accounts (users()
    and user(id)) and state.pats (list, secret, exists, and its `pat_limit`, `_pat_owner`,
    `_next_id`, `_seen`, `_new_secret`, `_by_digest`)."""

    def __init__(self, state: Any) -> None:
        self._state = state

    @property
    def _pats(self) -> Any:
        return self._state.pats

    def list(self, user_id: int) -> list[Any]:
        return self._pats.list(user_id)

    def users(self) -> list[Any]:
        return self._state.accounts.users()

    def user(self, user_id: int) -> Any:
        return self._state.accounts.user(user_id)

    def secret(self, pat_id: int) -> str:
        return self._pats.secret(pat_id)

    def exists(self, pat_id: int) -> bool:
        return self._pats.exists(pat_id)

    def owner(self, secret: str) -> int | None:
        from mock_server.units.pats.models import _digest

        pat_id = self._pats._by_digest.get(_digest(secret))
        return None if pat_id is None else self._pats._pat_owner.get(pat_id)

    @property
    def pat_limit(self) -> int:
        return self._pats.pat_limit

    @pat_limit.setter
    def pat_limit(self, limit: int) -> None:
        self._pats.pat_limit = limit

    @property
    def _pat_owner(self) -> dict[int, int]:
        return self._pats._pat_owner

    @property
    def _seen(self) -> dict[int, float]:
        return self._pats._seen

    @property
    def _next_id(self) -> int:
        return self._pats._next_id

    @_next_id.setter
    def _next_id(self, value: int) -> None:
        self._pats._next_id = value


def wrap_store(app: Any, method: str, wrapper: Callable[..., Any]) -> None:
    """Replace the store's `method` by `wrapper(original, store, *args, **kwargs)`: `create(
    user_id, description, expires_at, ...)`, `delete(user_id, pat_id) -> bool`, or
    `authenticate(secret) -> (User, Pat) | None` (a live PAT's owner and PAT, its use counted).
    Needs: state.pats.create/delete, and for `authenticate` state.pats.find(secret) and
    record_use(pat), which the authentication middleware calls in turn (the use is counted
    inside `authenticate` here, so the middleware's own count is dropped)."""

    def apply(state: Any) -> None:
        pats, store = state.pats, _Store(state)
        if method != "authenticate":
            original = getattr(pats, method)
            setattr(pats, method, lambda *a, **kw: wrapper(original, store, *a, **kw))
            return
        find, record_use = pats.find, pats.record_use

        def authenticate(secret: str) -> tuple[Any, Any] | None:
            pat = find(secret)
            if pat is None:
                return None
            record_use(pat)
            return state.accounts.user(pat.user_id), pat

        def patched_find(secret: str) -> Any:
            found = wrapper(authenticate, store, secret)
            return None if found is None else found[1]

        pats.find = patched_find
        pats.record_use = lambda pat: None

    on_every_build(app, apply)


def store_error(kind: str) -> Exception:
    """The store's refusal of a create ("limit", "duplicate", ...), which the handler maps to
    Unleash's answer. Needs: mock_server.units.pats.models.StoreError(Rule)."""
    from mock_server.units.pats.models import Rule, StoreError

    rules = {
        "empty": Rule.EMPTY_DESCRIPTION,
        "past": Rule.PAST_EXPIRY,
        "limit": Rule.TOO_MANY_PATS,
        "nul": Rule.NUL_DESCRIPTION,
        "duplicate": Rule.DUPLICATE_DESCRIPTION,
    }
    return StoreError(rules[kind])


def clean_description(description: str) -> str:
    """The description as the store keeps it (a lone surrogate becomes U+FFFD, as PostgreSQL
    writes it). Needs: the store's rule; repeated here."""
    import re

    return re.sub("[\ud800-\udfff]", "\ufffd", description)


def pats_of(store: Any, user_id: int) -> list[Any]:
    """A user's PATs (objects with .id, .description, .expires_at, .user_id)."""
    return list(store.list(user_id))


def all_pats(store: Any) -> list[Any]:
    """Every user's PATs."""
    return [pat for user in store.users() for pat in store.list(user.id)]


def pat_limit(store: Any) -> int:
    return store.pat_limit


def set_pat_limit(store: Any, limit: int) -> None:
    store.pat_limit = limit


def with_pat_limit(store: Any, limit: int, call: Callable[[], Any]) -> Any:
    """Run `call` with another limit (the store is synchronous: no request interleaves)."""
    saved = store.pat_limit
    store.pat_limit = limit
    try:
        return call()
    finally:
        store.pat_limit = saved


def find_pat(store: Any, secret: str) -> tuple[Any, Any] | None:
    """(User, Pat) for a secret, expired or not, without counting a use."""
    user_id = store.owner(secret)
    if user_id is None:
        return None
    for pat in store.list(user_id):
        if hmac.compare_digest(store.secret(pat.id), secret):
            return store.user(user_id), pat
    return None


def pat_by_id(store: Any, pat_id: int) -> tuple[Any, Any, str] | None:
    """(User, Pat, secret) for a PAT id."""
    user_id = store._pat_owner.get(pat_id)
    if user_id is None:
        return None
    pat = next((p for p in store.list(user_id) if p.id == pat_id), None)
    return (store.user(user_id), pat, store.secret(pat_id)) if pat else None


def set_next_id(store: Any, next_id: int) -> None:
    store._next_id = next_id


def redirect_seen(store: Any, from_id: int, to_id: int) -> None:
    """Move a buffered use (the seenAt batch) from one PAT id to another (or drop it where no
    PAT has that id). Needs: the PAT store's `_seen` buffer {pat id: when the batch writes it}."""
    at = store._seen.pop(from_id, None)
    if at is not None and store.exists(to_id):
        store._seen[to_id] = at


def set_secret_factory(app: Any, make: Callable[[], str]) -> None:
    """New PATs get secrets from `make`. Needs: the PAT store's `_new_secret` callable."""

    def apply(state: Any) -> None:
        state.pats._new_secret = make

    on_every_build(app, apply)


def now(app: Any) -> datetime:
    return _state(app).clock.now()


# -- sessions ----------------------------------------------------------------------------------
def set_session_cap(app: Any, cap: int | None) -> None:
    """Keep at most `cap` sessions per user (None: no cap). Needs: Sessions reading
    `_profile.max_sessions_per_user` on each login; the profile is a frozen dataclass."""

    def apply(state: Any) -> None:
        sessions = state.sessions
        sessions._profile = dataclasses.replace(sessions._profile, max_sessions_per_user=cap)

    on_every_build(app, apply)


def accept_any_session_signature(app: Any) -> None:
    """A cookie `s:<id>.<anything>` names a live session whatever its signature. Needs:
    Sessions.lookup(cookie_header) and its `_sign(sid)`, and auth.cookie_value()."""
    from mock_server.units.accounts.models import SESSION_COOKIE, cookie_value

    def apply(state: Any) -> None:
        sessions = state.sessions
        lookup = sessions.lookup

        def lenient(cookie_header: str | None) -> Any:
            raw = cookie_value(cookie_header, SESSION_COOKIE) if cookie_header else None
            if raw and raw.startswith("s:") and "." in raw:
                sid = raw[2:].rpartition(".")[0]
                cookie_header = f"{SESSION_COOKIE}=s:{sid}.{sessions._sign(sid)}"
            return lookup(cookie_header)

        sessions.lookup = lenient

    on_every_build(app, apply)


# -- rate limits -------------------------------------------------------------------------------
def count_pat_request(app: Any, client: str) -> list[tuple[str, str]]:
    """Count one request in the PAT rate limiter's bucket of `client`; its RateLimit-* headers.
    Needs: `state.pat_limiter.hit(client) -> (raw headers, retry_after)`."""
    headers, _ = _state(app).pat_limiter.hit(client)
    return [(k.decode(), v.decode()) for k, v in headers]


# -- serving -----------------------------------------------------------------------------------
def server_config(app: Any, host: str, port: int) -> Any:
    """uvicorn's settings for a variant: the mock's own (Node's HTTP limits, no Server header),
    as `unleash-pat serve` runs it. Needs: mock_server.serving.server_config(app, host, port);
    without it, plain uvicorn as the mock configures it."""
    import uvicorn

    try:
        from mock_server.node.serving import server_config as mock_config
    except ImportError:
        return uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", server_header=False
        )
    return mock_config(app, host, port, log_level="error")  # the suite sends bad bytes on purpose
