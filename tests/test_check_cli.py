"""`unleash-pat check` as a user meets it: baselines by file, release or `auto`, a bad baseline
named, checks chosen by name, a quiet report of known defects, one finding per defect,
reproducing commands that run as pasted, messages that name the URL or option at fault, a notice
when the version given is not the target's, --read-only sending nothing that writes, and a
Markdown summary for CI pages."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract_tests.report import BASELINES
from mock_server import Options, create_app
from mock_server.cli import main
from tests.broken_variants import DeleteOfUnknownIdFails, store_variant
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, served

pytestmark = pytest.mark.usefixtures("no_credential_variables")

CREDENTIALS = ["--token", ADMIN_PAT, "--token-2", ALICE_PAT, "--admin-token", ADMIN_API_TOKEN]
QUICK = ["--checks", "bad_tokens_rejected,current_user_described"]


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port nothing listens on while the test runs: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def check(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = main(["check", *arguments])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("known: [\n", "not valid YAML"),
        ("- checks: [x]\n", "a baseline is a mapping with `known:`"),
        ("foo: 1\n", "not ['foo']"),
        ("known: [{checks: [x], operation: GET /x}]\n", "missing ['reason']"),
        ("known: [{checks: x, operation: o, reason: r}]\n", "`checks` must be a list"),
        ("known: [{checks: [x], operation: o, reason: r, match: '('}]\n", "no regular expr"),
    ],
)
def test_a_bad_baseline_exits_2_naming_the_file_and_the_problem(
    text: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(text)
    status, _, err = check(capsys, "--baseline", str(baseline), *QUICK)
    assert status == 2
    assert str(baseline) in err and problem in err


def test_baselines_ship_with_the_suite_by_release_and_auto(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert {p.name for p in BASELINES.glob("*.yaml")} >= {"unleash-8.2.0.yaml"}
    for name in ("8.2.0", "auto"):
        assert check(capsys, "--baseline", name, *QUICK)[0] == 0
    status, _, err = check(capsys, "--baseline", "3.1.0", *QUICK)
    assert status == 2 and "no baseline ships for Unleash 3.1.0" in err


def test_checks_are_chosen_and_excluded_by_the_names_the_report_gives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = check(capsys, *QUICK, "--exclude-checks", "current_user_described")
    assert status == 0
    assert re.findall(r"^  \w+ +\w+ +(\w+)", out, flags=re.MULTILINE) == ["bad_tokens_rejected"]
    status, _, err = check(capsys, "--checks", "no_such_check")
    assert status == 2 and "--checks: no check named no_such_check" in err
    assert "bad_tokens_rejected" in err  # the known names are listed


def test_a_500_is_one_finding_known_ones_take_one_line_and_reproduce_lines_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "known:\n  - checks: [not_a_server_error]\n    operation: DELETE /api/admin/user/"
        "tokens/{id}\n    match: '500'\n    reason: the store fails on an unknown id\n"
    )
    app = store_variant(DeleteOfUnknownIdFails)()
    with served(app) as url:
        base = ["--base-url", url, *CREDENTIALS, "--checks", "openapi_conformance"]
        status, out, _ = check(capsys, *base)
        assert status == 1
        lines = out.splitlines()
        [at] = [i for i, line in enumerate(lines) if line.startswith("[not_a_server_error")]
        assert lines[at].startswith("[not_a_server_error, status_code_conformance] DELETE")
        reproduce = next(line for line in lines[at:] if "reproduce:" in line)
        command = reproduce.split("reproduce: ", 1)[1]
        assert "${UNLEASH_PAT}" in command and ADMIN_PAT not in out
        assert "Reproduce with $UNLEASH_PAT" in out
        if shutil.which("curl") and shutil.which("sh"):
            env = {**os.environ, "UNLEASH_PAT": ADMIN_PAT}
            ran = subprocess.run(
                ["sh", "-c", command + " -s -o /dev/null -w '%{http_code}'"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert ran.stdout == "500", (command, ran.stderr)
        status, out, _ = check(capsys, *base, "--baseline", str(baseline))
        assert status == 0
        known = [line for line in out.splitlines() if "known: the store fails" in line]
        assert len(known) == 1 and "reproduce" not in out
        status, out, _ = check(capsys, *base, "--baseline", str(baseline), "-v")
        assert "reproduce:" in out and "(known: the store fails" in out


def test_messages_name_the_url_and_the_option_at_fault(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}"
        status, _, err = check(capsys, "--base-url", url, "--token", ADMIN_PAT, *QUICK)
    assert status == 2 and url in err
    with served(create_app()) as url:
        status, _, err = check(capsys, "--base-url", url + "/api", "--token", ADMIN_PAT, *QUICK)
        assert status == 2 and "must be the URL Unleash is served at (without /api)" in err
        status, _, err = check(capsys, "--base-url", url, "--token", "user:" + "0" * 56, *QUICK)
        assert status == 2 and f"--token is not accepted by {url} (401)" in err


def test_credentials_come_from_the_environment_unless_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of the process list: `check --base-url URL` with $UNLEASH_PAT and the others set."""
    monkeypatch.setenv("UNLEASH_PAT", ADMIN_PAT)
    monkeypatch.setenv("UNLEASH_PAT_2", ALICE_PAT)
    monkeypatch.setenv("UNLEASH_ADMIN_TOKEN", ADMIN_API_TOKEN)
    monkeypatch.setenv("UNLEASH_PASSWORD", "unleash4all")
    needing_each = ["--checks", "password_login,cross_user_isolation,admin_token_described"]
    with served(create_app()) as url:
        status, out, err = check(capsys, "--base-url", url, "--username", "admin", *needing_each)
        assert (status, out.count("PASSED"), "NOT RUN" in out) == (0, 3, False), out + err
        monkeypatch.setenv("UNLEASH_PAT", "user:" + "0" * 56)  # a flag wins over its variable
        status, out, err = check(capsys, "--base-url", url, "--token", ADMIN_PAT, *QUICK)
        assert status == 0, out + err
        status, _, err = check(capsys, "--base-url", url, *QUICK)
        assert status == 2 and f"--token is not accepted by {url} (401)" in err


