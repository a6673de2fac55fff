"""One run of the contract suite against one target: settings, safety, the registry of checks.

Safety on a real deployment rests here: every PAT the run creates carries `Suite.prefix` in its
description and is recorded in `Suite.created` the moment its 201 arrives; `cleanup` deletes
exactly those (by id, and by prefix for any whose 201 was lost), whatever ended the run.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from contract_tests.api import Api, Budget, Redactor, RunAborted
from contract_tests.report import Baseline, CheckResult, Finding, Status

PAT_LIMIT = 10
LAYERS = ("openapi", "lifecycle", "property")  # the order they run in
MIN_FREE_SLOTS = 3  # fewer leaves the lifecycle model nothing to create
# The default fixtures' credentials, used when the suite targets the mock in-process.
MOCK_TOKEN = "user:8a9cd91daa6c7d94da92681820a0934d8cf5d1684e138bff7054b09a"
MOCK_TOKEN_2 = "user:62e1172b05d246d7ba100d6f009ee9e66ecb61962b9c3c824c045b53"
MOCK_ADMIN_TOKEN = "*:*.unleash-insecure-admin-api-token"


class CannotRun(Exception):
    """Bad arguments, unreachable target, bad credentials or no room: exit code 2."""


class Violation(AssertionError):
    """A contract rule broken by the target, raised by layers 2 and 3."""

    def __init__(self, check: str, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(f"[{check}] {message}")
        self.check = check
        self.message = message
        self.response = response


class NotApplicable(Exception):
    """The target offers nothing to check here (reported as not run, with the reason)."""


def expect(condition: object, check: str, message: str, response: httpx.Response | None) -> None:
    if not condition:
        raise Violation(check, message, response)


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int  # schemathesis examples per operation and phase
    machine_examples: int  # lifecycle model runs
    machine_steps: int
    shrink: bool
    max_requests: int
    max_seconds: float


PROFILES = {
    "ci": Profile("ci", 25, 8, 20, False, 6_000, 240),
    "thorough": Profile("thorough", 1_000, 60, 40, True, 60_000, 1_800),
}


@dataclass(frozen=True)
class Settings:
    base_url: str | None = None  # None: the mock, in-process
    token: str | None = None
    token_2: str | None = None
    admin_token: str | None = None
    profile: str = "ci"
    seed: int | None = None
    rate_limit: float | None = None
    read_only: bool = False
    app: Any = None  # an ASGI app to test in-process instead of a fresh mock (broken variants)


@dataclass
class Caller:
    """A user the suite acts as, and the PATs it held before the run (never touched)."""

    label: str
    token: str
    user_id: int
    foreign_ids: frozenset[int]


@dataclass(frozen=True)
class Check:
    name: str
    layer: str
    run: Callable[[Suite], list[Finding]]
    needs: tuple[str, ...] = ()  # "write", "token_2", "admin_token"


CHECKS: list[Check] = []


def check(layer: str, *needs: str) -> Callable[[Callable[[Suite], None]], Callable[[Suite], None]]:
    """Register a check that raises Violation on the first broken rule."""

    def register(func: Callable[[Suite], None]) -> Callable[[Suite], None]:
        def run(suite: Suite) -> list[Finding]:
            func(suite)
            return []

        CHECKS.append(Check(func.__name__, layer, run, needs))
        return func

    return register


class Suite:
    def __init__(self, settings: Settings) -> None:
        if settings.profile not in PROFILES:
            raise CannotRun(f"unknown profile {settings.profile!r}")
        self.settings = settings
        self.profile = PROFILES[settings.profile]
        self.prefix = f"unleash-pat-check-{secrets.token_hex(4)}-"
        self.redact = Redactor()
        self.budget = Budget(
            self.profile.max_requests, self.profile.max_seconds, settings.rate_limit
        )
        if settings.base_url:
            self.app = None
            self.target = settings.base_url.rstrip("/")
            self.token, self.token_2 = settings.token, settings.token_2
            self.admin_token = settings.admin_token
            http: httpx.Client = httpx.Client(base_url=self.target, timeout=15)
        else:
            from starlette.testclient import TestClient

            from mock_server import create_app

            self.app = settings.app or create_app()
            self.target = "the mock (in-process)"
            self.token = settings.token or MOCK_TOKEN
            self.token_2 = settings.token_2 or MOCK_TOKEN_2
            self.admin_token = settings.admin_token or MOCK_ADMIN_TOKEN
            http = TestClient(self.app, base_url="http://testserver", raise_server_exceptions=False)
        if not self.token:
            raise CannotRun("--token is required with --base-url")
        for secret in (self.token, self.token_2, self.admin_token):
            self.redact.add(secret)
        self.api = Api(http, self.budget, self.redact)
        # How far the target's clock may be from ours when judging an expiry.
        self.clock_margin = timedelta(seconds=0.3 if self.app is not None else 1.5)
        self.callers: list[Caller] = []
        self.created: dict[int, str] = {}  # id -> owner's token, for every 201 of this run
        self.results: list[CheckResult] = []

    def description(self, text: str = "") -> str:
        return self.prefix + (text or secrets.token_hex(4))

    def track(self, token: str, response: httpx.Response) -> None:
        """Remember a PAT this run created, before anything else can go wrong."""
        # A malformed 201 is a finding elsewhere; cleanup then falls back on the prefix.
        with suppress(ValueError, KeyError, TypeError):
            if response.status_code == 201:
                self.created[int(response.json()["id"])] = token

    # -- before and after -------------------------------------------------------------------
    def preflight(self) -> None:
        tokens = [("user 1 (--token)", self.token), ("user 2 (--token-2)", self.token_2)]
        for label, token in tokens:
            if token:
                self.callers.append(self._caller(label, token))
        if len(self.callers) == 2 and self.callers[0].user_id == self.callers[1].user_id:
            raise CannotRun("--token and --token-2 belong to the same user")
        if self.admin_token:
            try:
                status = self.api.list(self.admin_token).status_code
            except RunAborted as exc:
                raise CannotRun(str(exc)) from None
            if status == 401:
                raise CannotRun("--admin-token is not accepted by the target (401)")
        if not self.settings.read_only:
            for caller in self.callers:
                free = PAT_LIMIT - len(caller.foreign_ids)
                if free < MIN_FREE_SLOTS:
                    raise CannotRun(
                        f"{caller.label} holds {len(caller.foreign_ids)} PATs; the suite needs "
                        f"{MIN_FREE_SLOTS} of the {PAT_LIMIT} slots free (delete some, or use "
                        "--read-only)"
                    )

    def _caller(self, label: str, token: str) -> Caller:
        try:
            me, listing = (
                self.api.request("GET", "/api/admin/user", token=token),
                self.api.list(token),
            )
        except RunAborted as exc:
            raise CannotRun(str(exc)) from None
        if listing.status_code in (401, 403):
            raise CannotRun(f"{label} is not accepted by the target ({listing.status_code})")
        try:
            user_id = int(me.json()["user"]["id"])
            ids = frozenset(int(p["id"]) for p in listing.json()["pats"])
        except (ValueError, KeyError, TypeError):
            raise CannotRun(f"{label}: {self.target} does not answer like Unleash") from None
        return Caller(label, token, user_id, ids)

    def cleanup(self) -> list[str]:
        """Delete every listed PAT this run created (by id, or by prefix should its 201 have
        been lost); returns what is left behind."""
        left: list[str] = []
        # A budget of its own: cleanup must work when the run's is spent.
        api = Api(self.api.http, Budget(300, 120, self.settings.rate_limit), self.redact)
        for caller in self.callers:
            try:
                for pat_id in sorted(self._ours(api.list(caller.token)) - caller.foreign_ids):
                    api.delete(caller.token, pat_id)
                left += [
                    f"{caller.label}: PAT {i}"
                    for i in sorted(self._ours(api.list(caller.token)) - caller.foreign_ids)
                ]
            except (RunAborted, ValueError, KeyError, TypeError) as exc:
                left.append(f"{caller.label}: cleanup failed: {exc}")
        return left

    def reset(self) -> None:
        """Back to the users' own PATs before a layer that counts them."""
        left = self.cleanup()
        expect(
            not left, "delete_removes", f"still listed after a DELETE answered 200: {left}", None
        )

    def _ours(self, listing: httpx.Response) -> set[int]:
        """The listed PATs this run created: by id, or by prefix should a 201 have been lost."""
        return {
            int(p["id"])
            for p in listing.json()["pats"]
            if int(p["id"]) in self.created or str(p.get("description", "")).startswith(self.prefix)
        }

    # -- running ----------------------------------------------------------------------------
    def missing(self, check: Check) -> str:
        if "write" in check.needs and self.settings.read_only:
            return "--read-only"
        if "token_2" in check.needs and len(self.callers) < 2:
            return "needs --token-2"
        if "admin_token" in check.needs and not self.admin_token:
            return "needs --admin-token"
        return ""

    def run_check(self, check: Check, baseline: Baseline | None = None) -> CheckResult:
        result = CheckResult(check.name, check.layer, reason=self.missing(check))
        if result.reason:
            result.status = Status.NOT_RUN
        else:
            started, sent = time.monotonic(), self.budget.sent
            try:
                result.findings = check.run(self)
            except Violation as exc:
                result.findings = [Finding.of(exc.check, exc.message, exc.response, self.redact)]
            except (RunAborted, NotApplicable) as exc:
                result.status, result.reason = Status.NOT_RUN, str(exc)
            except Exception as exc:  # an answer so malformed the check could not go on
                message = f"the check broke off: {type(exc).__name__}: {exc}"
                result.findings = [Finding.of(check.name, message, None, self.redact)]
            result.seconds = time.monotonic() - started
            result.requests = self.budget.sent - sent
            if result.findings:
                result.status = Status.FAILED
                if baseline:
                    baseline.classify(result)
        self.results.append(result)
        return result


