"""The mock's state and its one owner: store, sessions, rate limiters, fixtures, options, the
version profile and the clock, and for the control plane the request journal, the fault rules
and the seeded random generator. The app, the CLI and the pytest plugin reach state only through
a MockState; `reset()` rebuilds everything from the fixtures, as a fresh Unleash database."""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from mock_server.auth import RateLimiter, Sessions
from mock_server.clock import Clock
from mock_server.control.faults import Faults
from mock_server.control.journal import DEFAULT_SIZE, Journal
from mock_server.fixtures import Fixtures
from mock_server.options import Options
from mock_server.store import PatStore
from mock_server.versions import VersionProfile, resolve


class MockState:
    def __init__(
        self,
        fixtures: Fixtures,
        options: Options | None = None,
        *,
        clock: Clock | None = None,
        store_class: type[PatStore] = PatStore,
        journal_size: int = DEFAULT_SIZE,
        state_path: Path | None = None,
    ) -> None:
        """`state_path` keeps users, PATs and ids in that SQLite file: a file that holds data
        is resumed rather than seeded from the fixtures (a reset still seeds it afresh)."""
        self.fixtures = fixtures
        self.options = options or Options()
        self.profile: VersionProfile = resolve(self.options.unleash_version)
        if self.options.secure_account_tokens and not self.profile.secure_account_tokens:
            raise ValueError(f"{self.profile.name} has no secure account tokens")
        self.clock = clock or Clock()
        # Unleash's instanceId, fixed per database (GET /api/admin/ui-config).
        self.instance_id = str(uuid.uuid4())
        self.journal = Journal(journal_size)
        self.faults = Faults()
        self._store_class = store_class
        self._state_path = state_path
        self._build(resume=True)

    def _build(self, *, resume: bool = False) -> None:
        # With a seed, secrets and error ids repeat from every reset on (ids are a sequence).
        seed = self.options.seed
        self.rng: random.Random | None = random.Random(seed) if seed is not None else None
        settings: dict[str, Any] = {
            "clock": self.clock,
            "pat_limit": self.profile.pat_limit,
            "new_secret": functools.partial(
                self.profile.new_secret, secure=self.options.secure_account_tokens, rng=self.rng
            ),
            "seen_at_flush_seconds": self.options.seen_at_flush_seconds,
        }
        if self._state_path is None:
            self.store = self._store_class(**settings)
            self.fixtures.seed(self.store, self.profile)
        else:
            from mock_server.persistence import SqlitePatStore

            previous = getattr(self, "store", None)
            if isinstance(previous, SqlitePatStore):
                previous.close()
            self.store = store = SqlitePatStore(self._state_path, **settings)
            if not (resume and store.load()):
                store.wipe()
                with store.batch():
                    self.fixtures.seed(store, self.profile)
        self.sessions = Sessions(self.clock, self.profile, self.rng)
        self.pat_limiter = RateLimiter(self.clock, self.options.rate_limit_per_minute)
        self.login_limiter = RateLimiter(self.clock, self.options.login_rate_limit_per_minute)

    def reset(self) -> None:
        """Back to the fixtures: PATs, the id sequence, sessions and rate-limit windows; the
        journal and the fault rules are emptied. The clock and the options stay as they are."""
        self._build()
        self.journal.clear()
        self.faults.clear()

    def configure(self, **changes: Any) -> None:
        """Change options at runtime (fields of Options). The version stays the one the mock
        was made for: its routes, contract and error style are built into the app."""
        options = replace(self.options, **changes)
        if resolve(options.unleash_version) is not self.profile:
            raise ValueError(
                f"this mock answers as {self.profile.name}; start another mock for another "
                "version (serve --unleash-version)"
            )
        rebuild = options.seed != self.options.seed
        self.options = options
        if rebuild:
            self._build()
        else:
            self.pat_limiter.limit = options.rate_limit_per_minute
            self.login_limiter.limit = options.login_rate_limit_per_minute

    def new_error_id(self) -> str:
        """A seeded mock's next error id: a UUID v4 drawn from the seed (unseeded, errors.py
        draws them from the OS)."""
        assert self.rng is not None
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def snapshot(self, *, secrets: bool = False) -> dict[str, Any]:
        """The state as JSON-able data: for a test to inspect, or a control API to serve.
        `secrets` adds each PAT's secret and the admin API tokens."""
        users = []
        for user in self.store.users():
            users.append(
                {
                    "id": user.id,
                    "username": user.username,
                    "admin": user.admin,
                    "pats": [
                        {
                            "id": pat.id,
                            "description": pat.description,
                            "expiresAt": pat.expires_at.isoformat(),
                            "createdAt": pat.created_at.isoformat(),
                            "seenAt": pat.seen_at.isoformat() if pat.seen_at else None,
                        }
                        | ({"secret": self.store.secret(pat.id)} if secrets else {})
                        for pat in self.store.list(user.id)
                    ],
                }
            )
        return {
            "unleashVersion": self.profile.version,
            "clock": self.clock.snapshot(),
            "users": users,
            "adminTokens": (
                self.store.admin_tokens() if secrets else len(self.store.admin_tokens())
            ),
            "sessions": len(self.sessions),
        }
