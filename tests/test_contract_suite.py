"""The contract suite itself: it passes on the mock, names the defect of every broken variant,
cleans up after itself, never shows a secret, and reports real Unleash 8.2.0's known defects."""

from __future__ import annotations

import ast
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.types import ASGIApp, Receive, Scope, Send

from contract_tests import _compat, expectations
from contract_tests.api import Api, Budget, Redactor, RunAborted
from contract_tests.checks.openapi import UNLEASH_RULES
from contract_tests.context import Context, Settings
from contract_tests.oracles import is_date_time, iso_timestamp, js_number, stored_ms, timestamp
from contract_tests.registry import Check, Layer, Need, check, discover
from contract_tests.report import Baseline, KnownDefect, Status, junit_xml, summary
from contract_tests.suite import CannotRun, Outcome, run_suite
from contract_tests.units import Guard, SuiteUnit
from mock_server import Options, create_app, versions
from mock_server.cli import main
from tests.broken_variants import (
    SESSION_VARIANTS,
    VARIANTS,
    AlterResponses,
    DeleteOfUnknownIdFails,
    Variant,
    expired_never_warned,
    store_variant,
)
from tests.conftest import Recording
from tests.parity.accounts import Identity, bootstrap, create_user, password, remove
from tests.parity.targets import Account, Target

FULL_SECRET = re.compile(r"user:[0-9a-f]{56}")
FAR = "2999-01-01T00:00:00.000Z"
BASELINE = Path(__file__).resolve().parent.parent / "contract_tests/baselines/unleash-8.2.0.yaml"


def found(outcome: Outcome) -> set[str]:
    return {f.check for r in outcome.results for f in r.findings}


def test_ci_profile_passes_on_the_mock_within_its_bounds() -> None:
    app = create_app()
    outcome = run_suite(Settings(app=app))
    report = summary(outcome.results, "mock", outcome.suite.budget.sent, outcome.seconds)
    assert outcome.conforms, report
    assert all(r.status is Status.PASSED for r in outcome.results), report
    assert outcome.seconds < 60 and outcome.suite.budget.sent < 2_000, report
    assert [p.id for p in app.state.pats.list(1)] == [1] and [
        p.id for p in app.state.pats.list(2)
    ] == [2]


CHECKS = {c.name: c for c in discover()}
SESSION_CHECKS = [
    c for c in CHECKS.values() if c.run.__module__ == "contract_tests.checks.sessions"
]


@pytest.mark.parametrize("variant", VARIANTS + SESSION_VARIANTS, ids=lambda v: v.name)
def test_the_check_meant_for_a_defect_names_it_in_a_broken_mock(
    variant: Variant, tmp_path: Path
) -> None:
    outcome = run_suite(Settings(app=variant.build()), checks=[CHECKS[variant.runs]])
    assert found(outcome) & variant.caught_by, f"{variant.name}: found only {found(outcome)}"
    report = summary(outcome.results, "variant", outcome.suite.budget.sent, outcome.seconds)
    junit_xml(outcome.results, tmp_path / "junit.xml")
    for text in (report, (tmp_path / "junit.xml").read_text()):
        assert not FULL_SECRET.search(text)
    password = create_app().state.fixtures.users[0][0].password
    assert password and password not in report


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_the_whole_suite_names_the_defect_of_a_broken_mock(variant: Variant) -> None:
    outcome = run_suite(Settings(app=variant.build()))
    assert not outcome.conforms
    assert found(outcome) & variant.caught_by, f"{variant.name}: found only {found(outcome)}"


@pytest.mark.slow
@pytest.mark.parametrize("variant", SESSION_VARIANTS, ids=lambda v: v.name)
def test_the_session_checks_name_the_defect_of_a_broken_login(variant: Variant) -> None:
    outcome = run_suite(Settings(app=variant.build()), checks=SESSION_CHECKS)
    assert found(outcome) & variant.caught_by, f"{variant.name}: found only {found(outcome)}"


