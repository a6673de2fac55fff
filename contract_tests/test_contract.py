"""One test per contract check; see conftest.py for the options."""

from __future__ import annotations

import pytest

from contract_tests.registry import Check, discover
from contract_tests.report import Baseline, Status
from contract_tests.suite import Suite


@pytest.mark.parametrize("check", discover(), ids=lambda c: f"{c.layer.value}:{c.name}")
def test_target_honours_the_contract(
    contract_suite: Suite, contract_baseline: Baseline | None, check: Check
) -> None:
    result = contract_suite.run_check(check, contract_baseline)
    if result.status is Status.NOT_RUN:
        pytest.skip(f"not run: {result.reason}")
    report = "\n\n".join(f.render() for f in result.findings)
    if result.status is Status.KNOWN:
        pytest.xfail(f"only defects the baseline lists:\n{report}")
    if result.status is Status.FAILED:
        pytest.fail(report, pytrace=False)
