"""One run of the contract suite against one target: build the check context, preflight, run
the chosen checks, clean up whatever ended the run."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from contract_tests.api import Api, Budget, Redactor, RunAborted
from contract_tests.context import (
    CREDENTIAL_VARIABLES,
    PROFILES,
    Caller,
    Context,
    NotApplicable,
    Profile,
    Settings,
    Violation,
)
from contract_tests.expectations import UnknownRelease, choice, resolve
from contract_tests.registry import Check, Need, discover
from contract_tests.report import Baseline, BaselineError, CheckResult, Finding, Status
from contract_tests.units import UNITS

MIN_FREE_SLOTS = 3  # fewer leaves the lifecycle model nothing to create


class CannotRun(Exception):
    """Bad arguments, unreachable target, bad credentials or no room: exit code 2."""


def chosen(settings: Settings) -> list[Check]:
    """The checks a run makes: every one `discover` finds, or those Settings name, less those
    it excludes. Raises CannotRun naming an unknown check and the known ones."""
    found = discover()
    names = {c.name for c in found}
    for option in ("checks", "exclude_checks"):
        unknown = sorted(set(getattr(settings, option)) - names)
        if unknown:
            raise CannotRun(
                f"{settings.option(option)}: no check named {', '.join(unknown)} (known: "
                f"{', '.join(sorted(names))})"
            )
    wanted = set(settings.checks) or names
    return [c for c in found if c.name in wanted and c.name not in settings.exclude_checks]


def _baseline(settings: Settings, name: str) -> Baseline:
    try:
        return Baseline.named(name)
    except BaselineError as exc:
        raise CannotRun(f"{settings.option('baseline')}: {exc}") from None


def open_context(settings: Settings) -> Context:
    """The context of a run on `settings`' target; raises CannotRun on bad settings."""
    if settings.profile not in PROFILES:
        raise CannotRun(f"unknown profile {settings.profile!r}")
    if settings.unleash_version != "auto":
        try:
            resolve(settings.unleash_version)
        except UnknownRelease as exc:
            raise CannotRun(str(exc)) from None
    profile = PROFILES[settings.profile]
    budget = Budget(profile.max_requests, profile.max_seconds, settings.rate_limit)
    given = (settings.token, settings.token_2, settings.admin_token)
    login = (settings.username, settings.password) if settings.username else None
    name = settings.option
    if bool(settings.username) != bool(settings.password):
        raise CannotRun(f"{name('username')} and {name('password')} go together")
    if settings.base_url:
        if not settings.token:
            raise CannotRun(f"{name('token')} is required with {name('base_url')}")
        app, target = None, settings.base_url.rstrip("/")
        http: httpx.Client = httpx.Client(base_url=target, timeout=15)
        tokens = given
    else:
        from starlette.testclient import TestClient

        from contract_tests.target import credentials, password_login, start_mock

        app, target = settings.app or start_mock(), "the mock (in-process)"
        try:
            if not all(given):
                tokens = tuple(g or d for g, d in zip(given, credentials(app), strict=True))
            else:
                tokens = given
            if login is None and settings.token is None:  # the fixtures' first user acts
                login = password_login(app)
        except LookupError as exc:
            raise CannotRun(str(exc)) from None
        # As httpx against a deployment: a redirect (a logout's 302) is an answer to judge.
        http = TestClient(
            app,
            base_url="http://testserver",
            raise_server_exceptions=False,
            follow_redirects=False,
        )
    redact = Redactor()
    # A reproducing command names each credential by the variable it also comes from.
    for secret, option in zip(tokens, ("token", "token_2", "admin_token"), strict=True):
        redact.add(secret, CREDENTIAL_VARIABLES[option])
    redact.hide(login[1] if login else None, CREDENTIAL_VARIABLES["password"])
    token, token_2, admin_token = tokens
    assert token is not None  # required above, or the mock's
    api = Api(http, budget, redact, read_only=settings.read_only)
    try:
        return _context(settings, profile, api, target, app, (token, token_2, admin_token), login)
    except CannotRun:
        http.close()
        raise


def _context(
    settings: Settings,
    profile: Profile,
    api: Api,
    target: str,
    app: Any,
    tokens: tuple[str, str | None, str | None],
    login: tuple[str, str] | None,
) -> Context:
    """The context once the target can be asked: which release's rules apply."""
    name = settings.option
    reported = _reported_version(settings, target, api, tokens[0])
    asked = reported if settings.unleash_version == "auto" else settings.unleash_version
    if asked is None:
        raise CannotRun(
            f"{name('unleash_version')} auto: {target}/api/admin/ui-config names no version; "
            f"give the version with {name('unleash_version')}"
        )
    try:
        expectations, notice = choice(asked)
    except UnknownRelease as exc:
        raise CannotRun(f"the target is Unleash {asked}: {exc}") from None
    units = (*UNITS, *settings.units)
    ctx = Context(settings, profile, expectations, api, target, app, tokens, login, units)
    ctx.target_version = asked
    ctx.reported_version = reported
    ctx.version_notice = notice
    return ctx


