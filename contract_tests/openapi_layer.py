"""Layer 1: schemathesis over openapi.yaml, every phase (examples, coverage, fuzzing, stateful
through the spec's links), all built-in checks that apply, plus Unleash's own rules.

Hooks keep the run safe on a real deployment: created PATs get the run's description prefix and
are recorded at once; a DELETE never targets a PAT the run did not create; old PATs of the run
are deleted before a create would otherwise always meet the 10-PAT limit.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from contract_tests.report import Finding
from contract_tests.suite import CHECKS, PAT_LIMIT, Check, Suite
from mock_server.app import SPEC_PATH
from mock_server.validation import is_date_time, js_number, parse_date_time

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SECRET = re.compile(r"^user:[0-9a-f]{56}$")
ANY_SECRET = re.compile(r"user:[0-9a-f]{56}")
SAFE_ID = 2_147_483_647  # the largest id Unleash accepts; no deployment reaches it
ERROR_STATUSES_WITHOUT_JSON = {429}  # express-rate-limit's plain text answer

# Built-in checks that contradict what Unleash deliberately does, with the reason.
DISABLED_CHECKS = {
    "unsupported_method": "Unleash answers an unrouted method with 404 NotFoundError, not 405",
}


# -- Unleash's own rules, as schemathesis checks -------------------------------------------------
def _json(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@schemathesis.check
def unleash_error_shape(ctx: schemathesis.CheckContext, response: Any, case: Any) -> None:
    """Every error is JSON: `{message}` from the body parser, otherwise `{name, message,
    details: [{message}, ...]}`; never an HTML page or a bare string."""
    if response.status_code < 400 or response.status_code in ERROR_STATUSES_WITHOUT_JSON:
        return
    body = _json(response)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        raise AssertionError(f"{response.status_code} error body is not a JSON object with message")
    if set(body) == {"message"}:
        return
    details = body.get("details")
    if not isinstance(body.get("name"), str) or not isinstance(details, list) or not details:
        raise AssertionError("error body lacks name or a non-empty details list")
    if not all(isinstance(d, dict) and isinstance(d.get("message"), str) for d in details):
        raise AssertionError("an error detail lacks its message")


@schemathesis.check
def timestamp_format(ctx: schemathesis.CheckContext, response: Any, case: Any) -> None:
    """createdAt, expiresAt and seenAt are always UTC `YYYY-MM-DDTHH:mm:ss.sssZ`."""
    body = _json(response) if response.status_code < 300 else None
    items = body.get("pats", [body]) if isinstance(body, dict) else []
    for item in items if isinstance(items, list) else []:
        for key in ("createdAt", "expiresAt", "seenAt"):
            value = item.get(key) if isinstance(item, dict) else None
            if value is not None and not (isinstance(value, str) and TIMESTAMP.match(value)):
                raise AssertionError(f"{key} {value!r} is not YYYY-MM-DDTHH:mm:ss.sssZ")


@schemathesis.check
def secret_placement(ctx: schemathesis.CheckContext, response: Any, case: Any) -> None:
    """A secret `user:<56 hex>` is in the 201 of a create, and in no other response; a listed
    PAT has no `secret` at all."""
    body = _json(response) if response.status_code < 300 else None
    if case.method.upper() == "POST" and response.status_code == 201:
        secret = body.get("secret") if isinstance(body, dict) else None
        if not (isinstance(secret, str) and SECRET.match(secret)):
            raise AssertionError(f"the 201 secret {str(secret)[:9]!r}… is not user:<56 hex>")
        return
    listed = body.get("pats") if isinstance(body, dict) else None
    if isinstance(listed, list) and any(isinstance(p, dict) and "secret" in p for p in listed):
        raise AssertionError("a listed PAT carries a secret")
    if ANY_SECRET.search(response.text or ""):
        raise AssertionError("a secret appears outside the 201 of a create")


def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep a failure unless it is Unleash's deliberate type coercion: Ajv's `coerceTypes`
    stores a number or boolean description as a string (201), documented in the contract."""
    body = case.body if isinstance(case.body, dict) else {}
    description = body.get("description")
    coerced = isinstance(description, bool | int | float) and response.status_code == 201
    return not (type(failure).__name__ == "AcceptedNegativeData" and coerced)


# -- the run --------------------------------------------------------------------------------
def _config(suite: Suite) -> SchemathesisConfig:
    profile, settings = suite.profile, suite.settings
    generation: dict[str, Any] = {
        "mode": "all",  # valid and invalid requests
        "max-examples": profile.examples,
        "no-shrink": not profile.shrink,
        "database": "none",
    }
    if settings.seed is None:
        generation["deterministic"] = True
    config: dict[str, Any] = {
        "generation": generation,
        "headers": {"Authorization": suite.token},
        "checks": {"enabled": True, **{name: {"enabled": False} for name in DISABLED_CHECKS}},
        "rate-limit": _rate(settings.rate_limit),
        "request-timeout": 15,
        "continue-on-failure": True,
        "suppress-health-check": ["all"],
    }
    if settings.seed is not None:
        config["seed"] = settings.seed
    if suite.app is None:
        config["base-url"] = suite.target
    return SchemathesisConfig.from_dict(config)