def test_session_checks_run_once_logged_in_and_are_not_run_without_a_password() -> None:
    app = create_app()
    recording = Recording(app)
    outcome = run_suite(Settings(app=recording), checks=SESSION_CHECKS)
    assert all(r.status is Status.PASSED for r in outcome.results)
    logins = [r for r in recording.requests if r.path == "/auth/simple/login"]
    # The run's login, a second one, two refused (a wrong password, no such user), the
    # username in another case (refused), a body without a password (400) and the session a
    # logout ends (with the run's own).
    assert len(logins) == 7
    users = app.state.fixtures.users
    token, token_2 = users[0][1][0].secret, users[1][1][0].secret
    given = Settings(
        app=app, token=token, token_2=token_2, admin_token=app.state.fixtures.admin_tokens[0]
    )
    outcome = run_suite(given, checks=SESSION_CHECKS)
    assert {r.status for r in outcome.results} == {Status.NOT_RUN}
    assert {r.reason for r in outcome.results} == {"needs --username and --password"}


def test_at_least_15_distinct_defects_are_proven() -> None:
    assert len({v.name for v in VARIANTS}) >= 15


def _flagged_mock() -> ASGIApp:
    return create_app(options=Options(token_expiry_notifications=True))


@pytest.mark.parametrize(
    ("build", "conforms"),
    [(_flagged_mock, True), (lambda: AlterResponses(_flagged_mock(), expired_never_warned), False)],
    ids=["warnings as Unleash gives them", "expired never warned"],
)
def test_expiry_warnings_are_checked_when_ui_config_flags_them(
    build: Callable[[], ASGIApp], conforms: bool
) -> None:
    expiry = [c for c in discover() if c.name == "expiry_warnings_as_flagged"]
    outcome = run_suite(Settings(app=build()), checks=expiry)
    assert outcome.conforms is conforms, found(outcome)
    assert outcome.results[0].status is (Status.PASSED if conforms else Status.FAILED)


def test_baseline_turns_listed_defects_known_and_keeps_others_failing() -> None:
    every_check = frozenset(
        {"not_a_server_error", "status_code_conformance", "delete_status", "unleash_error_shape"}
    )
    baseline = Baseline(
        [KnownDefect(every_check, "DELETE /api/admin/user/tokens/{id}", re.compile(""), "test")]
    )
    app = store_variant(DeleteOfUnknownIdFails)()
    known = run_suite(Settings(app=app), baseline, checks=[CHECKS["openapi_conformance"]])
    assert known.conforms, found(known)
    assert any(r.status is Status.KNOWN for r in known.results)
    other = next(v for v in VARIANTS if v.name == "ids reused")
    failing = run_suite(Settings(app=other.build()), baseline, checks=[CHECKS[other.runs]])
    assert not failing.conforms


def test_read_only_run_sends_no_create() -> None:
    recording = Recording(create_app())
    outcome = run_suite(Settings(app=recording, read_only=True))
    assert outcome.conforms
    assert "POST" not in {r.method for r in recording.requests}
    assert {r.name for r in outcome.results if r.status is Status.NOT_RUN} >= {
        "lifecycle_model",
        "pat_limit_enforced",
    }


def test_user_without_room_under_the_limit_stops_before_writing() -> None:
    app = create_app()
    for n in range(8):  # with the fixture's PAT: 9 of 10 slots taken
        app.state.pats.create(1, f"someone's {n}", datetime(2999, 1, 1, tzinfo=UTC))
    with pytest.raises(CannotRun, match="slots free"):
        run_suite(Settings(app=app))
    assert len(app.state.pats.list(1)) == 9


def test_interrupted_run_deletes_what_it_created() -> None:
    def create_then_interrupt(ctx: Context) -> None:
        ctx.track(
            ctx.token,
            ctx.api.create(
                ctx.token,
                {"description": ctx.description(), "expiresAt": "2999-01-01T00:00:00.000Z"},
            ),
        )
        raise KeyboardInterrupt

    app = create_app()
    checks = [Check("interrupt", Layer.PROPERTY, create_then_interrupt)]
    outcome = run_suite(Settings(app=app), checks=checks)
    assert outcome.interrupted and not outcome.left_behind
    assert [p.id for p in app.state.pats.list(1)] == [1]


