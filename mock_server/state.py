"""The mock's state and its one owner: the units' backends (accounts, sessions, PATs …), the PAT
rate limiter, fixtures, options, the release's profile and the clock, and for the control plane
the request journal, the fault rules and the seeded random generator. The app, the CLI and the
pytest plugin reach state only through a MockState; `reset()` returns all of it to how the mock
started, and fences off the requests then in flight."""

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
from mock_server.versions import VersionProfile, resolve

# Where a request keeps the generation of the state it arrived in (an ASGI scope key).
GENERATION_KEY = "unleash_pat.generation"


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
        self.generation = 0  # counts rebuilds: a request of an older one is fenced off
        self.profile: VersionProfile = resolve(self.options.unleash_version)
        if self.options.secure_account_tokens and not self.profile.secure_account_tokens:
            raise ValueError(f"{self.profile.name} has no secure account tokens")
        self.units = tuple(units)
        self.clock = clock or Clock()
        # What reset() returns to.
        self._started = (fixtures, self.options, self.clock.setting())
        # Unleash's instanceId, fixed per database (GET /api/admin/ui-config).
        self.instance_id = str(uuid.uuid4())
        self.journal = Journal(journal_size)
        self.faults = Faults()
        self._state_file = StateFile(state_path) if state_path is not None else None
        self._build(resume=True)

    def _build(self, *, resume: bool = False) -> None:
        self.generation += 1
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
        """Back to how the mock started: the fixtures, options and clock it was made with, and
        every backend rebuilt from them (users, PATs and the id sequence, admin tokens, sessions,
        rate-limit windows, the seeded generator); a new journal (its sequence from 1) and no
        fault rules. A request in flight from before changes nothing after (`current`)."""
        self.fixtures, self.options, clock = self._started
        self.clock.restore(clock)
        self._build()
        self.journal = Journal(self.journal.size)
        self.faults = Faults()

    def replace_fixtures(self, fixtures: Fixtures) -> None:
        """A fresh database seeded with `fixtures` (users, PATs, admin tokens, sessions and
        rate-limit windows) until the next reset, which returns to the mock's own. The clock,
        options, journal and fault rules stay."""
        self.fixtures = fixtures
        self._build()

    def stamp(self, scope: dict[str, Any]) -> None:
        """Mark a request with the state it arrived in."""
        scope[GENERATION_KEY] = self.generation

    def current(self, scope: dict[str, Any]) -> bool:
        """False for a request that arrived before the latest rebuild (a reset): nothing it does
        may reach the new state."""
        return scope.get(GENERATION_KEY, self.generation) == self.generation

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
            self.pats.flush_every = options.seen_at_flush_seconds

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