def _rate(per_second: float | None) -> str:
    """schemathesis takes whole requests per unit; "auto" honours 429 + Retry-After."""
    if not per_second:
        return "auto"
    return f"{round(per_second)}/s" if per_second >= 1 else f"{max(1, round(per_second * 60))}/m"


class _Guard:
    """The hooks that keep layer 1 inside the run's PATs and budget."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.protected = frozenset().union(*(c.foreign_ids for c in suite.callers))
        # Keep one slot free, so creates test the rules rather than always meeting the limit.
        self.room = PAT_LIMIT - len(suite.callers[0].foreign_ids) - 1
        self.live: list[int] = []

    def before_call(self, case: Any) -> None:
        if case.method.upper() == "POST" and isinstance(case.body, dict):
            self._make_room()
            description = case.body.get("description")
            if isinstance(description, str):
                case.body["description"] = self.suite.prefix + description
            elif self.suite.app is None and isinstance(description, bool | int | float):
                # On a deployment every PAT the run may create carries the prefix, so that
                # cleanup finds it even when an interrupt loses its 201; coercion of such
                # descriptions is still exercised against the in-process mock.
                case.body["description"] = self.suite.prefix + json.dumps(description)
            expires = case.body.get("expiresAt")
            # A past expiry is a service 400 by design (checked by layers 2 and 3); keep
            # schema-valid bodies valid so positive_data_acceptance keeps its meaning.
            if (
                isinstance(expires, str)
                and is_date_time(expires)
                and parse_date_time(expires) < datetime.now(UTC) + timedelta(minutes=5)
            ):
                case.body["expiresAt"] = "2999-01-01T00:00:00.000Z"
        if case.method.upper() == "DELETE" and self._protected(case.path_parameters or {}):
            case.path_parameters["id"] = SAFE_ID

    def after_call(self, case: Any, response: Any) -> None:
        self.suite.budget.sent += 1
        if case.method.upper() == "POST" and response.status_code == 201:
            before = set(self.suite.created)
            self.suite.track(self.suite.token, response)
            self.live += sorted(set(self.suite.created) - before)

    def _protected(self, params: dict[str, Any]) -> bool:
        raw = params.get("id")
        # Unleash coerces the id like JavaScript's Number(): "0x2", " 2", "2.0" all mean 2.
        number = js_number(raw) if isinstance(raw, str) else raw
        return (
            isinstance(number, int | float)
            and not isinstance(number, bool)
            and math.isfinite(number)
            and int(number) == number
            and int(number) in self.protected
        )

    def _make_room(self) -> None:
        if len(self.live) >= self.room:
            for pat_id in self.live:
                self.suite.api.delete(self.suite.token, pat_id)
            self.live.clear()


# before_call and after_call exist only as global hooks: they find the guard by the case's schema.
_GUARDS: dict[int, _Guard] = {}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    guard = _GUARDS.get(id(case.operation.schema))
    if guard is not None:
        guard.before_call(case)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    guard = _GUARDS.get(id(case.operation.schema))
    if guard is not None:
        guard.after_call(case, response)


def openapi_conformance(suite: Suite) -> list[Finding]:
    """Every distinct (check, operation, failure) schemathesis finds, in one result."""
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=_config(suite))
    if suite.settings.read_only:
        schema = schema.include(operation_id="getPats")  # the one operation that writes nothing
    if suite.app is not None:
        schema.app = suite.app
    guard = _Guard(suite)
    schema.hook(filter_failure)
    _GUARDS[id(schema)] = guard
    findings: dict[tuple[str, str, str], Finding] = {}
    stream = from_schema(schema).execute()
    try:
        for event in stream:
            # Not schemathesis' max-time: with it, the engine repeats its phases until then.
            if (
                suite.budget.remaining_seconds() == 0
                or suite.budget.sent >= suite.budget.max_requests
            ):
                stream.stop()
            if isinstance(event, events.ScenarioFinished):
                _collect(suite, event.recorder, findings)
            elif isinstance(event, events.FatalError):
                raise event.exception
            elif isinstance(event, events.Interrupted):
                raise KeyboardInterrupt  # the engine swallowed Ctrl-C or SIGTERM: stop the run
    finally:
        stream.stop()
        del _GUARDS[id(schema)]
    return list(findings.values())


def _collect(suite: Suite, recorder: Any, findings: dict[tuple[str, str, str], Finding]) -> None:
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.failure_info is None:
                continue
            case = recorder.cases[case_id].value
            operation = f"{case.method.upper()} {case.path}"
            failure = node.failure_info.failure
            key = (node.name, operation, failure.title)
            if key in findings:
                continue
            interaction = recorder.interactions.get(case_id)
            response = ""
            request = f"{case.method.upper()} {case.formatted_path}"
            if interaction is not None:
                request = f"{interaction.request.method} {interaction.request.uri}"
                if interaction.request.body:
                    request += "\n" + interaction.request.body.decode("utf-8", "backslashreplace")
                if interaction.response is not None:
                    text = interaction.response.content.decode("utf-8", "backslashreplace")
                    response = f"{interaction.response.status_code} {text[:500]}"
            findings[key] = Finding(
                node.name,
                operation,
                suite.redact(f"{failure.title}: {failure.message}".strip()),
                suite.redact(request),
                suite.redact(node.failure_info.code_sample),
                suite.redact(response),
            )


CHECKS.append(Check("openapi_conformance", "openapi", openapi_conformance))