def test_a_sigterm_swallowed_on_the_way_still_interrupts_the_run_and_cleans_up() -> None:
    ran: list[str] = []

    def create_then_get_sigterm(ctx: Context) -> None:
        ctx.track(
            ctx.token,
            ctx.api.create(ctx.token, {"description": ctx.description(), "expiresAt": FAR}),
        )
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            ctx.api.list(ctx.token)
        except KeyboardInterrupt:
            pass  # as schemathesis' engine and hypothesis may do

    def after(ctx: Context) -> None:
        ran.append("after")

    app = create_app()
    checks = [Check("sigterm", Layer.PROPERTY, create_then_get_sigterm)]
    checks.append(Check("after", Layer.PROPERTY, after))
    before = signal.getsignal(signal.SIGTERM)
    outcome = run_suite(Settings(app=app), checks=checks)
    assert outcome.interrupted and outcome.suite.budget.interrupted_by is signal.SIGTERM
    assert not ran and len(outcome.deleted) == 1 and not outcome.left_behind
    assert [p.id for p in app.state.pats.list(1)] == [1]
    assert signal.getsignal(signal.SIGTERM) is before


def test_client_honours_429_retry_after_and_the_rate_limit() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.2"}), httpx.Response(200)])
    http = httpx.Client(
        base_url="http://unleash.test", transport=httpx.MockTransport(lambda _: next(answers))
    )
    api = Api(http, Budget(10, 60, rate_limit=20), Redactor())
    started = time.monotonic()
    assert api.list("user:x").status_code == 200
    assert time.monotonic() - started >= 0.2 and api.budget.sent == 2
    with pytest.raises(RunAborted, match="budget"):
        Api(http, Budget(0, 60), Redactor()).list("user:x")


@pytest.mark.usefixtures("no_credential_variables")
def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "junit.xml"
    assert main(["check", "--junit-xml", str(junit)]) == 0
    assert "<testsuite" in junit.read_text()
    assert main(["check", "--base-url", "http://127.0.0.1:9", "--token", "user:x"]) == 2
    assert main(["check", "--base-url", "http://127.0.0.1:9"]) == 2  # no --token
    assert main(["check", "--rate-limit", "0"]) == 2
    assert "cannot run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--token", "user:x"], "--token needs --base-url"),
        (["--token-2", "user:x", "--admin-token", "a"], "--token-2, --admin-token need --base-url"),
        (["--username", "u", "--password", "p"], "--username, --password need --base-url"),
        (["--base-url", "http://127.0.0.1:9", "--username", "u"], "--username and --password go"),
        (["--base-url", "localhost:4250", "--token", "user:x"], "must be an http:// or https://"),
        (["--junit-xml", "{tmp}/missing/junit.xml"], "not a file in an existing directory"),
        (["--junit-xml", "{tmp}"], "not a file in an existing directory"),
    ],
)
@pytest.mark.usefixtures("no_credential_variables")
def test_unusable_arguments_stop_the_check_before_any_work(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["check", *(a.format(tmp=tmp_path) for a in arguments)]) == 2
    assert time.monotonic() - started < 1  # no run happened
    assert message in capsys.readouterr().err


# -- the check registry ----------------------------------------------------------------------
def test_registry_refuses_a_need_or_layer_that_is_not_its_enum() -> None:
    with pytest.raises(TypeError, match="unknown need"):
        check(Layer.PROPERTY, "wirte")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Layer"):
        check("property", Need.WRITE)  # type: ignore[arg-type]


def test_every_check_is_discovered_in_layer_order() -> None:
    checks = discover()
    assert [c.layer for c in checks] == sorted((c.layer for c in checks), key=list(Layer).index)
    assert {"openapi_conformance", "lifecycle_model", "pat_limit_enforced"} <= {
        c.name for c in checks
    }
    writing = {c.name for c in checks if Need.WRITE in c.needs}
    assert "lifecycle_model" in writing and "bad_tokens_rejected" not in writing