def test_the_pytest_front_end_names_its_own_options(pytester: pytest.Pytester) -> None:
    with refused_port() as port:
        result = pytester.runpytest_subprocess(
            "--pyargs",
            "contract_tests",
            "--unleash-url",
            f"http://127.0.0.1:{port}",
            "-p",
            "no:cacheprovider",
        )
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*--unleash-token is required with --unleash-url*"])


def test_a_version_given_that_the_target_does_not_report_is_noticed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    older = create_app(options=Options(unleash_version="7"))
    with served(older) as url:
        arguments = ["--base-url", url, *CREDENTIALS, *QUICK, "--unleash-version", "8"]
        _, out, _ = check(capsys, *arguments)
    reported = older.state.profile.version
    assert (
        f"notice: --unleash-version 8 checks the rules of Unleash 8.2.0, but the target "
        f"reports Unleash {reported}" in out
    )


def test_read_only_sends_no_method_that_writes(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app()
    with served(app) as url:
        status, out, _ = check(capsys, "--base-url", url, *CREDENTIALS, "--read-only")
    assert status == 0, out
    methods = {entry.method for entry in app.state.journal.entries()}
    assert methods <= {"GET", "HEAD", "OPTIONS"}, methods


def test_a_markdown_summary_is_appended_for_ci_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "summary.md"
    page.write_text("earlier step\n")
    assert check(capsys, *QUICK, "--summary", str(page))[0] == 0
    text = page.read_text()
    assert text.startswith("earlier step\n### unleash-pat check of the mock (in-process)")
    assert "| passed | property | `bad_tokens_rejected` |" in text
