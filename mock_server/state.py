"""The mock's state and its one owner: the units' backends (accounts, sessions, PATs …), the PAT
rate limiter, fixtures, options, the release's profile and the clock, and for the control plane
the request journal, the fault rules and the seeded random generator. The app, the CLI and the
pytest plugin reach state only through a MockState; `reset()` returns all of it to how the mock
started, and fences off the requests then in flight."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from mock_server.clock import Clock
from mock_server.control.faults import Faults
from mock_server.control.journal import DEFAULT_SIZE, Journal
from mock_server.fixtures import FixtureConflict, Fixtures
from mock_server.instants import clock_json
from mock_server.node.rate_limit import RateLimiter
from mock_server.options import Options
from mock_server.persistence import StateFile
from mock_server.units import UNITS, Unit
from mock_server.units.accounts import MAX_ADMIN_TOKENS
from mock_server.units.accounts.models import Accounts, Sessions
from mock_server.units.pats.models import PatStore
from mock_server.units.user_admin.models import Invites
from mock_server.versions import VersionProfile, choice, resolve

# Where a request keeps the generation of the state it arrived in (an ASGI scope key).
GENERATION_KEY = "unleash_pat.generation"
# Users a state holds at most through fixtures added at runtime (a fixtures upload is 16 MB at
# most; repeated ones must not grow the mock without end).
MAX_USERS = 1_000_000


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
        """`state_path` keeps users, PATs and ids in that SQLite file (StateFileError when it
        cannot): a file that holds data is resumed rather than seeded from the fixtures (a reset
        still seeds it afresh). Raises FixtureError for fixtures the release refuses."""
        options = options or Options()
        self.profile: VersionProfile
        # Where another release answers than the one named (5.9.1 as 5.8.2): why.
        self.version_notice: str | None
        self.profile, self.version_notice = choice(options.unleash_version)
        if options.secure_account_tokens and not self.profile.secure_account_tokens:
            raise ValueError(f"{self.profile.name} has no secure account tokens")
        self.units = tuple(units)
        self.clock = clock or Clock()
        self.generation = 0  # counts rebuilds: a request of an older one is fenced off
        # What reset() returns to.
        self._started = (fixtures, options, self.clock.setting())
        # Unleash's instanceId, fixed per database (GET /api/admin/ui-config).
        self.instance_id = str(uuid.uuid4())
        self.journal = Journal(journal_size)
        self.faults = Faults()
        self._state_file = StateFile(state_path) if state_path is not None else None
        try:
            self._build(fixtures, options, resume=True)
        except BaseException:
            self.close()
            raise

    def _build(self, fixtures: Fixtures, options: Options, *, resume: bool = False) -> None:
        """Fresh backends for `options`, seeded from `fixtures` (or, resuming, filled from the
        state file); on any failure the state is left as it was."""
        before = {
            name: self.__dict__[name]
            for name in ("fixtures", "options", "rng", "backends", "pat_limiter")
            if name in self.__dict__
        }
        self.generation += 1
        self.fixtures, self.options = fixtures, options
        # With a seed, secrets and error ids repeat from every reset on (ids are a sequence).
        self.rng: random.Random | None = (
            random.Random(options.seed) if options.seed is not None else None
        )
        try:
            backends: dict[str, Any] = {}
            for unit in self.units:
                if unit.build is not None:
                    backends.update(unit.build(self))
            # Whole at once: a snapshot written on a thread meanwhile sees the old or the new.
            self.backends = backends
            # Unleash's TOKEN_AUTHENTICATION_RATE_LIMIT, kept by its authentication middleware.
            self.pat_limiter = RateLimiter(self.clock, options.rate_limit_per_minute)
            if self._state_file is not None:
                self._state_file.attach(self)
                if resume and self._state_file.restore(self):
                    return
            self._check(fixtures)
            with self._written(wipe=True):
                self._seed(fixtures)
        except BaseException:
            self.__dict__.update(before)
            if before and self._state_file is not None:
                self._state_file.attach(self)
            raise

    def _check(self, fixtures: Fixtures) -> None:
        for unit in self.units:
            if unit.check is not None:
                unit.check(self, fixtures)

    def _seed(self, fixtures: Fixtures) -> None:
        for unit in self.units:
            if unit.seed is not None:
                unit.seed(self, fixtures)

    @contextlib.contextmanager
    def _written(self, *, wipe: bool = False) -> Iterator[None]:
        """The changes made inside, in one transaction of the state file (if any), which a
        failure rolls back; `wipe` empties the file first."""
        if self._state_file is None:
            yield
            return
        with self._state_file.batch(self, wipe=wipe):
            yield

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

    @property
    def user_admin_limiter(self) -> RateLimiter:
        return self.backends["user_admin_limiter"]

    @property
    def user_admin_invites(self) -> Invites:
        return self.backends["user_admin_invites"]

    # -- the control plane's operations -----------------------------------------------------
    def reset(self) -> None:
        """Back to how the mock started: the fixtures, options and clock it was made with, and
        every backend rebuilt from them (users, PATs and the id sequence, admin tokens, sessions,
        rate-limit windows, the seeded generator); a new journal (its sequence from 1) and no
        fault rules. A request in flight from before changes nothing after (`current`)."""
        fixtures, options, clock = self._started
        now = self.clock.setting()
        self.clock.restore(clock)  # first: the seeded users and PATs are created at its time
        try:
            self._build(fixtures, options)
        except BaseException:
            self.clock.restore(now)
            raise
        self.journal = Journal(self.journal.size)
        self.faults = Faults()

    def replace_fixtures(self, fixtures: Fixtures) -> None:
        """A fresh database seeded with `fixtures` (users, PATs, admin tokens, sessions and
        rate-limit windows) until the next reset, which returns to the mock's own. The clock,
        options, journal and fault rules stay. All or nothing, as `_build`."""
        self._build(fixtures, self.options)

    def add_fixtures(self, fixtures: Fixtures) -> None:
        """Add the users, PATs and admin tokens of `fixtures` to the current state, all or
        nothing: FixtureError (FixtureConflict for a clash) before any change, and a change that
        fails anyway (a state file's write) takes out the ones made before it."""
        users = len(self.accounts.users()) + len(fixtures.users)
        if users > MAX_USERS:
            raise FixtureConflict(
                f"the mock would hold {users} users; it holds {MAX_USERS} at most"
            )
        new_tokens = {t for t in fixtures.admin_tokens if not self.accounts.is_admin_token(t)}
        tokens = len(self.accounts.admin_tokens()) + len(new_tokens)
        if tokens > MAX_ADMIN_TOKENS:
            raise FixtureConflict(
                f"the mock would hold {tokens} admin API tokens; it holds {MAX_ADMIN_TOKENS} "
                "at most"
            )
        self._check(fixtures)
        try:
            with self._written():
                self._seed(fixtures)
        except BaseException:
            user_ids = {user.id for user, _ in fixtures.users}
            self.pats.discard_users(user_ids)
            self.accounts.discard(user_ids, new_tokens)
            raise

    def close(self) -> None:
        """Let go of the state file (and its lock): a mock made with `state_path` is closed
        once done with, so that another can open the file."""
        if self._state_file is not None:
            self._state_file.close()

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
        if options.seed != self.options.seed:
            self._build(self.fixtures, options)
        else:
            self.options = options
            self.pat_limiter.limit = options.rate_limit_per_minute
            self.login_limiter.limit = options.login_rate_limit_per_minute
            self.user_admin_limiter.limit = options.create_user_rate_limit_per_minute
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
