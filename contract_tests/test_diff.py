"""`pytest --pyargs contract_tests --unleash-diff-real URL --unleash-admin-token T`: the mock
compared with a real Unleash on generated traffic (`unleash-pat diff`), each undeclared
difference a failure. Runs when those options are given, or when $UNLEASH_URL and
$UNLEASH_ADMIN_TOKEN are set; skipped otherwise. pytest's `--junit-xml` writes the report."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

# diff's modules load when the test runs, not when pytest collects this file: hypothesis draws
# constants from every module loaded, which would change what derandomized runs generate.
if TYPE_CHECKING:
    from contract_tests.diff.run import DiffOutcome


@pytest.fixture(scope="session")
def diff_outcome(pytestconfig: pytest.Config) -> DiffOutcome:
    from contract_tests.diff.run import CannotRun, DiffSettings, run_diff

    option = pytestconfig.getoption
    real = option("contract_diff_real") or os.environ.get("UNLEASH_URL")
    token = option("contract_admin_token") or os.environ.get("UNLEASH_ADMIN_TOKEN")
    if not real:
        pytest.skip(
            "no real Unleash to compare the mock with (--unleash-diff-real or $UNLEASH_URL)"
        )
    if not token:
        pytest.fail("diff needs an admin API token: --unleash-admin-token or $UNLEASH_ADMIN_TOKEN")
    try:
        return run_diff(
            DiffSettings(
                real=real.rstrip("/"),
                admin_token=token,
                budget=option("contract_diff_budget"),
                seed=option("contract_diff_seed"),
                known=option("contract_diff_known"),
            )
        )
    except CannotRun as exc:
        pytest.fail(f"unleash-pat diff cannot run: {exc}", pytrace=False)


def test_the_mock_answers_as_the_real_unleash(diff_outcome: DiffOutcome) -> None:
    from contract_tests.diff.findings import render_group

    outcome = diff_outcome
    problems = []
    if outcome.interrupted_by is not None:
        problems.append(f"interrupted by {outcome.interrupted_by.name}")
    if outcome.left:
        problems.append("cleanup incomplete:\n  " + "\n  ".join(outcome.left))
    undeclared = [
        render_group(number, group, outcome.redact, verbose=False)
        for number, group in enumerate(outcome.groups, 1)
        if group.known is None
    ]
    if undeclared:
        problems.append(
            f"{len(undeclared)} undeclared groups of differences (seed {outcome.seed}):\n\n"
            + "\n\n".join(undeclared)
        )
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
