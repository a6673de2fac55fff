"""Layer 1: schemathesis over openapi.yaml, every phase (examples, coverage, fuzzing, stateful
through the spec's links), all built-in checks that apply, plus Unleash's own rules.

Hooks keep the run safe on a real deployment: created PATs get the run's description prefix and
are recorded at once; a DELETE never targets a PAT the run did not create; old PATs of the run
are deleted before a create would otherwise always meet the 10-PAT limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig

from contract_tests import _compat
from contract_tests.api import curl
from contract_tests.context import ANY_SECRET, TIMESTAMP, Context
from contract_tests.registry import Layer, check
from contract_tests.report import Finding
from contract_tests.units.base import Guard

# schemathesis' built-in checks Unleash contradicts on purpose, with the reason.
DISABLED_CHECKS = {
    "unsupported_method": "Unleash answers an unrouted method with 404 NotFoundError, not 405",
}


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
    if _operation_id(case.operation) == "createPat" and response.status_code == 201:
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


def coercion_filter(document: dict[str, Any]) -> Callable[[Any, Any, Any, Any], bool]:
    """A schemathesis `filter_failure` hook that keeps a failure unless it is Unleash's
    deliberate type coercion: Ajv's `coerceTypes` accepts a number or boolean where the body's
    schema says string, and stores it as a string (documented in the contract)."""

    def resolved(schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            *_, name = schema["$ref"].split("/")
            schema = document["components"]["schemas"][name]
        return schema

    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        if type(failure).__name__ != "AcceptedNegativeData" or response.status_code >= 300:
            return True
        body = case.body if isinstance(case.body, dict) else {}
        declared = resolved(case.operation.body[0].definition.get("schema")) if body else {}
        strings = {
            name
            for name, sub in resolved(declared).get("properties", {}).items()
            if resolved(sub).get("type") == "string"
        }
        coerced = any(isinstance(body.get(name), bool | int | float) for name in strings)
        return not coerced

    return filter_failure


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
    disabled = DISABLED_CHECKS
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
        # One operation, no links, and no other method sent to its paths: nothing that writes.
        config["phases"] = {
            "stateful": {"enabled": False},
            "coverage": {"unexpected-methods": []},
        }
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
    """The hooks that keep layer 1 inside the run, for one schema: each operation's guard from
    the run's units (prepare the request, record what it created), and the run's budget."""

    def __init__(self, ctx: Context, schema: Any) -> None:
        self.ctx = ctx
        self.schema = schema
        self.guards: dict[str, Guard] = {}
        for unit in ctx.units:
            self.guards.update(unit.guards(ctx))

    # schemathesis has `before_call` only as a process-wide hook: it sees every schema's cases.
    def before_call(self, case: Any) -> None:
        guard = self._guard(case)
        if guard is not None and guard.prepare is not None:
            guard.prepare(self.ctx, case)

    def after_call(self, case: Any, response: Any) -> None:
        self.ctx.budget.sent += 1
        guard = self._guard(case)
        if guard is not None and guard.record is not None:
            guard.record(self.ctx, case, response)

    def _guard(self, case: Any) -> Guard | None:
        if case.operation.schema is not self.schema:
            return None
        return self.guards.get(_operation_id(case.operation))

    def unguarded(self, operation: Any) -> bool:
        """An operation no unit keeps inside the run: never sent to a deployment."""
        return _operation_id(operation) not in self.guards


def _operation_id(operation: Any) -> str:
    return str(operation.definition.raw.get("operationId", ""))


@check(Layer.OPENAPI)
def openapi_conformance(ctx: Context) -> list[Finding]:
    """Every distinct (check, operation, failure) schemathesis finds, in one result."""
    document = ctx.expect.contract()
    schema = schemathesis.openapi.from_dict(document, config=_config(ctx))
    if ctx.settings.read_only:
        schema = schema.include(method="GET")  # the operations that write nothing
    if ctx.app is not None:
        schema.app = ctx.app
    guard = _Guard(ctx, schema)
    if ctx.app is None:
        schema = schema.exclude(func=lambda context: guard.unguarded(context.operation))
        guard.schema = schema
    schema.hook("filter_failure")(coercion_filter(document))
    # Plain functions: schemathesis marks a hook with attributes, which a bound method refuses.
    schema.hook("after_call")(lambda context, case, response: guard.after_call(case, response))
    findings: dict[tuple[str, ...], Finding] = {}
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


def _collect(ctx: Context, recorder: Any, findings: dict[tuple[str, ...], Finding]) -> None:
    """One finding per request that broke rules (a 500 breaks not_a_server_error and
    status_code_conformance at once), and one per distinct (rules, operation, failure)."""
    by_case: dict[str, list[tuple[str, Any, Any]]] = {}
    for name, case_id, case, failure in _compat.failures(recorder):
        by_case.setdefault(case_id, []).append((name, case, failure))
    for case_id, failed in by_case.items():
        names = tuple(dict.fromkeys(name for name, _, _ in failed))
        _, case, failure = failed[0]
        operation = f"{case.method.upper()} {case.path}"
        key = (*names, operation, failure.title)
        if key in findings:
            continue
        sent = _compat.exchange(recorder, case_id)
        message = ctx.redact(f"{failure.title}: {failure.message}".strip())
        if sent is None:
            findings[key] = Finding(names[0], operation, message, also=names[1:])
            continue
        body = sent.body.decode("utf-8", "backslashreplace")
        findings[key] = Finding(
            names[0],
            operation,
            message,
            ctx.redact(f"{sent.method} {sent.url}" + (f"\n{body}" if body else "")),
            curl(sent.method, sent.url, sent.headers, sent.body, ctx.redact),
            ctx.redact(f"{sent.status} {sent.text[:500]}"),
            also=names[1:],
        )
