"""`pytest --pyargs contract_tests [--unleash-url URL --unleash-token PAT ...]`: the contract
suite under pytest (its options: pytest_options.py, registered by the installed package).

The same checks as `unleash-pat check`, one test each; without --unleash-url they run against
the mock in-process. PATs the run creates are deleted when the session ends, whatever happened.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests.context import CREDENTIAL_VARIABLES, Settings, with_environment
from contract_tests.pytest_options import OPTION_NAMES
from contract_tests.report import Baseline, BaselineError
from contract_tests.suite import CannotRun, Suite, cleaning_up


@pytest.fixture(scope="session")
def contract_baseline(pytestconfig: pytest.Config, contract_suite: Suite) -> Baseline | None:
    name = pytestconfig.getoption("contract_baseline")
    if not name:
        return None
    try:
        return Baseline.named(contract_suite.ctx.expect.version if name == "auto" else name)
    except BaselineError as exc:
        pytest.exit(f"unleash-pat contract suite cannot run: --unleash-baseline: {exc}", 2)


@pytest.fixture(scope="session")
def contract_suite(pytestconfig: pytest.Config) -> Iterator[Suite]:
    option = pytestconfig.getoption
    credentials = {name: option(f"contract_{name}") for name in CREDENTIAL_VARIABLES}
    if option("contract_base_url"):  # as `unleash-pat check`: out of the process list
        credentials = with_environment(credentials, option("contract_username"))
    try:
        suite = Suite(
            Settings(
                base_url=option("contract_base_url"),
                username=option("contract_username"),
                **credentials,
                profile=option("contract_profile"),
                seed=option("contract_seed"),
                rate_limit=option("contract_rate_limit"),
                read_only=option("contract_read_only"),
                unleash_version=option("contract_unleash_version"),
                option_names=OPTION_NAMES,
            )
        )
        with cleaning_up(suite) as cleanup:
            suite.preflight()
            yield suite
        suite.ctx.api.http.close()
    except CannotRun as exc:
        pytest.exit(f"unleash-pat contract suite cannot run: {exc}", returncode=2)
    if cleanup.left:
        pytest.fail(f"cleanup incomplete: {cleanup.left}")
