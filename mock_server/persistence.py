"""`serve --state PATH`: users, PATs, admin tokens and the id sequence kept in SQLite (the
standard library's), so that a local stand-in keeps its data across restarts.

The store tells this module of every change before it returns (it observes the accounts and
the PATs), and every write is committed (WAL, synchronous FULL) then, so before the handler
answers: a PAT whose 201 was sent survives a `kill -9`. seenAt, sessions and rate-limit windows
stay in memory, as they do in Unleash's own process.

A file that cannot be loaded (another database, a row that breaks the store's rules, a file
that is no SQLite database) is StateFileError, naming it: never a traceback, and never an
empty start that would write over it. A file is one server's: an exclusive lock on
`<file>.lock` beside it refuses a second. Before each write the file is checked to be the one
opened, whole: one unlinked, replaced, truncated or overwritten under the server fails that
write (and every later one) with StateFileError, logged, rather than taking data it cannot keep.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mock_server.units.accounts.models import RootRole, User
from mock_server.units.pats.models import Pat

if TYPE_CHECKING:
    from mock_server.state import MockState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL, password TEXT, name TEXT, email TEXT,
    admin INTEGER NOT NULL, created_at TEXT NOT NULL);  -- admin: the root role's id (0: Viewer)
CREATE TABLE IF NOT EXISTS pats (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, description TEXT NOT NULL,
    expires_at TEXT NOT NULL, created_at TEXT NOT NULL, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_tokens (secret TEXT PRIMARY KEY);
"""
_TABLES = {"meta", "users", "pats", "admin_tokens"}
_HEADER = b"SQLite format 3\x00"
_log = logging.getLogger("mock_server.persistence")

try:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

except ImportError:  # Windows
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _read_at(fd: int, size: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, size)


class StateFileError(Exception):
    """A state file that cannot be used; the message names it and says why."""


class StateFile:
    """The SQLite file behind `--state`, written through on every change of the store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd = self._locked(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            os.close(self._lock_fd)
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
            os.close(self._lock_fd)
            raise StateFileError(f"{path}: cannot use it: {exc}") from None
        except StateFileError:
            self._db.close()
            os.close(self._lock_fd)
            raise
        # The file as opened: held open to read its header, and known by its identity.
        self._file = os.open(path, os.O_RDONLY)
        opened = os.fstat(self._file)
        self._identity = (opened.st_dev, opened.st_ino)
        self._size = opened.st_size  # SQLite never shrinks it (no auto-vacuum)
        self._lost: str | None = None
        self._lock = threading.Lock()
        self._batched = False

    @staticmethod
    def _locked(path: Path) -> int:
        """An exclusive lock on `<path>.lock`, held until close (or the process ends)."""
        lock_path = path.with_name(path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateFileError(f"{path}: cannot create its lock {lock_path}: {exc}") from None
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise StateFileError(
                f"{path}: in use by another unleash-pat (it holds {lock_path}); give each mock "
                "a state file of its own"
            ) from None
        return fd

    def _check_intact(self) -> None:
        """StateFileError, logged, when the file is no longer the one opened, whole."""
        if self._lost is None:
            try:
                now = os.stat(self.path)
                if (now.st_dev, now.st_ino) != self._identity:
                    self._lost = "was replaced by another file"
                elif now.st_size < self._size:
                    self._lost = "was truncated"
                elif _read_at(self._file, len(_HEADER)) != _HEADER:
                    self._lost = "was overwritten (it is no SQLite database any more)"
            except FileNotFoundError:
                self._lost = "was deleted"
        if self._lost is not None:
            _log.error(
                "the state file %s %s while the mock ran: this change is not kept, nor any "
                "other until the mock restarts with a state file",
                self.path,
                self._lost,
            )
            raise StateFileError(f"{self.path} {self._lost}")

    def _committed(self) -> None:
        self._size = max(self._size, os.fstat(self._file).st_size)

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
            User(_id(id_), username, password, name, email, _role(admin), _instant(created))
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
            self._check_intact()
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
                self._committed()
        finally:
            with self._lock:
                self._batched = False
                if not committed:
                    self._db.execute("ROLLBACK")

    def close(self) -> None:
        """Close the database, then the descriptors (closing one of the file's own first would
        drop SQLite's locks on it), the lock last. Closing twice does nothing more."""
        if self._lock_fd < 0:
            return
        self._db.close()
        os.close(self._file)
        os.close(self._lock_fd)
        self._lock_fd = -1

    def _write(self, *statements: tuple[str, tuple]) -> None:
        with self._lock:
            if self._batched:
                for sql, params in statements:
                    self._db.execute(sql, params)
                return
            self._check_intact()
            self._db.execute("BEGIN")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._committed()

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
                    int(user.root_role),
                    user.created_at.isoformat(),
                ),
            )
        )

    def user_changed(self, user: User) -> None:
        self._write(
            (
                "UPDATE users SET password = ?, name = ?, email = ?, admin = ? WHERE id = ?",
                (user.password, user.name, user.email, int(user.root_role), user.id),
            )
        )

    def user_removed(self, user_id: int) -> None:
        # Its PATs go too: a file never holds PATs of a user it does not hold.
        self._write(
            ("DELETE FROM pats WHERE user_id = ?", (user_id,)),
            ("DELETE FROM users WHERE id = ?", (user_id,)),
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


def _role(value: object) -> RootRole:
    """The `admin` column: a root role's id; 0 (written before roles were kept) is a Viewer."""
    if value == 0:
        return RootRole.VIEWER
    if type(value) is not int or value not in {role.value for role in RootRole}:
        raise ValueError(f"{value!r} is not a root role's id")
    return RootRole(value)


def _id(value: object) -> int:
    if type(value) is not int or not 1 <= value <= 2_147_483_647:
        raise ValueError(f"{value!r} is not an id (an integer from 1 to 2147483647)")
    return value