def test_a_check_in_a_new_module_runs_without_editing_a_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "more_checks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "listing.py").write_text(
        "from contract_tests.registry import Layer, check\n\n\n"
        "@check(Layer.PROPERTY)\n"
        "def lists_with_the_token(ctx):\n"
        "    assert ctx.api.list(ctx.token).status_code == 200\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found_checks = discover("more_checks")
    assert [c.name for c in found_checks] == ["lists_with_the_token"]
    outcome = run_suite(Settings(), checks=found_checks)
    assert [(r.name, r.status, r.requests) for r in outcome.results] == [
        ("lists_with_the_token", Status.PASSED, 1)
    ]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_the_suite_imports_the_mock_only_to_start_it_and_its_registry_is_a_leaf() -> None:
    package = Path(__file__).resolve().parent.parent / "contract_tests"
    found = {p.relative_to(package).as_posix(): imports(p) for p in package.rglob("*.py")}
    reaching_the_mock = {
        path
        for path, names in found.items()
        if any(n.split(".")[0] == "mock_server" for n in names)
    }
    assert reaching_the_mock == {"target.py"}
    assert not [n for n in found["registry.py"] if n.startswith("contract_tests")]
    checks = {path: names for path, names in found.items() if path.startswith("checks/")}
    assert not [path for path, names in checks.items() if "contract_tests.suite" in names]
    assert not [n for n in found["suite.py"] if n.startswith("contract_tests.checks")]


# -- schemathesis stays the suite's guest --------------------------------------------------------
def test_schemathesis_runs_after_the_suite_use_none_of_its_checks_or_hooks() -> None:
    import schemathesis
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    names = {rule.__name__ for rule in UNLEASH_RULES}
    outcome = run_suite(
        Settings(), checks=[c for c in discover() if c.name == "openapi_conformance"]
    )
    assert outcome.conforms and outcome.suite.budget.sent > 100
    assert not names & set(_compat.registered_checks())
    assert _compat.global_hooks("before_call") == []

    # An API the suite's rules would fail: a secret-shaped value, a timestamp that is not one.
    body = {"note": "user:" + "a" * 56, "expiresAt": "soon"}
    other = Starlette(routes=[Route("/other", lambda request: JSONResponse(body))])
    ok = {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}
    schema = schemathesis.openapi.from_dict(
        {
            "openapi": "3.0.3",
            "info": {"title": "another API", "version": "1"},
            "paths": {"/other": {"get": {"responses": {"200": ok}}}},
        }
    )
    schema.app = other
    response = schema["/other"]["GET"].Case().call_and_validate()
    assert response.json() == body


def test_an_operation_schemathesis_could_not_finish_is_a_finding_not_a_pass() -> None:
    def broken_prepare(ctx: Any, case: Any) -> None:
        raise TypeError("a hook that fails")

    # A unit whose guard of the create fails (it takes the PAT unit's place for that operation).
    broken = SuiteUnit("broken", lambda *args: [], lambda ctx: {"createPat": Guard(broken_prepare)})
    checks = [c for c in discover() if c.name == "openapi_conformance"]
    outcome = run_suite(Settings(units=(broken,)), checks=checks)
    [result] = outcome.results
    assert result.status is Status.FAILED
    messages = [f.message for f in result.findings if "a hook that fails" in f.message]
    assert messages and all(m.startswith("schemathesis could not go on:") for m in messages)


def test_compat_refuses_a_schemathesis_it_was_not_written_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    import schemathesis

    monkeypatch.setattr(schemathesis, "__version__", "5.0.0")
    with pytest.raises(ImportError, match=r"supports schemathesis 4\.32\.x .*found 5\.0\.0"):
        importlib.reload(_compat)
    monkeypatch.undo()
    importlib.reload(_compat)


