"""What a check may use: the run's settings and profile, the version's expectations, the API
client, the callers, and the record of the PATs the run created.

Safety on a real deployment rests here: every object the run creates carries `Context.prefix`
and is recorded in `Context.ledger` the moment its creation is answered; `cleanup` runs each
resource unit's cleanup, which removes exactly those, whatever ended the run.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import httpx

from contract_tests.api import Api, Budget
from contract_tests.expectations import Error, Expectations
from contract_tests.ledger import Ledger

if TYPE_CHECKING:
    from contract_tests.units.base import SuiteUnit

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# A secret of any format any version issues (8.2.0's secure ones are `user:v2_…`), found anywhere.
ANY_SECRET = re.compile(r"user:(?:[0-9a-f]{56}|v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43})")
SHORT_EXPIRY = timedelta(seconds=1.5)
PAST = "2020-01-01T00:00:00.000Z"
FAR = "2999-01-01T00:00:00.000Z"


SESSION_COOKIE = "unleash-session"
PAT = "pat"  # the ledger's kind of the PATs a run creates (contract_tests/units/pats.py)


class Violation(AssertionError):
    """A contract rule broken by the target."""

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


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise Violation(
            "unleash_error_shape" if response.status_code >= 400 else "json_body",
            f"the {response.status_code} body is not JSON",
            response,
        ) from None


def expect_error(response: httpx.Response, error: Error, check: str, why: str) -> None:
    expect(
        response.status_code == error.status,
        check,
        f"{why}: expected {error.status} {error.name}, got {response.status_code}",
        response,
    )
    body = body_of(response)
    got = body.get("name") if isinstance(body, dict) else None
    expect(got == error.name, check, f"{why}: expected error {error.name}, got {got!r}", response)


def expect_delete(ctx: Context, response: httpx.Response, known: bool, why: str) -> None:
    """A DELETE by a user: `delete_status` for an id a PAT has (own or another user's); for an
    id no PAT has, the version's `unknown_id` error (8.2.0: `delete_status` too)."""
    unknown = ctx.expect.unknown_id
    if known or unknown is None:
        status = ctx.expect.delete_status
        expect(response.status_code == status, "delete_status", f"{why}: not {status}", response)
    else:
        expect_error(response, unknown, "delete_status", why)


def listed_pats(api: Api, token: str | None, check: str) -> tuple[httpx.Response, list[dict]]:
    response = api.list(token)
    expect(response.status_code == 200, check, f"list answered {response.status_code}", response)
    body = body_of(response)
    pats = body.get("pats") if isinstance(body, dict) else None
    expect(isinstance(pats, list), check, "the list has no `pats` array", response)
    expect(
        all(isinstance(p, dict) and "secret" not in p for p in pats)
        and not ANY_SECRET.search(response.text),
        "secret_never_listed",
        "a listed PAT carries a secret",
        response,
    )
    return response, pats


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


CLI_OPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "base_url": "--base-url",
        "token": "--token",
        "token_2": "--token-2",
        "admin_token": "--admin-token",
        "username": "--username",
        "password": "--password",
        "profile": "--profile",
        "seed": "--seed",
        "rate_limit": "--rate-limit",
        "read_only": "--read-only",
        "unleash_version": "--unleash-version",
        "baseline": "--baseline",
        "checks": "--checks",
        "exclude_checks": "--exclude-checks",
    }
)


# Each credential setting and the environment variable `check` reads it from (with a base
# URL) and a reproducing command names it by: the names scripts/real-unleash.sh exports.
CREDENTIAL_VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "token": "UNLEASH_PAT",
        "token_2": "UNLEASH_PAT_2",
        "admin_token": "UNLEASH_ADMIN_TOKEN",
        "password": "UNLEASH_PASSWORD",
    }
)


def with_environment(given: Mapping[str, str | None], username: str | None) -> dict[str, Any]:
    """`given` (credential settings by field name), each one not given read from its variable;
    the password only for a username. For a run against a deployment."""
    return {
        option: os.environ.get(variable) or None
        if given.get(option) is None and (option != "password" or username)
        else given.get(option)
        for option, variable in CREDENTIAL_VARIABLES.items()
    }