@contextmanager
def cleaning_up(suite: Suite) -> Iterator[list[str]]:
    """Run the body, then delete what the run created, also after an error, Ctrl-C or SIGTERM.
    Yields the list that receives what could not be cleaned up."""
    left: list[str] = []
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    if main:
        signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM unwinds like Ctrl-C
    try:
        yield left
    finally:
        if main:
            # A second Ctrl-C or SIGTERM must not abandon the cleanup half-way.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            left += suite.cleanup()
        finally:
            if main:
                signal.signal(signal.SIGINT, old_int)
                signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class Outcome:
    suite: Suite
    left_behind: list[str] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def results(self) -> list[CheckResult]:
        return self.suite.results

    @property
    def conforms(self) -> bool:
        return not any(r.status is Status.FAILED for r in self.results)


def ordered_checks() -> list[Check]:
    # Importing the layers registers their checks.
    from contract_tests import lifecycle, openapi_layer, properties  # noqa: F401

    return sorted(CHECKS, key=lambda c: LAYERS.index(c.layer))


def run_suite(settings: Settings, baseline: Baseline | None = None) -> Outcome:
    """Preflight, every check, cleanup. Raises CannotRun before anything was written."""
    started = time.monotonic()
    suite = Suite(settings)
    checks = ordered_checks()
    outcome = Outcome(suite)
    with cleaning_up(suite) as left:
        suite.preflight()
        try:
            for each in checks:
                suite.run_check(each, baseline)
        except KeyboardInterrupt:
            outcome.interrupted = True
    outcome.left_behind = left
    outcome.seconds = time.monotonic() - started
    return outcome
