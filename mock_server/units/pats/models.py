"""The in-memory PAT store: each user's PATs and their secrets. Knows nothing about HTTP.

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
from enum import Enum
from typing import Protocol

from mock_server.clock import Clock

FIRST_FLUSH_SECONDS = 15.0
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Rule(Enum):
    """Unleash's service rules for a new PAT, in the order it checks them."""

    EMPTY_DESCRIPTION = "empty description"
    PAST_EXPIRY = "expiry in the past"
    TOO_MANY_PATS = "the per-user limit"
    NUL_DESCRIPTION = "a NUL in the description"
    DUPLICATE_DESCRIPTION = "a duplicate description"
    # Where the schema does not require an expiry (5.11 and older), the insert is what fails.
    EXPIRY_MISSING = "no expiry"


class StoreError(Exception):
    """A service rule was broken (the HTTP layer picks the status and the release's words)."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule.value)
        self.rule = rule


class PatsObserver(Protocol):
    """Told of every change, before the change returns (`--state` writes it through)."""

    def pat_created(self, pat: Pat, secret: str, next_id: int) -> None: ...

    def pat_deleted(self, pat_id: int) -> None: ...


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

    `new_secret` makes the secret of each created PAT (the release decides its format).
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
        observer: PatsObserver | None = None,
    ) -> None:
        self._clock = clock.now
        self.pat_limit = pat_limit
        self._new_secret = new_secret
        self.observer = observer
        self._lock = threading.Lock()
        self._pats: dict[int, _UserPats] = {}  # user id -> the user's PATs
        # Secrets are indexed by their SHA-256, so a lookup's timing says nothing of the secret.
        self._by_digest: dict[bytes, int] = {}
        self._digest_of: dict[int, bytes] = {}
        self._pat_owner: dict[int, int] = {}  # pat id -> user id
        self._secret_of: dict[int, str] = {}  # pat id -> secret, for the control API's snapshot
        self._next_id = 1
        self.flush_every = seen_at_flush_seconds  # may change at runtime (PUT options)
        self._started = clock.time()
        self._seen: dict[int, float] = {}  # PAT id -> when its latest use gets written
        self._next_flush = math.inf

    def restore(self, pats: list[tuple[Pat, str]], next_id: int) -> None:
        """Refill an empty store with what it held before (a `--state` file): PATs with their
        ids, instants and secrets, and the id sequence."""
        with self._lock:
            for pat, secret in pats:
                self._insert(pat, secret)
            self._next_id = next_id

    def _insert(self, pat: Pat, secret: str) -> None:
        owned = self._pats.setdefault(pat.user_id, _UserPats())
        owned.by_id[pat.id] = pat
        owned.descriptions.add(pat.description)
        digest = _digest(secret)
        self._by_digest[digest] = pat.id
        self._digest_of[pat.id] = digest
        self._pat_owner[pat.id] = pat.user_id
        self._secret_of[pat.id] = secret

    @property
    def next_id(self) -> int:
        return self._next_id

    def create(
        self,
        user_id: int,
        description: str,
        expires_at: datetime | None,
        *,
        secret: str | None = None,
        check_expiry: bool = True,
    ) -> tuple[Pat, str]:
        """Create a PAT; returns it with its secret. Raises StoreError for a broken rule.
        `expires_at` None is no expiry at all: refused where Unleash's insert fails, after
        every other rule."""
        # PostgreSQL stores text as UTF-8, into which node-postgres writes a lone surrogate
        # (valid in a JSON string escape) as U+FFFD.
        description = _LONE_SURROGATE.sub("\ufffd", description)
        now = self._clock()
        self.check(description, expires_at if check_expiry else None)
        secret = secret or self._new_secret()
        with self._lock:
            owned = self._pats.setdefault(user_id, _UserPats())
            if len(owned.by_id) >= self.pat_limit:
                raise StoreError(Rule.TOO_MANY_PATS)
            if "\x00" in description:
                # Unleash's duplicate check sends it to PostgreSQL, which cannot hold NUL: a 500
                # leaking SQL there. Here it is the 400 that was meant.
                raise StoreError(Rule.NUL_DESCRIPTION)
            if description in owned.descriptions:
                raise StoreError(Rule.DUPLICATE_DESCRIPTION)
            if expires_at is None:
                raise StoreError(Rule.EXPIRY_MISSING)
            if _digest(secret) in self._by_digest:
                raise ValueError("duplicate PAT secret")
            pat = Pat(self._next_id, description, expires_at, user_id, now)
            if self.observer:  # first: a write that fails leaves the store as it was
                self.observer.pat_created(pat, secret, self._next_id + 1)
            self._next_id += 1
            self._insert(pat, secret)
        return pat, secret

    def check(self, description: str, expires_at: datetime | None) -> None:
        """The rules Unleash checks before it needs the user: an empty description, an expiry
        in the past. Raises StoreError."""
        if not description:
            raise StoreError(Rule.EMPTY_DESCRIPTION)
        if expires_at is not None and expires_at < self._clock():
            raise StoreError(Rule.PAST_EXPIRY)

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
            if self.observer:  # first: a write that fails leaves the store as it was
                self.observer.pat_deleted(pat_id)
            pat = self._pats[user_id].by_id.pop(pat_id)
            self._pats[user_id].descriptions.discard(pat.description)
            del self._pat_owner[pat_id]
            del self._secret_of[pat_id]
            del self._by_digest[self._digest_of.pop(pat_id)]
            self._seen.pop(pat_id, None)
        return True

    def discard_users(self, user_ids: set[int]) -> None:
        """Take out every PAT of these users (deleted users, whose PATs the state file dropped
        with them, or users a seed that failed half-way added, whose writes were rolled back),
        without telling the observer. The ids they took stay used, as a PostgreSQL sequence's
        do."""
        with self._lock:
            for user_id in user_ids:
                for pat_id in self._pats.pop(user_id, _UserPats()).by_id:
                    del self._pat_owner[pat_id]
                    del self._secret_of[pat_id]
                    del self._by_digest[self._digest_of.pop(pat_id)]
                    self._seen.pop(pat_id, None)

    def secret(self, pat_id: int) -> str:
        return self._secret_of[pat_id]

    def in_use(self, secret: str) -> bool:
        """Whether a PAT, live or expired, has this secret."""
        return _digest(secret) in self._by_digest

    def find(self, secret: str) -> Pat | None:
        """The live PAT a secret belongs to (None: unknown, deleted or expired), without
        counting a use."""
        digest = _digest(secret)
        with self._lock:
            pat_id = self._by_digest.get(digest)
            if pat_id is None or not hmac.compare_digest(self._digest_of[pat_id], digest):
                return None
            pat = self._pats[self._pat_owner[pat_id]].by_id[pat_id]
        return pat if pat.expires_at > self._clock() else None

    def record_use(self, pat: Pat) -> None:
        """Count a use of `pat`, as Unleash does on each request it authenticates: its seenAt
        is written with the next batch."""
        self._flush_seen()  # a due batch is written before this use starts the next one
        with self._lock:
            if pat.id not in self._pat_owner:
                return
            written_at = self._flush_time(self._clock().timestamp())
            self._seen[pat.id] = written_at
            self._next_flush = min(self._next_flush, written_at)
        self._flush_seen()

    def _flush_time(self, used_at: float) -> float:
        """When Unleash's scheduler writes a use: its first run 15 s after start (Unleash: 2 to
        30 s), then every interval counted from start."""
        if self.flush_every <= 0:
            return used_at
        first = self._started + min(FIRST_FLUSH_SECONDS, self.flush_every)
        if used_at <= first:
            return first
        runs = math.ceil((used_at - self._started) / self.flush_every)
        return self._started + runs * self.flush_every

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
