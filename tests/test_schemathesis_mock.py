"""A schemathesis pass over openapi.yaml against the mock: every default check, response
validation, derandomized, over 1,000 generated requests, finds nothing."""

from __future__ import annotations

import pytest

from contract_tests.report import Status, summary
from contract_tests.suite import Settings, run_suite
from mock_server import create_app


@pytest.mark.slow
def test_thorough_schemathesis_pass_over_the_contract_finds_nothing_in_the_mock() -> None:
    app = create_app()
    outcome = run_suite(Settings(app=app, profile="thorough", seed=1))
    report = summary(outcome.results, "mock", outcome.suite.budget.sent, outcome.seconds)
    openapi = next(r for r in outcome.results if r.name == "openapi_conformance")
    assert openapi.status is Status.PASSED, report
    assert openapi.requests >= 1_000, report
    assert outcome.conforms, report
