"""Layer 1: schemathesis over openapi.yaml, every phase (examples, coverage, fuzzing, stateful
through the spec's links), all built-in checks that apply, plus Unleash's own rules.

Hooks keep the run safe on a real deployment: created PATs get the run's description prefix and
are recorded at once; a DELETE never targets a PAT the run did not create; old PATs of the run
are deleted before a create would otherwise always meet the 10-PAT limit.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig

from contract_tests import _compat
from contract_tests.context import ANY_SECRET, FAR, TIMESTAMP, Context
from contract_tests.oracles import is_date_time, js_number, stored_ms
from contract_tests.registry import Layer, check
from contract_tests.report import Finding

EARLIEST_EXPIRY_MS = 5 * 60 * 1000  # a valid expiry closer than this may be past on arrival


# -- Unleash's own rules, as schemathesis checks (registered only while the suite's run lasts) --
def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def unleash_error_shape(run: Context, response: Any, case: Any) -> None:
    """Every error is JSON: `{message}` from the body parser, otherwise `{name, message,
    details: [{message}, ...]}`; never an HTML page or a bare string."""
    if response.status_code < 400 or response.status_code in run.expect.statuses_without_json:
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


def timestamp_format(run: Context, response: Any, case: Any) -> None:
    """createdAt, expiresAt and seenAt are always UTC `YYYY-MM-DDTHH:mm:ss.sssZ`."""
    body = _json(response) if response.status_code < 300 else None
    items = body.get("pats", [body]) if isinstance(body, dict) else []
    for item in items if isinstance(items, list) else []:
        for key in ("createdAt", "expiresAt", "seenAt"):
            value = item.get(key) if isinstance(item, dict) else None
            if value is not None and not (isinstance(value, str) and TIMESTAMP.match(value)):
                raise AssertionError(f"{key} {value!r} is not YYYY-MM-DDTHH:mm:ss.sssZ")


def secret_placement(run: Context, response: Any, case: Any) -> None:
    """A secret in a format of the version (`user:<56 hex>`, 8.2.0 also `user:v2_…`) is in the
    201 of a create, and in no other response; a listed PAT has no `secret` at all."""
    body = _json(response) if response.status_code < 300 else None
    if case.method.upper() == "POST" and response.status_code == 201:
        secret = body.get("secret") if isinstance(body, dict) else None
        if not run.expect.is_secret(secret):
            raise AssertionError(f"the 201 secret {str(secret)[:9]!r}… has no known format")
        return
    listed = body.get("pats") if isinstance(body, dict) else None
    if isinstance(listed, list) and any(isinstance(p, dict) and "secret" in p for p in listed):
        raise AssertionError("a listed PAT carries a secret")
    if ANY_SECRET.search(response.text or ""):
        raise AssertionError("a secret appears outside the 201 of a create")


UNLEASH_RULES = (unleash_error_shape, timestamp_format, secret_placement)


def _only_for(schema: Any, run: Context, rule: Callable[[Context, Any, Any], None]) -> Any:
    """`rule` as a schemathesis check (same name) that judges the cases of `schema` only."""

    @functools.wraps(rule)
    def schemathesis_check(ctx: Any, response: Any, case: Any) -> None:
        if case.operation.schema is schema:
            rule(run, response, case)

    return schemathesis_check


def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep a failure unless it is Unleash's deliberate type coercion: Ajv's `coerceTypes`
    stores a number or boolean description as a string (201), documented in the contract."""
    body = case.body if isinstance(case.body, dict) else {}
    description = body.get("description")
    coerced = isinstance(description, bool | int | float) and response.status_code == 201
    return not (type(failure).__name__ == "AcceptedNegativeData" and coerced)


# -- the run --------------------------------------------------------------------------------
def _config(ctx: Context) -> SchemathesisConfig:
    profile, settings = ctx.profile, ctx.settings
    generation: dict[str, Any] = {
        "mode": "all",  # valid and invalid requests
        "max-examples": profile.examples,
        "no-shrink": not profile.shrink,
        "database": "none",
    }
    if settings.seed is None:
        generation["deterministic"] = True
    disabled = ctx.expect.disabled_schemathesis_checks
    config: dict[str, Any] = {
        "generation": generation,
        "headers": {"Authorization": ctx.token},
        "checks": {"enabled": True, **{name: {"enabled": False} for name in disabled}},
        "rate-limit": _rate(settings.rate_limit),
        "request-timeout": 15,
        "continue-on-failure": True,
        "suppress-health-check": ["all"],
    }
    if settings.read_only:
        # One operation, no links between operations: nothing to test statefully.
        config["phases"] = {"stateful": {"enabled": False}}
    if settings.seed is not None:
        config["seed"] = settings.seed
    if ctx.app is None:
        config["base-url"] = ctx.target
    return SchemathesisConfig.from_dict(config)


def _rate(per_second: float | None) -> str:
    """schemathesis takes whole requests per unit; "auto" honours 429 + Retry-After."""
    if not per_second:
        return "auto"
    return f"{round(per_second)}/s" if per_second >= 1 else f"{max(1, round(per_second * 60))}/m"


