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
def wrap_store(app: Any, method: str, wrapper: Callable[..., Any]) -> None:
    """Replace `state.store.<method>` by `wrapper(original, store, *args, **kwargs)`.
    Needs: the store's methods `create(user_id, description, expires_at, ...)`,
    `delete(user_id, pat_id) -> bool` and `authenticate(secret) -> (User, Pat) | None`, which
    the handlers and the auth middleware call on `state.store`."""

    def apply(state: Any) -> None:
        store = state.store
        original = getattr(store, method)

        def patched(*args: Any, **kwargs: Any) -> Any:
            return wrapper(original, store, *args, **kwargs)

        setattr(store, method, patched)

    on_every_build(app, apply)


def store_error(kind: str) -> Exception:
    """The store's refusal of a create ("limit", "duplicate", ...), which the handler maps to
    Unleash's answer. Needs: mock_server.store.StoreError(kind)."""
    from mock_server.store import StoreError

    return StoreError(kind)


def clean_description(description: str) -> str:
    """The description as the store keeps it (a lone surrogate becomes U+FFFD, as PostgreSQL
    writes it). Needs: the store's rule; repeated here."""
    import re

    return re.sub("[\ud800-\udfff]", "\ufffd", description)


def pats_of(store: Any, user_id: int) -> list[Any]:
    """A user's PATs (objects with .id, .description, .expires_at, .user_id). Needs:
    store.list(user_id), which also writes due seenAt batches (harmless here)."""
    return list(store.list(user_id))


def all_pats(store: Any) -> list[Any]:
    """Every user's PATs. Needs: store.users() and store.list(user_id)."""
    return [pat for user in store.users() for pat in store.list(user.id)]


def pat_limit(store: Any) -> int:
    """Needs: store.pat_limit, read by create() on every call."""
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
    """(User, Pat) for a secret, expired or not, without counting a use. Needs:
    store.owner(secret) -> user id, store.user(id), store.list(user_id), store.secret(pat_id)."""
    user_id = store.owner(secret)
    if user_id is None:
        return None
    for pat in store.list(user_id):
        if hmac.compare_digest(store.secret(pat.id), secret):
            return store.user(user_id), pat
    return None


def pat_by_id(store: Any, pat_id: int) -> tuple[Any, Any, str] | None:
    """(User, Pat, secret) for a PAT id. Needs: the store's `_pat_owner` map (pat id -> user
    id) and store.secret(pat_id)."""
    user_id = store._pat_owner.get(pat_id)
    if user_id is None:
        return None
    pat = next((p for p in store.list(user_id) if p.id == pat_id), None)
    return (store.user(user_id), pat, store.secret(pat_id)) if pat else None


def set_next_id(store: Any, next_id: int) -> None:
    """Needs: the store's id sequence, `_next_id`, read and bumped by create()."""
    store._next_id = next_id


def redirect_seen(store: Any, from_id: int, to_id: int) -> None:
    """Move a buffered use (the seenAt batch) from one PAT id to another (or drop it where no
    PAT has that id). Needs: the store's `_seen` buffer {pat id: when the batch writes it}."""
    at = store._seen.pop(from_id, None)
    if at is not None and store.exists(to_id):
        store._seen[to_id] = at


def set_secret_factory(app: Any, make: Callable[[], str]) -> None:
    """New PATs get secrets from `make`. Needs: the store's `_new_secret` callable."""

    def apply(state: Any) -> None:
        state.store._new_secret = make

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
    from mock_server.auth import SESSION_COOKIE, cookie_value

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
        from mock_server.serving import server_config as mock_config
    except ImportError:
        return uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", server_header=False
        )
    return mock_config(app, host, port, log_level="error")  # the suite sends bad bytes on purpose