@dataclass(frozen=True)
class Settings:
    base_url: str | None = None  # None: the mock, in-process
    token: str | None = None
    token_2: str | None = None
    admin_token: str | None = None
    # The username (or e-mail) and password of `token`'s user, for the login and session checks.
    username: str | None = None
    password: str | None = None
    profile: str = "ci"
    seed: int | None = None
    rate_limit: float | None = None
    read_only: bool = False
    # An ASGI app to test in-process instead of a fresh mock: one `mock_server.create_app`
    # built (middleware around it is fine), or any app when the tokens are given.
    app: Any = None
    # A release (`7.6.5`), a major (`7`: its newest known release) or `auto`: the version the
    # target names in /api/admin/ui-config (the in-process mock names the one it answers as).
    unleash_version: str = "auto"
    # Resource units beyond the suite's own (contract_tests.units.UNITS).
    units: tuple[SuiteUnit, ...] = ()
    # The checks to run (empty: all), and those not to run, by the names the report gives.
    checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    # How the front end names each setting in messages: `unleash-pat check`'s options, or
    # pytest's `--unleash-*` (pytest_options.py).
    option_names: Mapping[str, str] = field(default_factory=lambda: CLI_OPTIONS)

    def option(self, name: str) -> str:
        """The option that sets `name` (a field of Settings), as the user typed it."""
        return self.option_names[name]


def set_session(response: httpx.Response) -> str | None:
    """The session cookie's value a response sets (as sent: percent-encoded), or None."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == SESSION_COOKIE:
            return rest.split(";", 1)[0].strip()
    return None


@dataclass(frozen=True)
class Login:
    """The run's password login: its answer, and the session cookie it set (None: none)."""

    response: httpx.Response
    cookie: str | None


@dataclass
class Caller:
    """A user the suite acts as, and the PATs it held before the run (never touched)."""

    label: str
    token: str
    user_id: int
    foreign_ids: frozenset[int]


class Context:
    """One run against one target, as the checks see it."""

    def __init__(
        self,
        settings: Settings,
        profile: Profile,
        expectations: Expectations,
        api: Api,
        target: str,
        app: Any,
        tokens: tuple[str, str | None, str | None],
        password_login: tuple[str, str] | None = None,
        units: tuple[SuiteUnit, ...] = (),
    ) -> None:
        self.settings = settings
        self.profile = profile
        self.expect = expectations
        self.api = api
        self.redact = api.redact
        self.budget = api.budget
        self.target = target  # the base URL, or the mock's name
        # The version asked for, or with `auto` the one the target names in ui-config.
        self.target_version = expectations.version
        self.reported_version: str | None = None  # what the target names in ui-config
        self.version_notice: str | None = None  # another release's rules stand for the target's
        self.app = app  # the ASGI app under test in-process, None for a deployment
        self.token, self.token_2, self.admin_token = tokens
        self.password_login = password_login  # `token`'s user's username and password
        self._login: Login | None = None
        self.prefix = f"unleash-pat-check-{secrets.token_hex(4)}-"
        # How far the target's clock may be from ours when judging an expiry.
        self.clock_margin = timedelta(seconds=0.3 if app is not None else 1.5)
        self.callers: list[Caller] = []
        self.units = units
        self.ledger = Ledger(unit.kind for unit in units)

    def login(self) -> Login:
        """The run's one login as `token`'s user, made on first use: Unleash allows 10 logins a
        minute per client, shared with every other run from the same address."""
        if self._login is None:
            assert self.password_login is not None  # checks that log in need Need.PASSWORD
            response = self.api.login(*self.password_login)
            cookie = set_session(response) if response.status_code == 200 else None
            self.redact.add(cookie, "UNLEASH_SESSION")
            self._login = Login(response, cookie)
        return self._login

    def logged_out(self) -> None:
        """The run's session has ended (a logout ends every session of its user): a check that
        needs one after this logs in again."""
        self._login = None

    def session_cookie(self) -> str:
        """The login's session cookie value; a check that needs one is not run without it (the
        login check reports why)."""
        cookie = self.login().cookie
        if cookie is None:
            raise NotApplicable("the password login set no session cookie (see password_login)")
        return cookie

    def description(self, text: str = "") -> str:
        return self.prefix + (text or secrets.token_hex(4))

    def track(self, token: str, response: httpx.Response, kind: str = PAT) -> None:
        """Remember an object (a PAT unless `kind` says otherwise) this run created, owned by
        `token`, before anything else can go wrong."""
        # A malformed 201 is a finding elsewhere; cleanup then falls back on the prefix.
        with suppress(ValueError, KeyError, TypeError):
            if response.status_code == 201:
                object_id = int(response.json()["id"])
                self.ledger.record(kind, object_id, token)

    def cleanup(self, deleted: list[str] | None = None) -> list[str]:
        """Remove everything this run created, unit by unit, naming each removal in `deleted`;
        returns what is left behind."""
        # A budget of its own: cleanup must work when the run's is spent.
        budget = Budget(300, 120, self.settings.rate_limit)
        api = Api(self.api.http, budget, self.redact, read_only=self.api.read_only)
        removed: list[str] = []
        left = [problem for unit in self.units for problem in unit.cleanup(self, api, removed)]
        if deleted is not None:
            deleted += removed
        return left

    def reset(self) -> None:
        """Back to the users' own PATs before a check that counts them."""
        left = self.cleanup()
        expect(
            not left, "delete_removes", f"still listed after a DELETE answered 200: {left}", None
        )
