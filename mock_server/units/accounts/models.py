"""Users, admin API tokens and login sessions, in memory. Knows nothing about HTTP."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import random
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import formatdate
from enum import IntEnum
from typing import Protocol
from urllib.parse import quote, unquote

from mock_server.clock import Clock
from mock_server.versions import VersionProfile

SESSION_COOKIE = "unleash-session"
# Express's res.clearCookie: the name with no value, expired at the epoch (a logout's answer).
CLEARED_COOKIE = f"{SESSION_COOKIE}=; Path=/; Expires={formatdate(0, usegmt=True)}"


class RootRole(IntEnum):
    """Unleash's predefined root roles, by the ids its migrations give them."""

    ADMIN = 1
    EDITOR = 2
    VIEWER = 3


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password: str | None = None
    name: str | None = None
    email: str | None = None
    root_role: RootRole = RootRole.VIEWER
    created_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)  # stamped by Accounts.add_user
    seen_at: datetime | None = None  # the last login (Unleash's users.seen_at)

    @property
    def admin(self) -> bool:
        return self.root_role is RootRole.ADMIN


class AccountsObserver(Protocol):
    """Told of every change, before the change returns (`--state` writes it through)."""

    def user_added(self, user: User) -> None: ...

    def user_changed(self, user: User) -> None: ...

    def user_removed(self, user_id: int) -> None: ...

    def admin_token_added(self, secret: str) -> None: ...


