"""`pytest contract_tests [--base-url URL --token PAT ...]`: the contract suite under pytest.

The same checks as `unleash-pat check`, one test each; without --base-url they run against the
mock in-process. PATs the run creates are deleted when the session ends, whatever happened.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests.context import Settings
from contract_tests.report import Baseline
from contract_tests.suite import CannotRun, Suite, cleaning_up


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("unleash-pat contract suite")
    group.addoption("--base-url", dest="contract_base_url", help="the Unleash to check")
    group.addoption("--token", dest="contract_token", help="a user's PAT")
    group.addoption("--token-2", dest="contract_token_2", help="a second user's PAT")
    group.addoption("--admin-token", dest="contract_admin_token", help="an admin API token")
    group.addoption("--profile", dest="contract_profile", default="ci", choices=["ci", "thorough"])
    group.addoption("--seed", dest="contract_seed", type=int)
    group.addoption("--rate-limit", dest="contract_rate_limit", type=float)
    group.addoption("--baseline", dest="contract_baseline", help="known defects (YAML)")
    group.addoption("--read-only", dest="contract_read_only", action="store_true")


@pytest.fixture(scope="session")
def contract_baseline(pytestconfig: pytest.Config) -> Baseline | None:
    path = pytestconfig.getoption("contract_baseline")
    return Baseline.load(path) if path else None


@pytest.fixture(scope="session")
def contract_suite(pytestconfig: pytest.Config) -> Iterator[Suite]:
    option = pytestconfig.getoption
    try:
        suite = Suite(
            Settings(
                base_url=option("contract_base_url"),
                token=option("contract_token"),
                token_2=option("contract_token_2"),
                admin_token=option("contract_admin_token"),
                profile=option("contract_profile"),
                seed=option("contract_seed"),
                rate_limit=option("contract_rate_limit"),
                read_only=option("contract_read_only"),
            )
        )
        with cleaning_up(suite) as cleanup:
            suite.preflight()
            yield suite
    except CannotRun as exc:
        pytest.exit(f"unleash-pat contract suite cannot run: {exc}", returncode=2)
    if cleanup.left:
        pytest.fail(f"cleanup incomplete: {cleanup.left}")