class _Guard:
    """The hooks that keep layer 1 inside the run's PATs and budget, for one schema."""

    def __init__(self, ctx: Context, schema: Any) -> None:
        self.ctx = ctx
        self.schema = schema
        self.protected = frozenset().union(*(c.foreign_ids for c in ctx.callers))
        # Keep one slot free, so creates test the rules rather than always meeting the limit.
        self.room = ctx.expect.pat_limit - len(ctx.callers[0].foreign_ids) - 1
        self.live: list[int] = []

    # schemathesis has `before_call` only as a process-wide hook: it sees every schema's cases.
    def before_call(self, case: Any) -> None:
        if case.operation.schema is not self.schema:
            return
        if case.method.upper() == "POST" and isinstance(case.body, dict):
            self._make_room()
            description = case.body.get("description")
            if isinstance(description, str):
                case.body["description"] = self.ctx.prefix + description
            elif self.ctx.app is None and isinstance(description, bool | int | float):
                # On a deployment every PAT the run may create carries the prefix, so that
                # cleanup finds it even when an interrupt loses its 201; coercion of such
                # descriptions is still exercised against the in-process mock.
                case.body["description"] = self.ctx.prefix + json.dumps(description)
            expires = case.body.get("expiresAt")
            # A past expiry is a service 400 by design (checked by layers 2 and 3), one that
            # PostgreSQL cannot store a known 500; keep schema-valid bodies valid and storable
            # so that positive_data_acceptance keeps its meaning.
            if isinstance(expires, str) and is_date_time(expires):
                stored = stored_ms(expires)
                if stored is None or stored < time.time() * 1000 + EARLIEST_EXPIRY_MS:
                    case.body["expiresAt"] = FAR
        if case.method.upper() == "DELETE" and self._protected(case.path_parameters or {}):
            case.path_parameters["id"] = self.ctx.expect.max_id

    def after_call(self, case: Any, response: Any) -> None:
        self.ctx.budget.sent += 1
        if case.method.upper() == "POST" and response.status_code == 201:
            before = set(self.ctx.created)
            self.ctx.track(self.ctx.token, response)
            self.live += sorted(set(self.ctx.created) - before)

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
                self.ctx.api.delete(self.ctx.token, pat_id)
            self.live.clear()


@check(Layer.OPENAPI)
def openapi_conformance(ctx: Context) -> list[Finding]:
    """Every distinct (check, operation, failure) schemathesis finds, in one result."""
    schema = schemathesis.openapi.from_dict(ctx.expect.contract(), config=_config(ctx))
    if ctx.settings.read_only:
        schema = schema.include(operation_id="getPats")  # the one operation that writes nothing
    if ctx.app is not None:
        schema.app = ctx.app
    guard = _Guard(ctx, schema)
    schema.hook(filter_failure)
    # Plain functions: schemathesis marks a hook with attributes, which a bound method refuses.
    schema.hook("after_call")(lambda context, case, response: guard.after_call(case, response))
    findings: dict[tuple[str, str, str], Finding] = {}
    rules = [_only_for(schema, ctx, rule) for rule in UNLEASH_RULES]
    before_call = lambda context, case, kwargs: guard.before_call(case)  # noqa: E731
    with _compat.scoped(rules, {"before_call": before_call}):
        stream = _compat.from_schema(schema).execute()
        try:
            for event in stream:
                ctx.budget.check_interrupted()  # schemathesis' requests do not pass spend()
                # Not schemathesis' max-time: with it, the engine repeats its phases until then.
                if (
                    ctx.budget.remaining_seconds() == 0
                    or ctx.budget.sent >= ctx.budget.max_requests
                ):
                    stream.stop()
                if isinstance(event, _compat.ScenarioFinished):
                    _collect(ctx, event.recorder, findings)
                elif isinstance(event, _compat.FatalError):
                    raise event.exception
                elif isinstance(event, _compat.NonFatalError):
                    # Cut an operation's run short (a hook or a request that failed): say so,
                    # rather than pass on what was not tested.
                    error = f"{type(event.value).__name__}: {event.value}"
                    key = ("openapi_conformance", event.label, error)
                    message = ctx.redact(f"schemathesis could not go on: {error}")
                    findings.setdefault(key, Finding(key[0], event.label, message))
                elif isinstance(event, _compat.Interrupted):
                    raise KeyboardInterrupt  # the engine swallowed Ctrl-C or SIGTERM: stop
        finally:
            stream.stop()
    return list(findings.values())


def _collect(ctx: Context, recorder: Any, findings: dict[tuple[str, str, str], Finding]) -> None:
    for name, case_id, case, failure, code_sample in _compat.failures(recorder):
        operation = f"{case.method.upper()} {case.path}"
        key = (name, operation, failure.title)
        if key in findings:
            continue
        request, response = _compat.exchange(recorder, case_id) or (
            f"{case.method.upper()} {case.formatted_path}",
            "",
        )
        findings[key] = Finding(
            name,
            operation,
            ctx.redact(f"{failure.title}: {failure.message}".strip()),
            ctx.redact(request),
            ctx.redact(code_sample),
            ctx.redact(response),
        )