def _reported_version(settings: Settings, target: str, api: Api, token: str) -> str | None:
    """The version the target names in `/api/admin/ui-config`, as Unleash's own UI reads it
    (None: it names none). Also the first request of a run: an unreachable target, a refused
    token or a server that is no Unleash stop the run here, each with its own message."""
    name = settings.option
    try:
        response = api.request("GET", "/api/admin/ui-config", token=token)
    except RunAborted as exc:
        raise CannotRun(f"{target}: {exc}") from None
    if response.status_code in (401, 403):
        raise CannotRun(f"{name('token')} is not accepted by {target} ({response.status_code})")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 404 and isinstance(body, dict) and body.get("name"):
        # An Unleash error for an unknown path: the base URL has a path of its own.
        raise CannotRun(
            f"{target}/api/admin/ui-config is not found: {name('base_url')} must be the URL "
            "Unleash is served at (without /api)"
        )
    if not isinstance(body, dict):
        raise CannotRun(
            f"{target} does not answer like Unleash: /api/admin/ui-config answered "
            f"{response.status_code} with no JSON"
        )
    version = body.get("version")
    return str(version) if version else None


# Why a check with each need cannot run, when the run lacks it.
_MISSING = {
    Need.WRITE: lambda ctx: ctx.settings.option("read_only") if ctx.settings.read_only else "",
    Need.TOKEN_2: lambda ctx: (
        f"needs {ctx.settings.option('token_2')}" if len(ctx.callers) < 2 else ""
    ),
    Need.ADMIN_TOKEN: lambda ctx: (
        "" if ctx.admin_token else f"needs {ctx.settings.option('admin_token')}"
    ),
    Need.PASSWORD: lambda ctx: (
        ""
        if ctx.password_login
        else f"needs {ctx.settings.option('username')} and {ctx.settings.option('password')}"
    ),
}


class Suite:
    """A run: the checks' context, preflight, and each check's result."""

    def __init__(self, settings: Settings) -> None:
        self.ctx = open_context(settings)
        self.settings = settings
        ctx = self.ctx
        version = ctx.expect.version
        checked_as = "" if ctx.target_version == version else f", checked as {version}"
        self.target = f"{ctx.target} (Unleash {ctx.target_version}{checked_as})"  # as reported
        # A version given by hand that is not the one the target names: say so up front.
        self.notices: list[str] = [ctx.version_notice] if ctx.version_notice else []
        reported = ctx.reported_version
        if settings.unleash_version != "auto" and reported and reported != version:
            self.notices.append(
                f"{settings.option('unleash_version')} {settings.unleash_version} checks the "
                f"rules of Unleash {version}, but the target reports Unleash {reported}"
            )
        self.budget = self.ctx.budget
        self.results: list[CheckResult] = []

    # -- before and after -------------------------------------------------------------------
    def preflight(self) -> None:
        ctx = self.ctx
        name = self.settings.option
        tokens = [
            (f"user 1 ({name('token')})", ctx.token),
            (f"user 2 ({name('token_2')})", ctx.token_2),
        ]
        for label, token in tokens:
            if token:
                ctx.callers.append(self._caller(label, token))
        if len(ctx.callers) == 2 and ctx.callers[0].user_id == ctx.callers[1].user_id:
            raise CannotRun(f"{name('token')} and {name('token_2')} belong to the same user")
        if ctx.admin_token:
            try:
                status = ctx.api.list(ctx.admin_token).status_code
            except RunAborted as exc:
                raise CannotRun(f"{ctx.target}: {exc}") from None
            if status == 401:
                raise CannotRun(f"{name('admin_token')} is not accepted by {ctx.target} (401)")
        if not self.settings.read_only:
            limit = ctx.expect.pat_limit
            for caller in ctx.callers:
                if limit - len(caller.foreign_ids) < MIN_FREE_SLOTS:
                    raise CannotRun(
                        f"{caller.label} holds {len(caller.foreign_ids)} PATs; the suite needs "
                        f"{MIN_FREE_SLOTS} of the {limit} slots free (delete some, or use "
                        f"{name('read_only')})"
                    )

    def _caller(self, label: str, token: str) -> Caller:
        api = self.ctx.api
        try:
            me, listing = api.request("GET", "/api/admin/user", token=token), api.list(token)
        except RunAborted as exc:
            raise CannotRun(f"{self.ctx.target}: {exc}") from None
        if listing.status_code in (401, 403):
            raise CannotRun(f"{label} is not accepted by the target ({listing.status_code})")
        try:
            user_id = int(me.json()["user"]["id"])
            ids = frozenset(int(p["id"]) for p in listing.json()["pats"])
        except (ValueError, KeyError, TypeError):
            raise CannotRun(f"{label}: {self.target} does not answer like Unleash") from None
        return Caller(label, token, user_id, ids)

    # -- running ----------------------------------------------------------------------------
    def missing(self, check: Check) -> str:
        return next((r for need in check.needs if (r := _MISSING[need](self.ctx))), "")

    def run_check(self, check: Check, baseline: Baseline | None = None) -> CheckResult:
        result = CheckResult(check.name, check.layer.value, reason=self.missing(check))
        if result.reason:
            result.status = Status.NOT_RUN
        else:
            redact = self.ctx.redact
            started, sent = time.monotonic(), self.budget.sent
            try:
                result.findings = check.run(self.ctx) or []
            except Violation as exc:
                result.findings = [Finding.of(exc.check, exc.message, exc.response, redact)]
            except (RunAborted, NotApplicable) as exc:
                result.status, result.reason = Status.NOT_RUN, str(exc)
            except Exception as exc:  # an answer so malformed the check could not go on
                message = f"the check broke off: {type(exc).__name__}: {exc}"
                result.findings = [Finding.of(check.name, message, None, redact)]
            if Need.WRITE in check.needs:
                # What a check made is gone before the next starts, whatever stopped it: one
                # check's PATs never take the free slots another counts on.
                left = self.ctx.cleanup()
                if left and not result.findings:
                    message = f"still listed after a DELETE answered 200: {left}"
                    result.findings = [Finding.of("delete_removes", message, None, redact)]
            result.seconds = time.monotonic() - started
            result.requests = self.budget.sent - sent
            if result.findings:
                result.status = Status.FAILED
                if baseline:
                    baseline.classify(result)
        self.results.append(result)
        return result


