"""schemathesis against the control API's own OpenAPI document (`GET
/_unleash-pat/openapi.json`), every check, on an in-process mock: document and behaviour
agree."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from starlette.testclient import TestClient

from contract_tests import _compat
from mock_server import create_app

EXAMPLES = 100  # per operation and phase: some 15 s (300, under other seeds too: clean)


def _run(app: Any) -> tuple[list[str], int]:
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
            "checks": {"enabled": True},
            # Rules the document states in words, which a schema cannot: the clock stays within
            # 1970-9998, a delay range's min is at most its max, fixtures hold no duplicates
            # and no more PATs than the release allows. Data valid by the schema alone may meet
            # them: a 400 saying which is an answer the document gives.
            "operations": [
                {
                    "include-operation-id": operation,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "409"]}
                    },
                }
                for operation in ("put_clock", "advance_clock", "add_fault", "load_fixtures")
            ],
            "seed": 1,
            "suppress-health-check": ["all"],
        }
    )
    with TestClient(app) as client:
        document = client.get("/_unleash-pat/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.app = app
    found: dict[tuple[str, str, str], str] = {}
    cases = 0
    stream = _compat.from_schema(schema).execute()
    try:
        for event in stream:
            if isinstance(event, _compat.ScenarioFinished):
                cases += len(event.recorder.cases)
                for name, case_id, case, failure, _ in _compat.failures(event.recorder):
                    key = (name, f"{case.method.upper()} {case.path}", failure.title)
                    exchange = _compat.exchange(event.recorder, case_id) or ("", "")
                    found.setdefault(
                        key, f"{key}: {failure.message}\n  {exchange[0]}\n  {exchange[1]}"
                    )
            elif isinstance(event, _compat.FatalError):
                raise event.exception
            elif isinstance(event, _compat.NonFatalError):
                found.setdefault(("error", event.label, ""), f"{event.label}: {event.value!r}")
    finally:
        stream.stop()
    return sorted(found.values()), cases


def test_schemathesis_finds_nothing_against_the_control_api_s_own_document():
    app = create_app()
    failures, cases = _run(app)
    assert cases > 100
    assert not failures, "\n".join(failures)
