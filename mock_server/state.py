"""The mock's state and its one owner: store, sessions, rate limiters, fixtures, options, the
version profile and the clock. The app, the CLI and the pytest plugin reach state only through
a MockState; `reset()` rebuilds everything from the fixtures, as a fresh Unleash database."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from mock_server.auth import RateLimiter, Sessions
from mock_server.clock import Clock
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
    ) -> None:
        self.fixtures = fixtures
        self.options = options or Options()
        self.profile: VersionProfile = resolve(self.options.unleash_version)
        if self.options.secure_account_tokens and not self.profile.secure_account_tokens:
            raise ValueError(f"{self.profile.name} has no secure account tokens")
        self.clock = clock or Clock()
        # Unleash's instanceId, fixed per database (GET /api/admin/ui-config).
        self.instance_id = str(uuid.uuid4())
        self._store_class = store_class
        self._build()

    def _build(self) -> None:
        self.store = self._store_class(
            clock=self.clock,
            pat_limit=self.profile.pat_limit,
            new_secret=functools.partial(
                self.profile.new_secret, secure=self.options.secure_account_tokens
            ),
            seen_at_flush_seconds=self.options.seen_at_flush_seconds,
        )
        self.fixtures.seed(self.store, self.profile)
        self.sessions = Sessions(self.clock, self.profile)
        self.pat_limiter = RateLimiter(self.clock, self.options.rate_limit_per_minute)
        self.login_limiter = RateLimiter(self.clock, self.options.login_rate_limit_per_minute)

    def reset(self) -> None:
        """Back to the fixtures: PATs, the id sequence, sessions and rate-limit windows. The
        clock and the options stay as they are."""
        self._build()

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-able data: for a test to inspect, or a control API to serve."""
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
                        for pat in self.store.list(user.id)
                    ],
                }
            )
        return {
            "unleashVersion": self.profile.version,
            "clock": self.clock.snapshot(),
            "users": users,
            "adminTokens": len(self.store.admin_tokens()),
            "sessions": len(self.sessions),
        }