class Accounts:
    """Users and admin API tokens. Thread-safe."""

    def __init__(self, clock: Clock, observer: AccountsObserver | None = None) -> None:
        self._clock = clock
        self.observer = observer
        self._lock = threading.Lock()
        self._users: dict[int, User] = {}
        self._usernames: dict[str, User] = {}
        self._admin_tokens: dict[str, str] = {}
        self._last_id = 0  # the id sequence: the highest id ever held

    def _put(self, user: User, *, moved: bool = False) -> None:
        """`moved`: a write to the user's row, which PostgreSQL stores anew at the end of the
        table, so that it comes last where Unleash reads the table in its order."""
        if moved:
            self._users.pop(user.id, None)
        self._users[user.id] = user
        if user.username:  # a user made with an e-mail address alone has no username
            self._usernames[user.username] = user

    def _drop(self, user: User) -> None:
        del self._users[user.id]
        if user.username:
            del self._usernames[user.username]

    def add_user(self, user: User) -> User:
        """Add `user` (its id 0: the next of the id sequence, as PostgreSQL's serial gives)."""
        with self._lock:
            if user.id in self._users or (user.username and user.username in self._usernames):
                raise ValueError(f"duplicate user {user.id} ({user.username})")
            user_id = user.id or self._last_id + 1
            self._last_id = max(self._last_id, user_id)
            user = replace(
                user, id=user_id, email=_stored_email(user.email), created_at=self._clock.now()
            )
            self._put(user)
        if self.observer:
            self.observer.user_added(user)
        return user

    def change_user(self, user_id: int, **changes: object) -> User | None:
        """The user with these fields replaced (`email` stored as Unleash stores it), or None
        where no user has this id."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            if "email" in changes:
                changes["email"] = _stored_email(changes["email"])  # type: ignore[arg-type]
            user = replace(user, **changes)  # type: ignore[arg-type]
            if self.observer:  # first: a write that fails leaves the user as it was
                self.observer.user_changed(user)
            self._put(user, moved=True)
        return user

    def set_role(self, user_id: int, role: RootRole) -> None:
        """The user's root role (Unleash's role_user table: the user's own row stays where it
        is)."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return
            user = replace(user, root_role=role)
            if self.observer:
                self.observer.user_changed(user)
            self._put(user)

    def seen(self, user_id: int) -> None:
        """A login: the user's seenAt is now (kept in memory only, as the state file keeps no
        seenAt)."""
        with self._lock:
            user = self._users.get(user_id)
            if user is not None:
                user = replace(user, seen_at=self._clock.now())
                self._put(user, moved=True)

    def remove_user(self, user_id: int) -> User | None:
        """Take the user out (its id is never given again); None where no user has it."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            if self.observer:  # first: a write that fails leaves the user as it was
                self.observer.user_removed(user_id)
            self._drop(user)
        return user

    def restore(self, users: list[User], admin_tokens: list[str]) -> None:
        """Refill empty accounts with what they held before (a `--state` file), as they were."""
        with self._lock:
            for user in users:
                self._put(user)
                self._last_id = max(self._last_id, user.id)
            self._admin_tokens.update((token, token) for token in admin_tokens)

    def discard(self, user_ids: set[int], admin_tokens: set[str]) -> None:
        """Take out what a seed that failed half-way added, without telling the observer (its
        writes were rolled back with the seed's)."""
        with self._lock:
            for user_id in user_ids:
                user = self._users.get(user_id)
                if user is not None:
                    self._drop(user)
            for token in admin_tokens:
                self._admin_tokens.pop(token, None)

    def take_id(self) -> int:
        """The next id of the sequence, used whether or not a user gets it."""
        with self._lock:
            self._last_id += 1
            return self._last_id

    def __len__(self) -> int:
        return len(self._users)

    def exists(self, username: str | None, email: str | None) -> bool:
        """Unleash's hasUser: a user has this username, or this e-mail address (any case)."""
        email = _stored_email(email)
        return (bool(username) and username in self._usernames) or (
            bool(email) and any(user.email == email for user in self._users.values())
        )

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def users(self) -> list[User]:
        """In the table's order: as added, each user written since (a login, a change) last."""
        return list(self._users.values())

    def by_username(self, username: str) -> User | None:
        return self._usernames.get(username)

    def check_password(self, username: str, password: str) -> User | None:
        """The user whose password this is; Unleash's login takes a username (exact) or an
        e-mail address (any case)."""
        if "@" in username:
            email = username.lower()
            user = next((u for u in self._users.values() if u.email == email), None)
        else:
            user = self._usernames.get(username)
        if user is None or user.password is None:
            return None
        # A lone surrogate (valid in a JSON escape) must mismatch, not fail to encode.
        given = password.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(user.password.encode("utf-8", "surrogatepass"), given):
            return None
        return user

    def add_admin_token(self, secret: str) -> None:
        self._admin_tokens[secret] = secret
        if self.observer:
            self.observer.admin_token_added(secret)

    def admin_tokens(self) -> list[str]:
        return list(self._admin_tokens)

    def is_admin_token(self, secret: str) -> bool:
        known = self._admin_tokens.get(secret)
        return known is not None and hmac.compare_digest(known.encode(), secret.encode())


def _stored_email(email: str | None) -> str | None:
    """Unleash stores e-mail addresses lower-cased (and so shows and matches them)."""
    return email.lower() if email else email


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


# Sessions the mock keeps at most, for all users together: the oldest go first beyond it. (A
# real Unleash keeps them in PostgreSQL; 5.x caps none per user, so logins from ever new
# addresses would otherwise grow the mock's memory without end.)
MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    user: User
    expires: float
    cookie: str
    # express-session saves a new session on its first use and sends the cookie again then.
    resent: bool = False
    # Ended while a request of its own was answered (a logout): express-session sets no cookie.
    ended: bool = False
    # How many older sessions its login ended: the session keeps the user object of its login.
    deleted_sessions: int = 0


class Sessions:
    """Login sessions, in memory, behind a cookie signed as express-session signs it
    (`s:<id>.<HMAC-SHA256>`, with the mock's own secret); an unsigned or badly signed cookie is
    no session. Like Unleash, a user keeps at most the release's number of live sessions (if it
    has a cap): a login drops the oldest before adding its own. Unlike Unleash, the table holds
    at most MAX_SESSIONS: a login drops expired sessions, then the oldest beyond that bound,
    whose cookies are then refused as expired ones are. Thread-safe."""

    def __init__(
        self, clock: Clock, profile: VersionProfile, rng: random.Random | None = None
    ) -> None:
        """`rng`: a seeded mock's generator, which makes cookies repeat; else the OS's."""
        self._clock = clock
        self._profile = profile
        self._rng = rng
        self._secret = rng.randbytes(32) if rng else secrets.token_bytes(32)
        self._by_id: dict[str, Session] = {}  # oldest first (dicts keep insertion order)
        # Each user's sessions, oldest first (for the cap and for logout).
        self._of_user: dict[int, dict[str, None]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_id)

    def _sign(self, sid: str) -> str:
        mac = hmac.new(self._secret, sid.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode().rstrip("=")

    def create(self, user: User) -> tuple[str, int]:
        """Start a session; returns its Set-Cookie header value, written as Express writes it,
        and how many of the user's oldest sessions it ended to stay within the cap."""
        now = self._clock.time()
        raw = self._rng.randbytes(24) if self._rng else secrets.token_bytes(24)
        sid = base64.urlsafe_b64encode(raw).decode().rstrip("=")  # as secrets.token_urlsafe
        expires = now + self._profile.session_seconds
        signed = quote(f"s:{sid}.{self._sign(sid)}", safe="!*'()")
        cookie = (
            f"{SESSION_COOKIE}={signed}; Path=/; "
            f"Expires={formatdate(expires, usegmt=True)}; HttpOnly; SameSite=Lax"
        )
        with self._lock:
            # Expired sessions go from the oldest on: each is dropped once, so a login costs
            # O(1) amortised. (Behind one the clock made newer, some may wait for the bound.)
            while self._by_id:
                oldest = next(iter(self._by_id))
                if self._by_id[oldest].expires >= now:
                    break
                self._end(oldest)
            ended = 0
            own = self._of_user.setdefault(user.id, {})
            cap = self._profile.max_sessions_per_user
            if cap is not None:
                for old in [old for old in own if self._by_id[old].expires < now]:
                    self._end(old)
                for old in list(own)[: max(0, len(own) - (cap - 1))]:
                    self._end(old)
                    ended += 1
            while len(self._by_id) >= MAX_SESSIONS:
                self._end(next(iter(self._by_id)))
            self._of_user.setdefault(user.id, {})[sid] = None
            self._by_id[sid] = Session(user, expires, cookie, deleted_sessions=ended)
        return cookie, ended

    def end_user_sessions(self, user_id: int) -> int:
        """End every session of the user, as Unleash's logout does whichever of them (or which
        of the user's credentials) asked; returns how many ended."""
        with self._lock:
            own = list(self._of_user.get(user_id, ()))
            for sid in own:
                self._end(sid)
            return len(own)

    def _end(self, sid: str) -> None:
        session = self._by_id.pop(sid)
        session.ended = True
        own = self._of_user.get(session.user.id)
        if own is not None:
            own.pop(sid, None)
            if not own:
                del self._of_user[session.user.id]

    def lookup(self, cookie_header: str | None) -> Session | None:
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
