"""The mock's state and its one owner: the units' backends (accounts, sessions, PATs …), the PAT
rate limiter, fixtures, options, the release's profile and the clock, and for the control plane
the request journal, the fault rules and the seeded random generator. The app, the CLI and the
pytest plugin reach state only through a MockState; `reset()` rebuilds every backend from the
fixtures, as a fresh Unleash database."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mock_server.clock import Clock
from mock_server.control.faults import Faults
from mock_server.control.journal import DEFAULT_SIZE, Journal
from mock_server.fixtures import Fixtures
from mock_server.instants import clock_json
from mock_server.node.rate_limit import RateLimiter
from mock_server.options import Options
from mock_server.persistence import StateFile
from mock_server.units import UNITS, Unit
from mock_server.units.accounts.models import Accounts, Sessions
from mock_server.units.pats.models import PatStore
from mock_server.versions import VersionProfile, choice, resolve


class MockState:
    def __init__(
        self,
        fixtures: Fixtures,
        options: Options | None = None,
        *,
        clock: Clock | None = None,
        units: Iterable[Unit] = UNITS,
        journal_size: int = DEFAULT_SIZE,
        state_path: Path | None = None,
    ) -> None:
        """`state_path` keeps users, PATs and ids in that SQLite file: a file that holds data
        is resumed rather than seeded from the fixtures (a reset still seeds it afresh)."""
        self.fixtures = fixtures
        self.options = options or Options()
        self.profile: VersionProfile
        # Where another release answers than the one named (5.9.1 as 5.8.2): why.
        self.version_notice: str | None
        self.profile, self.version_notice = choice(self.options.unleash_version)
        if self.options.secure_account_tokens and not self.profile.secure_account_tokens:
            raise ValueError(f"{self.profile.name} has no secure account tokens")
        self.units = tuple(units)
        self.clock = clock or Clock()
        # Unleash's instanceId, fixed per database (GET /api/admin/ui-config).
        self.instance_id = str(uuid.uuid4())
        self.journal = Journal(journal_size)
        self.faults = Faults()
        self._state_file = StateFile(state_path) if state_path is not None else None
        self._build(resume=True)

    def _build(self, *, resume: bool = False) -> None:
        # With a seed, secrets and error ids repeat from every reset on (ids are a sequence).
        seed = self.options.seed
        self.rng: random.Random | None = random.Random(seed) if seed is not None else None
        self.backends: dict[str, Any] = {}
        for unit in self.units:
            if unit.build is not None:
                self.backends.update(unit.build(self))
        # Unleash's TOKEN_AUTHENTICATION_RATE_LIMIT, kept by its authentication middleware.
        self.pat_limiter = RateLimiter(self.clock, self.options.rate_limit_per_minute)
        if self._state_file is None:
            self._seed()
            return
        self._state_file.attach(self)
        if not (resume and self._state_file.restore(self)):
            self._state_file.wipe()
            with self._state_file.batch(self):
                self._seed()

    def _seed(self) -> None:
        for unit in self.units:
            if unit.seed is not None:
                unit.seed(self, self.fixtures)

    # -- the built-in units' backends -------------------------------------------------------
    @property
    def accounts(self) -> Accounts:
        return self.backends["accounts"]

    @property
    def sessions(self) -> Sessions:
        return self.backends["sessions"]

    @property
    def login_limiter(self) -> RateLimiter:
        return self.backends["login_limiter"]

    @property
    def pats(self) -> PatStore:
        return self.backends["pats"]

    # -- the control plane's operations -----------------------------------------------------
    def reset(self) -> None:
        """Back to the fixtures: every backend (PATs, the id sequence, sessions, rate-limit
        windows); the journal and the fault rules are emptied. The clock and the options stay
        as they are."""
        self._build()
        self.journal.clear()
        self.faults.clear()

    def configure(self, **changes: Any) -> None:
        """Change options at runtime (fields of Options). The release stays the one the mock
        was made for: its routes, contract and error style are built into the app."""
        options = replace(self.options, **changes)
        if resolve(options.unleash_version).version != self.profile.version:
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
        out: dict[str, Any] = {
            "unleashVersion": self.profile.version,
            "clock": clock_json(self.clock),
        }
        for unit in self.units:
            if unit.snapshot is not None:
                unit.snapshot(self, out, secrets)
        return out
