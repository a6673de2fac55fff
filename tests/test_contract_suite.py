"""The contract suite itself: it passes on the mock, names the defect of every broken variant,
cleans up after itself, never shows a secret, and reports real Unleash 8.2.0's known defects."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from contract_tests.api import Api, Budget, Redactor, RunAborted
from contract_tests.context import Context, Settings
from contract_tests.registry import Check, Layer
from contract_tests.report import Baseline, KnownDefect, Status, junit_xml, summary
from contract_tests.suite import CannotRun, Outcome, run_suite
from mock_server import create_app
from mock_server.cli import main
from tests.broken_variants import VARIANTS, DeleteOfUnknownIdFails, Variant

FULL_SECRET = re.compile(r"user:[0-9a-f]{56}")
BASELINE = Path(__file__).resolve().parent.parent / "contract_tests/baselines/unleash-8.2.0.yaml"
REAL_DEFECTS = {
    "out_of_range_id_rejected",
    "admin_delete_refused",
    "nul_description_rejected",
    "declared_headers_sent",
}


def found(outcome: Outcome) -> set[str]:
    return {f.check for r in outcome.results for f in r.findings}


def test_ci_profile_passes_on_the_mock_within_its_bounds() -> None:
    app = create_app()
    outcome = run_suite(Settings(app=app))
    report = summary(outcome.results, "mock", outcome.suite.budget.sent, outcome.seconds)
    assert outcome.conforms, report
    assert all(r.status is Status.PASSED for r in outcome.results), report
    assert outcome.seconds < 60 and outcome.suite.budget.sent < 2_000, report
    assert [p.id for p in app.store.list(1)] == [1] and [p.id for p in app.store.list(2)] == [2]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_suite_names_the_defect_of_a_broken_mock(variant: Variant, tmp_path: Path) -> None:
    outcome = run_suite(Settings(app=variant.build()))
    assert not outcome.conforms
    assert found(outcome) & variant.caught_by, f"{variant.name}: found only {found(outcome)}"
    report = summary(outcome.results, "variant", outcome.suite.budget.sent, outcome.seconds)
    junit_xml(outcome.results, tmp_path / "junit.xml")
    for text in (report, (tmp_path / "junit.xml").read_text()):
        assert not FULL_SECRET.search(text)


def test_at_least_15_distinct_defects_are_proven() -> None:
    assert len({v.name for v in VARIANTS}) >= 15


def test_baseline_turns_listed_defects_known_and_keeps_others_failing() -> None:
    every_check = frozenset(
        {"not_a_server_error", "status_code_conformance", "delete_status", "unleash_error_shape"}
    )
    baseline = Baseline(
        [KnownDefect(every_check, "DELETE /api/admin/user/tokens/{id}", re.compile(""), "test")]
    )
    known = run_suite(Settings(app=create_app(store=DeleteOfUnknownIdFails())), baseline)
    assert known.conforms, found(known)
    assert any(r.status is Status.KNOWN for r in known.results)
    other = next(v for v in VARIANTS if v.name == "ids reused")
    assert not run_suite(Settings(app=other.build()), baseline).conforms


def test_read_only_run_sends_no_create() -> None:
    methods: list[str] = []

    class Recording:  # middleware: the suite finds the mock's fixtures through `.app`
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                methods.append(scope["method"])
            await self.app(scope, receive, send)

    outcome = run_suite(Settings(app=Recording(create_app()), read_only=True))
    assert outcome.conforms
    assert "POST" not in methods
    assert {r.name for r in outcome.results if r.status is Status.NOT_RUN} >= {
        "lifecycle_model",
        "pat_limit_enforced",
    }


def test_user_without_room_under_the_limit_stops_before_writing() -> None:
    app = create_app()
    for n in range(8):  # with the fixture's PAT: 9 of 10 slots taken
        app.store.create(1, f"someone's {n}", datetime(2999, 1, 1, tzinfo=UTC))
    with pytest.raises(CannotRun, match="slots free"):
        run_suite(Settings(app=app))
    assert len(app.store.list(1)) == 9


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
    assert [p.id for p in app.store.list(1)] == [1]


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


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "junit.xml"
    assert main(["check", "--junit-xml", str(junit)]) == 0
    assert "<testsuite" in junit.read_text()
    assert main(["check", "--token", "user:" + "0" * 56]) == 2  # bad credentials
    assert main(["check", "--base-url", "http://127.0.0.1:9", "--token", "user:x"]) == 2
    assert main(["check", "--base-url", "http://127.0.0.1:9"]) == 2  # no --token
    assert main(["check", "--rate-limit", "0"]) == 2
    assert "cannot run" in capsys.readouterr().err


# -- against a real Unleash 8.2.0 (scripts/real-unleash.sh) ---------------------------------------
REAL = os.environ.get("UNLEASH_URL")
real = pytest.mark.skipif(not REAL, reason="UNLEASH_URL is unset: no real Unleash to check")


def real_args() -> list[str]:
    return [
        "check",
        "--base-url", os.environ["UNLEASH_URL"],
        "--token", os.environ["UNLEASH_PAT"],
        "--token-2", os.environ["UNLEASH_PAT_2"],
        "--admin-token", os.environ["UNLEASH_ADMIN_TOKEN"],
    ]  # fmt: skip


def pats(token: str) -> dict[int, tuple[str, str]]:
    response = httpx.get(
        f"{REAL}/api/admin/user/tokens", headers={"Authorization": token}, timeout=10
    )
    return {p["id"]: (p["description"], p["expiresAt"]) for p in response.json()["pats"]}


def snapshot() -> list[dict[int, tuple[str, str]]]:
    return [pats(os.environ["UNLEASH_PAT"]), pats(os.environ["UNLEASH_PAT_2"])]


def assert_restored(before: list[dict[int, tuple[str, str]]]) -> None:
    """Every PAT from before is untouched and none of the suite's is left. (PATs created
    meanwhile by others sharing the account are not the suite's to judge.)"""
    for was, now in zip(before, snapshot(), strict=True):
        assert {i: now[i] for i in was if i in now} == was
        assert not [d for d, _ in now.values() if d.startswith("unleash-pat-check-")]


@real
@pytest.mark.real
def test_real_unleash_reports_its_known_defects_and_passes_with_the_baseline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot()
    assert main(real_args()) == 1
    report = capsys.readouterr().out
    assert all(f"[{name}]" in report for name in REAL_DEFECTS), report
    assert not FULL_SECRET.search(report)
    assert main([*real_args(), "--baseline", str(BASELINE)]) == 0, capsys.readouterr().out
    assert_restored(before)


@real
@pytest.mark.real
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_real_unleash_run_interrupted_mid_run_restores_the_lists(signum: int) -> None:
    before = snapshot()
    command = [sys.executable, "-c", "from mock_server.cli import main; raise SystemExit(main())"]
    process = subprocess.Popen([*command, *real_args()], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            current = pats(os.environ["UNLEASH_PAT"])
            if any(d.startswith("unleash-pat-check-") for d, _ in current.values()):
                break  # mid-run: the suite holds PATs right now
            time.sleep(0.05)
        process.send_signal(signum)
        assert process.wait(timeout=60) == 2
    finally:
        if process.poll() is None:
            process.kill()
    assert_restored(before)
