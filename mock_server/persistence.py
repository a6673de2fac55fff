"""`serve --state PATH`: users, PATs, admin tokens and the id sequence kept in SQLite (the
standard library's), so that a local stand-in keeps its data across restarts.

The store tells this module of every change before it returns (it observes the accounts and
the PATs), and every write is committed (WAL, synchronous FULL) then, so before the handler
answers: a PAT whose 201 was sent survives a `kill -9`. seenAt, sessions and rate-limit windows
stay in memory, as they do in Unleash's own process.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.units.accounts.models import User
from mock_server.units.pats.models import Pat

if TYPE_CHECKING:
    from mock_server.state import MockState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL, password TEXT, name TEXT, email TEXT,
    admin INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pats (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, description TEXT NOT NULL,
    expires_at TEXT NOT NULL, created_at TEXT NOT NULL, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_tokens (secret TEXT PRIMARY KEY);
"""


class StateFile:
    """The SQLite file behind `--state`, written through on every change of the store."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._batched = False

    def attach(self, state: MockState) -> None:
        """Observe `state`'s accounts and PATs from now on."""
        state.accounts.observer = self
        state.pats.observer = self

    def restore(self, state: MockState) -> bool:
        """Fill `state`'s fresh accounts and PATs from the file; False when it holds nothing."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        if row is None:
            return False
        users = [
            User(id_, username, password, name, email, bool(admin), _instant(created))
            for id_, username, password, name, email, admin, created in self._db.execute(
                "SELECT id, username, password, name, email, admin, created_at FROM users"
            )
        ]
        pats = [
            (Pat(id_, description, _instant(expires), user_id, _instant(created)), secret)
            for id_, user_id, description, expires, created, secret in self._db.execute(
                "SELECT id, user_id, description, expires_at, created_at, secret FROM pats "
                "ORDER BY id"
            )
        ]
        tokens = [token for (token,) in self._db.execute("SELECT secret FROM admin_tokens")]
        state.accounts.restore(users, tokens)
        state.pats.restore(pats, row[0])
        return True

    def wipe(self) -> None:
        with self._lock:
            self._db.executescript(
                "BEGIN; DELETE FROM pats; DELETE FROM users; DELETE FROM admin_tokens; "
                "DELETE FROM meta; COMMIT;"
            )

    @contextlib.contextmanager
    def batch(self, state: MockState) -> Iterator[None]:
        """Many writes in one transaction (seeding the fixtures), committed at the end."""
        with self._lock:
            self._db.execute("BEGIN")
            self._batched = True
        try:
            yield
            self._write(
                ("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (state.pats.next_id,))
            )
        finally:
            with self._lock:
                self._batched = False
                self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def _write(self, *statements: tuple[str, tuple]) -> None:
        with self._lock:
            if self._batched:
                for sql, params in statements:
                    self._db.execute(sql, params)
                return
            self._db.execute("BEGIN")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- the store's changes, written through ---------------------------------------------------
    def user_added(self, user: User) -> None:
        self._write(
            (
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user.id,
                    user.username,
                    user.password,
                    user.name,
                    user.email,
                    int(user.admin),
                    user.created_at.isoformat(),
                ),
            )
        )

    def admin_token_added(self, secret: str) -> None:
        self._write(("INSERT OR IGNORE INTO admin_tokens VALUES (?)", (secret,)))

    def pat_created(self, pat: Pat, secret: str, next_id: int) -> None:
        self._write(
            (
                "INSERT INTO pats VALUES (?, ?, ?, ?, ?, ?)",
                (
                    pat.id,
                    pat.user_id,
                    pat.description,
                    pat.expires_at.isoformat(),
                    pat.created_at.isoformat(),
                    secret,
                ),
            ),
            ("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (next_id,)),
        )

    def pat_deleted(self, pat_id: int) -> None:
        self._write(("DELETE FROM pats WHERE id = ?", (pat_id,)))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