@dataclass
class Cleanup:
    """What the final cleanup did: the PATs it deleted and what it could not delete."""

    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


@contextmanager
def cleaning_up(suite: Suite) -> Iterator[Cleanup]:
    """Run the body, then delete what the run created, also after an error, Ctrl-C or SIGTERM.
    In the main thread, Ctrl-C and SIGTERM only mark the run interrupted (`Budget.interrupt`):
    it stops at its next request or wait, and neither can cut the cleanup short."""
    done = Cleanup()
    main = threading.current_thread() is threading.main_thread()
    previous = {}
    if main:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _interrupting(suite))
    try:
        yield done
    finally:
        try:
            done.left += suite.ctx.cleanup(done.deleted)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _interrupting(suite: Suite) -> Callable[[int, object], None]:
    return lambda signum, frame: suite.budget.interrupt(signum)


@dataclass
class Outcome:
    suite: Suite
    deleted: list[str] = field(default_factory=list)  # by the final cleanup
    left_behind: list[str] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def results(self) -> list[CheckResult]:
        return self.suite.results

    @property
    def conforms(self) -> bool:
        return not any(r.status is Status.FAILED for r in self.results)


def run_suite(
    settings: Settings,
    baseline: Baseline | str | None = None,
    checks: Sequence[Check] | None = None,
) -> Outcome:
    """Preflight, `checks` (default: every check `discover` finds, as Settings' `checks` and
    `exclude_checks` choose), cleanup. `baseline`: a Baseline, or a file, a release (`8.2.0`)
    or `auto` (the release whose rules apply). Raises CannotRun before anything was written."""
    started = time.monotonic()
    # Everything that can be refused without the target is refused before the first request.
    checks = chosen(settings) if checks is None else checks
    if isinstance(baseline, str) and baseline != "auto":
        baseline = _baseline(settings, baseline)
    suite = Suite(settings)
    if baseline == "auto":
        baseline = _baseline(settings, suite.ctx.expect.version)
    outcome = Outcome(suite)
    try:
        with cleaning_up(suite) as cleanup:
            suite.preflight()
            try:
                for each in checks:
                    suite.budget.check_interrupted()
                    suite.run_check(each, baseline)
            except KeyboardInterrupt:
                outcome.interrupted = True
    finally:
        suite.ctx.api.http.close()
    # Also when something on the way swallowed the KeyboardInterrupt.
    outcome.interrupted |= suite.budget.interrupted_by is not None
    outcome.deleted, outcome.left_behind = cleanup.deleted, cleanup.left
    outcome.seconds = time.monotonic() - started
    return outcome
