"""`serve --state PATH`: users, PATs, admin tokens and the id sequence kept in SQLite (the
standard library's), so that a local stand-in keeps its data across restarts.

The store tells this module of every change before it returns (it observes the accounts and
the PATs), and every write is committed (WAL, synchronous FULL) then, so before the handler
answers: a PAT whose 201 was sent survives a `kill -9`. seenAt, sessions and rate-limit windows
stay in memory, as they do in Unleash's own process.

A file that cannot be loaded (another database, a row that breaks the store's rules, a file
that is no SQLite database) is StateFileError, naming it: never a traceback, and never an
empty start that would write over it.
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
_TABLES = {"meta", "users", "pats", "admin_tokens"}


class StateFileError(Exception):
    """A state file that cannot be used; the message names it and says why."""


class StateFile:
    """The SQLite file behind `--state`, written through on every change of the store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StateFileError(f"{path}: cannot open it: {exc}") from None
        try:
            tables = {
                name
                for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables and tables != _TABLES:
                # Another program's database, or one of ours someone changed: never written.
                raise StateFileError(
                    f"{path}: not an unleash-pat state file (its tables: "
                    f"{', '.join(sorted(tables))}); give --state a file of its own"
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if not tables:
                self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._db.close()
            raise StateFileError(f"{path}: cannot use it: {exc}") from None
        except StateFileError:
            self._db.close()
            raise
        self._lock = threading.Lock()
        self._batched = False

    def attach(self, state: MockState) -> None:
        """Observe `state`'s accounts and PATs from now on."""
        state.accounts.observer = self
        state.pats.observer = self

    def restore(self, state: MockState) -> bool:
        """Fill `state`'s fresh accounts and PATs from the file; False when it holds nothing
        (a new file). StateFileError when what it holds cannot be loaded whole."""
        try:
            loaded = self._read()
        except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:
            raise StateFileError(f"{self.path}: cannot load it: {exc}") from None
        if loaded is None:
            return False
        users, pats, tokens, next_id = loaded
        state.accounts.restore(users, tokens)
        state.pats.restore(pats, next_id)
        return True

    def _read(self) -> tuple[list[User], list[tuple[Pat, str]], list[str], int] | None:
        """The file's users, PATs, admin tokens and next id, checked as the store would hold
        them; None for a file that holds nothing yet."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        users = [
            User(_id(id_), username, password, name, email, bool(admin), _instant(created))
            for id_, username, password, name, email, admin, created in self._db.execute(
                "SELECT id, username, password, name, email, admin, created_at FROM users"
            )
        ]
        pats = [
            (Pat(_id(id_), description, _instant(expires), _id(user_id), _instant(created)), secret)
            for id_, user_id, description, expires, created, secret in self._db.execute(
                "SELECT id, user_id, description, expires_at, created_at, secret FROM pats "
                "ORDER BY id"
            )
        ]
        tokens = [token for (token,) in self._db.execute("SELECT secret FROM admin_tokens")]
        if row is None:
            if users or pats or tokens:  # written by no unleash-pat: never seeded over
                raise ValueError("it holds users, PATs or tokens but no id sequence")
            return None
        next_id = _id(row[0])
        orphans = sorted({pat.user_id for pat, _ in pats} - {user.id for user in users})
        if orphans:
            raise ValueError(f"PATs of users it does not hold: {orphans[:10]}")
        if pats and pats[-1][0].id >= next_id:
            raise ValueError(f"a PAT id at or beyond the next id {next_id}")
        return users, pats, tokens, next_id

    @contextlib.contextmanager
    def batch(self, state: MockState, *, wipe: bool = False) -> Iterator[None]:
        """Many writes in one transaction (seeding fixtures), committed at the end, or rolled
        back, whole, when anything inside fails; `wipe` empties the file first, in it too."""
        with self._lock:
            self._db.execute("BEGIN")
            self._batched = True
        committed = False
        try:
            if wipe:
                self._write(
                    *((f"DELETE FROM {table}", ()) for table in ("pats", "users", "admin_tokens"))
                )
            yield
            self._write(
                ("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (state.pats.next_id,))
            )
            with self._lock:
                self._db.execute("COMMIT")
                committed = True
        finally:
            with self._lock:
                self._batched = False
                if not committed:
                    self._db.execute("ROLLBACK")

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
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} is no instant (no time zone)")
    return instant


def _id(value: object) -> int:
    if type(value) is not int or not 1 <= value <= 2_147_483_647:
        raise ValueError(f"{value!r} is not an id (an integer from 1 to 2147483647)")
    return value