# -- the suite's oracles --------------------------------------------------------------------------
# What real Unleash 8.2.0 (PostgreSQL 15, UTC) answered on 2026-11-30 to a POST with each
# expiresAt: 400 (not an Ajv "date-time"), 500 (PostgreSQL refuses it) or the stored expiresAt.
EXPIRY_ANSWERS = [
    ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01T00:00:00", "2030-01-01T00:00:00.000Z"),  # no zone: the database's (UTC)
    ("2030-01-01 00:00:00", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01t00:00:00z", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01 00:00:00+02", "2029-12-31T22:00:00.000Z"),
    ("2030-01-01\t00:00:00+0200", "2029-12-31T22:00:00.000Z"),
    ("2030-01-01\n00:00:00Z", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01\r00:00:00Z", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01\x0b00:00:00Z", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01T00:00:00+02:00", "2029-12-31T22:00:00.000Z"),
    ("2030-01-01T00:00:00-05:30", "2030-01-01T05:30:00.000Z"),
    ("2030-01-01T00:00:00+0230", "2029-12-31T21:30:00.000Z"),
    ("2030-01-01T00:00:00-00:00", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01T00:00:00+15:59", "2029-12-31T08:01:00.000Z"),
    ("2030-01-01T00:00:00-1559", "2030-01-01T15:59:00.000Z"),
    ("2030-01-01T00:00:00+16:00", 500),
    ("2030-01-01T00:00:00+1600", 500),
    ("2030-01-01T00:00:00-16", 500),
    ("2030-01-01T00:00:00+02:60", 500),
    ("2030-01-01T00:00:00+99", 500),
    ("2030-06-30T23:59:60Z", "2030-07-01T00:00:00.000Z"),
    ("2030-06-30T23:59:60+02:00", "2030-06-30T22:00:00.000Z"),  # a leap second at any offset
    ("2030-12-31T23:59:60-15:59", "2031-01-01T15:59:00.000Z"),
    ("2030-06-30T23:59:60.0Z", "2030-07-01T00:00:00.000Z"),
    ("2030-06-30T23:59:60.0000005Z", "2030-07-01T00:00:00.000Z"),  # rounds to :60.000000
    ("2030-06-30T23:59:60.5Z", 500),
    ("2030-01-01T00:00:00.123456789Z", "2030-01-01T00:00:00.123Z"),
    ("2030-01-01T00:00:00.9999995Z", "2030-01-01T00:00:01.000Z"),  # microseconds, half even
    ("2030-01-01T00:00:00.0000005Z", "2030-01-01T00:00:00.000Z"),
    ("2030-01-01T00:00:00.9995Z", "2030-01-01T00:00:00.999Z"),  # then ms, truncated
    ("2030-01-01T00:00:00.549Z", "2030-01-01T00:00:00.549Z"),
    ("2032-02-29T00:00:00Z", "2032-02-29T00:00:00.000Z"),
    ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
    ("9999-12-31T23:59:59-01:00", "+010000-01-01T00:59:59.000Z"),
    ("2030-01-01\u00a000:00:00Z", 500),  # JavaScript white space that PostgreSQL refuses
    ("2030-01-01\u200300:00:00Z", 500),
    ("2030-01-01\ufeff00:00:00Z", 500),
    ("2030-01-01\x1c00:00:00Z", 400),  # white space to Python, not to JavaScript
    ("\uff12\uff10\uff13\uff10-01-01T00:00:00Z", 400),  # digits to Python, not to JavaScript
    ("2030-02-29T00:00:00Z", 400),
    ("2030-01-01T24:00:00Z", 400),
    ("2030-01-01T00:00:60Z", 400),
    ("2030-01-01T00:00:00.Z", 400),
    ("2030-01-01T12:00:00+2", 400),
    ("2030-01-01T00:00:00+00:5", 400),
    ("2030-01-01T00:00:00+15:59:00", 400),
    ("2030-01-01T00:00:00Z\n", 400),
    ("2031-05-06", 400),
]


def oracle_answer(text: str) -> str | int:
    if not is_date_time(text):
        return 400
    stored = stored_ms(text)
    return 500 if stored is None else iso_timestamp(stored)


@pytest.mark.parametrize(("text", "answer"), EXPIRY_ANSWERS, ids=repr)
def test_date_time_oracle_predicts_what_unleash_stores(text: str, answer: str | int) -> None:
    assert oracle_answer(text) == answer


def test_number_oracle_coerces_like_javascript() -> None:
    # Number(x) in Node 20 for each x.
    table = {"": 0, " 2 ": 2, "\u00a02\ufeff": 2, "\u20032": 2, "0x1F": 31, "0X1f": 31,
             "0o17": 15, "0b101": 5, "1e3": 1000, ".5": 0.5, "5.": 5, "+5": 5, "-0": 0,
             "Infinity": math.inf, "-Infinity": -math.inf, "1e400": math.inf,
             "00012": 12}  # fmt: skip
    for text, number in table.items():
        assert js_number(text) == number, text
    for text in ("-0x1", "0b102", "infinity", "1_000", "0x", "0x1_0", "1e", "12abc", "\u0663"):
        assert math.isnan(js_number(text)), text


def test_timestamp_oracle_is_date_to_iso_string() -> None:
    assert timestamp(datetime(2030, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)) == (
        "2030-01-02T03:04:05.999Z"
    )
    assert iso_timestamp(-1) == "1969-12-31T23:59:59.999Z"
    assert iso_timestamp(253_402_300_800_000) == "+010000-01-01T00:00:00.000Z"
    assert iso_timestamp(-62_198_755_200_000) == "-000001-01-01T00:00:00.000Z"


def test_contract_document_and_releases_are_found_without_the_mock() -> None:
    root = Path(__file__).resolve().parent.parent
    reference = yaml.safe_load((root / "openapi.yaml").read_text(encoding="utf-8"))
    assert expectations.resolve("8").contract() == reference
    assert (root / "contract_tests" / "openapi.yaml").read_bytes() == (
        root / "openapi.yaml"
    ).read_bytes()
    assert sorted(p.name for p in expectations.RELEASES.glob("*.yaml")) == sorted(
        p.name for p in (root / "releases").glob("*.yaml")
    )


# -- against a real Unleash (scripts/real-unleash.sh) -------------------------------------------
# Given only its URL and an admin API token: the tests make their own users, with a password and
# a PAT each, through the admin API, and remove them (and everything they hold) at the end.
REAL = os.environ.get("UNLEASH_URL")
real = pytest.mark.skipif(not REAL, reason="UNLEASH_URL is unset: no real Unleash to check")


@pytest.fixture(scope="module")
def real_accounts() -> Iterator[list[Account]]:
    target = Target("real", httpx.Client(base_url=REAL or "", timeout=30), {}, "")
    target.admin_token = os.environ["UNLEASH_ADMIN_TOKEN"]
    run = secrets.token_hex(4)
    made: list[Account] = []
    try:
        for label in ("one", "two"):
            who = Identity(f"check-{run}-{label}", password())
            made.append(Account(label, who.username, create_user(target, who), who.password))
            bootstrap(target, made[-1])
        yield made
    finally:
        problems = remove(target, made)
        target.client.close()
        assert not problems, "the real server keeps what the tests made:\n" + "\n".join(problems)


def real_args(accounts: list[Account]) -> list[str]:
    """`check` against the real server; the credentials come from real_credentials()."""
    return ["check", "--base-url", REAL or "", "--username", accounts[0].username]


def real_credentials(accounts: list[Account]) -> dict[str, str]:
    """The environment that gives `check` its credentials: never in a process's arguments."""
    one, two = accounts
    assert one.pat and two.pat
    return {
        "UNLEASH_PAT": one.pat,
        "UNLEASH_PAT_2": two.pat,
        "UNLEASH_ADMIN_TOKEN": os.environ["UNLEASH_ADMIN_TOKEN"],
        "UNLEASH_PASSWORD": one.password,
    }


def pats(token: str) -> dict[int, tuple[str, str]]:
    response = httpx.get(
        f"{REAL}/api/admin/user/tokens", headers={"Authorization": token}, timeout=10
    )
    return {p["id"]: (p["description"], p["expiresAt"]) for p in response.json()["pats"]}


def snapshot(accounts: list[Account]) -> list[dict[int, tuple[str, str]]]:
    return [pats(a.pat or "") for a in accounts]


def assert_restored(accounts: list[Account], before: list[dict[int, tuple[str, str]]]) -> None:
    """Every PAT from before is untouched and none of the suite's is left."""
    for was, now in zip(before, snapshot(accounts), strict=True):
        assert {i: now[i] for i in was if i in now} == was
        assert not [d for d, _ in now.values() if d.startswith("unleash-pat-check-")]


@real
@pytest.mark.real
def test_real_unleash_reports_its_known_defects_and_passes_with_the_baseline(
    real_accounts: list[Account],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = snapshot(real_accounts)
    for variable, value in real_credentials(real_accounts).items():
        monkeypatch.setenv(variable, value)
    arguments = real_args(real_accounts)
    status = main(arguments)
    report = capsys.readouterr().out
    assert not FULL_SECRET.search(report)
    assert main([*arguments, "--baseline", "auto"]) == 0, capsys.readouterr().out
    # Whatever failed without the baseline is a defect the baseline lists.
    version = re.search(r"\(Unleash ([0-9.]+)", report)
    assert version, report
    listed = {c for d in Baseline.named(version.group(1)).defects for c in d.checks}
    failed = set(re.findall(r"^\[([a-z_]+)", report, flags=re.MULTILINE))
    assert status == (1 if failed else 0) and failed <= listed, report
    assert_restored(real_accounts, before)


@real
@pytest.mark.real
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_real_unleash_run_interrupted_mid_run_restores_the_lists(
    real_accounts: list[Account], signum: int
) -> None:
    before = snapshot(real_accounts)
    command = [sys.executable, "-c", "from mock_server.cli import main; raise SystemExit(main())"]
    process = subprocess.Popen(
        [*command, *real_args(real_accounts)],
        env={**os.environ, **real_credentials(real_accounts)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            current = pats(real_accounts[0].pat or "")
            if any(d.startswith("unleash-pat-check-") for d, _ in current.values()):
                break  # mid-run: the suite holds PATs right now
            time.sleep(0.05)
        process.send_signal(signum)
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 2, errors
        name = signal.Signals(signum).name
        assert re.search(rf"interrupted by {name}; (deleted the|the run had no PAT)", errors)
    finally:
        if process.poll() is None:
            process.kill()
    assert_restored(real_accounts, before)


@real
@pytest.mark.real
def test_real_unleash_stores_expiries_as_the_oracle_predicts(
    real_accounts: list[Account],
) -> None:
    """The oracle is Ajv 8's and ajv-formats' "date-time" (5.8.2 and later)."""
    token = {"Authorization": real_accounts[0].pat or ""}
    answers = {}
    with httpx.Client(base_url=REAL or "", headers=token, timeout=15) as client:
        release = client.get("/api/admin/ui-config").json()["version"]
        if versions.resolve(release).ajv != 8:
            pytest.skip(f"Unleash {release} validates with Ajv 6, which the oracle is not")
        for n, (text, _) in enumerate(EXPIRY_ANSWERS):
            body = {"description": f"unleash-pat-check-oracle-{os.getpid()}-{n}", "expiresAt": text}
            response = client.post("/api/admin/user/tokens", json=body)
            answers[text] = response.status_code
            if response.status_code == 201:
                answers[text] = response.json()["expiresAt"]
                client.delete(f"/api/admin/user/tokens/{response.json()['id']}")
    assert answers == {text: oracle_answer(text) for text, _ in EXPIRY_ANSWERS}


@pytest.mark.slow
def test_lifecycle_model_stays_reproducible_while_another_client_takes_pat_slots() -> None:
    """On a shared deployment other clients hold and free PAT slots, so the same rule draws can
    meet different answers; hypothesis must still see the same draws (no FlakyStrategyDefinition),
    and the model, which counts slots on the server, must report nothing."""
    app = create_app()
    store = app.state.pats
    foreign: list[int] = []

    class OtherClient:  # after each DELETE: takes all but one of user 1's free slots, or frees them
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            if scope["type"] != "http" or scope["method"] != "DELETE":
                return
            if foreign:
                for pat_id in foreign:
                    store.delete(1, pat_id)
                foreign.clear()
            else:
                for n in range(store.pat_limit - len(store.list(1)) - 1):
                    pat, _ = store.create(1, f"other client {n}", datetime(2999, 1, 1, tzinfo=UTC))
                    foreign.append(pat.id)

    lifecycle = [c for c in discover() if c.name == "lifecycle_model"]
    # The thorough profile's examples share prefixes enough to meet a divergence.
    settings = Settings(app=OtherClient(app), profile="thorough", seed=0)
    outcome = run_suite(settings, checks=lifecycle)
    assert outcome.conforms, summary(outcome.results, "mock", 0, 0.0)
