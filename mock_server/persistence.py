"""`serve --state PATH`: users, PATs, admin tokens and the id sequence kept in SQLite (the
standard library's), so that a local stand-in keeps its data across restarts.

Every write is committed (WAL, synchronous FULL) before the store returns, so before the
handler answers: a PAT whose 201 was sent survives a `kill -9`. seenAt, sessions and rate-limit
windows stay in memory, as they do in Unleash's own process.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from mock_server.store import Pat, PatStore, User

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


class SqlitePatStore(PatStore):
    """The in-memory store, written through to SQLite on every change."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db_lock = threading.Lock()
        self._batched = False

    # -- reading and wiping the file ----------------------------------------------------------
    def load(self) -> bool:
        """Fill the store from the file; False when the file holds nothing yet."""
        rows = self._db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        if rows is None:
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
        self.restore(users, pats, tokens, rows[0])
        return True

    def wipe(self) -> None:
        with self._db_lock:
            self._db.executescript(
                "BEGIN; DELETE FROM pats; DELETE FROM users; DELETE FROM admin_tokens; "
                "DELETE FROM meta; COMMIT;"
            )

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes in one transaction (seeding the fixtures), committed at the end."""
        with self._db_lock:
            self._db.execute("BEGIN")
            self._batched = True
        try:
            yield
            self._write(("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (self.next_id,)))
        finally:
            with self._db_lock:
                self._batched = False
                self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def _write(self, *statements: tuple[str, tuple]) -> None:
        with self._db_lock:
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

    # -- PatStore's writes, written through -----------------------------------------------------
    def add_user(self, user: User) -> None:
        super().add_user(user)
        stored = self.user(user.id)
        assert stored is not None
        self._write(
            (
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.username,
                    stored.password,
                    stored.name,
                    stored.email,
                    int(stored.admin),
                    stored.created_at.isoformat(),
                ),
            )
        )

    def add_admin_token(self, secret: str) -> None:
        super().add_admin_token(secret)
        self._write(("INSERT OR IGNORE INTO admin_tokens VALUES (?)", (secret,)))

    def create(
        self,
        user_id: int,
        description: str,
        expires_at: datetime,
        *,
        secret: str | None = None,
        check_expiry: bool = True,
    ) -> tuple[Pat, str]:
        pat, secret = super().create(
            user_id, description, expires_at, secret=secret, check_expiry=check_expiry
        )
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
            ("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (self.next_id,)),
        )
        return pat, secret

    def delete(self, user_id: int, pat_id: int) -> bool:
        deleted = super().delete(user_id, pat_id)
        if deleted:
            self._write(("DELETE FROM pats WHERE id = ?", (pat_id,)))
        return deleted


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
