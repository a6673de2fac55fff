"""The in-memory PAT store: users, their PATs and admin API tokens. Knows nothing about HTTP.

Rules enforced here are Unleash's service rules, checked in Unleash's order (empty description,
expiry in the past, the per-user limit, a duplicate description), then the insert, all under one
lock so that concurrent creates can never exceed the limit or duplicate a description or an id.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from mock_server.clock import Clock

FIRST_FLUSH_SECONDS = 15.0
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class StoreError(Exception):
    """A service rule was broken: `kind` is "empty", "past", "limit", "nul" or "duplicate" (the
    HTTP layer picks the status and the version's words)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password: str | None = None
    name: str | None = None
    email: str | None = None
    admin: bool = False  # Unleash's Admin root role; others are Viewers
    created_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)  # the store stamps it on add_user


@dataclass(frozen=True)
class Pat:
    id: int
    description: str
    expires_at: datetime
    user_id: int
    created_at: datetime
    seen_at: datetime | None = None


@dataclass
class _UserPats:
    by_id: dict[int, Pat] = field(default_factory=dict)
    descriptions: set[str] = field(default_factory=set)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class PatStore:
    """Thread-safe store. Secrets are looked up by a dict (O(1)) and then compared in constant time.

    `new_secret` makes the secret of each created PAT (the version decides its format).
    `seenAt` is recorded the way Unleash does it: uses are buffered and written in batches, every
    `seen_at_flush_seconds`, with the time of the batch (0 writes them at once).
    """

    def __init__(
        self,
        *,
        clock: Clock,
        pat_limit: int,
        new_secret: Callable[[], str],
        seen_at_flush_seconds: float = 180.0,
    ) -> None:
        self._clock = clock.now
        self.pat_limit = pat_limit
        self._new_secret = new_secret
        self._lock = threading.Lock()
        self._users: dict[int, User] = {}
        self._usernames: dict[str, User] = {}
        self._pats: dict[int, _UserPats] = {}
        # Secrets are indexed by their SHA-256, so a lookup's timing says nothing of the secret.
        self._by_digest: dict[bytes, int] = {}
        self._digest_of: dict[int, bytes] = {}
        self._pat_owner: dict[int, int] = {}  # pat id -> user id
        self._secret_of: dict[int, str] = {}  # pat id -> secret, for the control API's snapshot
        self._admin_tokens: dict[str, str] = {}
        self._next_id = 1
        self._flush_every = seen_at_flush_seconds
        self._started = clock.time()
        self._seen: dict[int, float] = {}  # PAT id -> when its latest use gets written
        self._next_flush = math.inf

    # -- users and admin tokens -------------------------------------------------------------
    def add_user(self, user: User) -> None:
        with self._lock:
            if user.id in self._users or user.username in self._usernames:
                raise ValueError(f"duplicate user {user.id} ({user.username})")
            # Unleash stores e-mail addresses lower-cased (and so shows and matches them).
            email = user.email.lower() if user.email else user.email
            user = replace(user, email=email, created_at=self._clock())
            self._users[user.id] = user
            self._usernames[user.username] = user
            self._pats[user.id] = _UserPats()

    def restore(
        self, users: list[User], pats: list[tuple[Pat, str]], admin_tokens: list[str], next_id: int
    ) -> None:
        """Refill an empty store with what it held before (a `--state` file): users as they
        were, PATs with their ids, instants and secrets, and the id sequence."""
        with self._lock:
            for user in users:
                self._users[user.id] = self._usernames[user.username] = user
                self._pats[user.id] = _UserPats()
            for pat, secret in pats:
                owned = self._pats[pat.user_id]
                owned.by_id[pat.id] = pat
                owned.descriptions.add(pat.description)
                digest = _digest(secret)
                self._by_digest[digest] = pat.id
                self._digest_of[pat.id] = digest
                self._pat_owner[pat.id] = pat.user_id
                self._secret_of[pat.id] = secret
            self._admin_tokens.update((token, token) for token in admin_tokens)
            self._next_id = next_id

    @property
    def next_id(self) -> int:
        return self._next_id

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def users(self) -> list[User]:
        return list(self._users.values())

    def admin_tokens(self) -> list[str]:
        return list(self._admin_tokens)

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

    def is_admin_token(self, secret: str) -> bool:
        known = self._admin_tokens.get(secret)
        return known is not None and hmac.compare_digest(known.encode(), secret.encode())

    # -- PATs -------------------------------------------------------------------------------
    def create(
        self,
        user_id: int,
        description: str,
        expires_at: datetime,
        *,
        secret: str | None = None,
        check_expiry: bool = True,
    ) -> tuple[Pat, str]:
        """Create a PAT; returns it with its secret. Raises StoreError for a broken rule."""
        # PostgreSQL stores text as UTF-8, into which node-postgres writes a lone surrogate
        # (valid in a JSON string escape) as U+FFFD.
        description = _LONE_SURROGATE.sub("\ufffd", description)
        now = self._clock()
        if not description:
            raise StoreError("empty")
        if check_expiry and expires_at < now:
            raise StoreError("past")
        secret = secret or self._new_secret()
        with self._lock:
            owned = self._pats[user_id]
            if len(owned.by_id) >= self.pat_limit:
                raise StoreError("limit")
            if "\x00" in description:
                # Unleash's duplicate check sends it to PostgreSQL, which cannot hold NUL: a 500
                # leaking SQL there. Here it is the 400 that was meant.
                raise StoreError("nul")
            if description in owned.descriptions:
                raise StoreError("duplicate")
            digest = _digest(secret)
            if digest in self._by_digest:
                raise ValueError("duplicate PAT secret")
            pat = Pat(self._next_id, description, expires_at, user_id, now)
            self._next_id += 1
            owned.by_id[pat.id] = pat
            owned.descriptions.add(description)
            self._by_digest[digest] = pat.id
            self._digest_of[pat.id] = digest
            self._pat_owner[pat.id] = user_id
            self._secret_of[pat.id] = secret
        return pat, secret

    def list(self, user_id: int) -> list[Pat]:
        self._flush_seen()
        owned = self._pats.get(user_id)
        return list(owned.by_id.values()) if owned else []

    def exists(self, pat_id: int) -> bool:
        """Whether any user holds a PAT with this id."""
        return pat_id in self._pat_owner

    def delete(self, user_id: int, pat_id: int) -> bool:
        """Delete the caller's own PAT; another user's or an unknown id deletes nothing."""
        with self._lock:
            if self._pat_owner.get(pat_id) != user_id:
                return False
            pat = self._pats[user_id].by_id.pop(pat_id)
            self._pats[user_id].descriptions.discard(pat.description)
            del self._pat_owner[pat_id]
            del self._secret_of[pat_id]
            del self._by_digest[self._digest_of.pop(pat_id)]
            self._seen.pop(pat_id, None)
        return True

    def secret(self, pat_id: int) -> str:
        return self._secret_of[pat_id]

    def owner(self, secret: str) -> int | None:
        """The user id a live or expired PAT secret belongs to, without counting a use."""
        pat_id = self._by_digest.get(_digest(secret))
        return None if pat_id is None else self._pat_owner.get(pat_id)

    def authenticate(self, secret: str) -> tuple[User, Pat] | None:
        """The user and PAT for a live secret; None for unknown, deleted or expired ones."""
        digest = _digest(secret)
        self._flush_seen()  # a due batch is written before this use starts the next one
        with self._lock:
            pat_id = self._by_digest.get(digest)
            if pat_id is None or not hmac.compare_digest(self._digest_of[pat_id], digest):
                return None
            user_id = self._pat_owner[pat_id]
            pat = self._pats[user_id].by_id[pat_id]
            if pat.expires_at <= self._clock():
                return None
            written_at = self._flush_time(self._clock().timestamp())
            self._seen[pat_id] = written_at
            self._next_flush = min(self._next_flush, written_at)
        self._flush_seen()
        return self._users[user_id], pat

    def _flush_time(self, used_at: float) -> float:
        """When Unleash's scheduler writes a use: its first run 15 s after start (Unleash: 2 to
        30 s), then every interval counted from start."""
        if self._flush_every <= 0:
            return used_at
        first = self._started + min(FIRST_FLUSH_SECONDS, self._flush_every)
        if used_at <= first:
            return first
        runs = math.ceil((used_at - self._started) / self._flush_every)
        return self._started + runs * self._flush_every

    def _flush_seen(self) -> None:
        """Write the uses whose batch has run by now (lazily: nothing runs in the background)."""
        now = self._clock().timestamp()
        if now < self._next_flush:
            return
        with self._lock:
            due = sorted((at, pat_id) for pat_id, at in self._seen.items() if at <= now)
            for at, pat_id in due:
                del self._seen[pat_id]
                user_id = self._pat_owner.get(pat_id)
                if user_id is not None:
                    owned = self._pats[user_id].by_id
                    # Unleash's list has no ORDER BY: an updated row moves to the end.
                    owned[pat_id] = replace(
                        owned.pop(pat_id), seen_at=datetime.fromtimestamp(at, UTC)
                    )
            self._next_flush = min(self._seen.values(), default=math.inf)
