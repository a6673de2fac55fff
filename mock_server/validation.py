"""Request validation as Unleash does it: Ajv 8 with `coerceTypes: true` and ajv-formats, stopping
at the first error, reported in Unleash's words.

Unleash validates one object `{params, query, body}` against the operation's schema, so path
parameters are checked before the body, and coerced values (`123` -> `"123"`, `"1e3"` -> 1000)
reach the handler. The schemas come from openapi.yaml through connexion.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from mock_server import node_json
from mock_server._compat import (
    AbstractOperation,
    AbstractRequestBodyValidator,
    ParameterValidator,
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
    operation_of,
    validator_map,
)
from mock_server.body_parser import BODY_KEY, is_json, is_json_strictly
from mock_server.errors import ContentTypeError, SchemaError, Violation

_MISSING = object()
JSON = "application/json"

# Unleash's Ajv checks "date-time" with ajv-formats 2.1.1, which is looser than RFC 3339: the
# time zone is optional (a bug there), `23:59:60` passes at any offset, offsets are not
# range-checked. Its regexes are JavaScript's: `\d` is ASCII only (full-width or Arabic-Indic
# digits are refused), `\s` is ECMAScript white space. PostgreSQL then reads the string (no
# zone: UTC, the server's zone).
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(z|([+-])([0-9]{2})(?::?([0-9]{2}))?)?", re.I
)
_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
_JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_SEPARATOR = re.compile(f"[tT{_JS_WHITESPACE}]")
# The separators PostgreSQL's date/time reader takes (C `isspace`, and `T`): with any other
# (U+00A0, U+2003, ...) real 8.2.0 answers 500 with the SQL; the mock answers 400.
_PG_SEPARATORS = frozenset("tT \t\n\v\f\r")
_PG_MAX_OFFSET = timedelta(hours=15, minutes=59)
# StringNumericLiteral. Possessive quantifiers: no backtracking, so linear in the input.
_JS_DECIMAL = re.compile(
    r"[+-]?+(?:Infinity|(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+)"
)
_JS_NON_DECIMAL = {
    "x": (re.compile(r"[0-9a-fA-F]++"), 16),
    "o": (re.compile(r"[0-7]++"), 8),
    "b": (re.compile(r"[01]++"), 2),
}


def is_date_time(value: str) -> bool:
    """ajv-formats 2.1.1's "date-time"."""
    parts = _SEPARATOR.split(value)
    if len(parts) != 2:
        return False
    m, t = _DATE.fullmatch(parts[0]), _TIME.fullmatch(parts[1])
    if not m or not t:
        return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= month <= 12 and 1 <= day <= (29 if month == 2 and leap else _DAYS[month])):
        return False
    hr, mi, sec = int(t[1]), int(t[2]), int(t[3])
    return (hr <= 23 and mi <= 59 and sec <= 59) or (hr, mi, sec) == (23, 59, 60)


def parse_date_time(value: str) -> datetime | None:
    """The instant PostgreSQL stores for a valid date-time (microseconds, a leap second rolling
    over), or None where real Unleash fails with a 500 (PostgreSQL cannot read it: a separator
    other than its own, offset minutes past 59 or an offset beyond ±15:59, a leap second with a
    fraction) or answers what a Python datetime cannot hold (a year past 9999 once in UTC: real
    8.2.0 answers 201 with `+010000-…`; the mock refuses it, the safe direction)."""
    date, time = _SEPARATOR.split(value)
    t = _TIME.fullmatch(time)
    assert t is not None
    if value[len(date)] not in _PG_SEPARATORS:
        return None
    year = int(date[:4])
    micro = round(float("0" + (t[4] or ".0")) * 1_000_000)
    if int(t[3]) == 60 and micro:
        return None  # PostgreSQL: "date/time field value out of range"
    offset = timedelta()
    if t[5] and t[5].lower() != "z":
        if int(t[8] or 0) > 59:
            return None  # PostgreSQL: "time zone displacement out of range"
        offset = timedelta(hours=int(t[7]), minutes=int(t[8] or 0))
        if offset > _PG_MAX_OFFSET:
            return None
        offset = -offset if t[6] == "-" else offset
    if year == 0:  # year 0 is long past: Unleash's past-expiry check rejects it
        return datetime.min.replace(tzinfo=UTC)
    try:
        base = datetime.fromisoformat(f"{date}T{t[1]}:{t[2]}:00+00:00")
        return base + timedelta(seconds=int(t[3]), microseconds=micro) - offset
    except OverflowError:
        return None


def js_number(text: str) -> float:
    """ECMAScript `Number(text)` for the strings a URL can carry."""
    s = text.strip(_JS_WHITESPACE)
    if not s:
        return 0.0
    if s[:1] == "0" and (radix := _JS_NON_DECIMAL.get(s[1:2].lower())):
        digits, base = radix
        if not digits.fullmatch(s, 2):
            return math.nan
        # Over 1,100 significant digits is at least 2**1100 in any of these bases: past the
        # largest double, which V8 rounds to Infinity.
        significant = s[2:].lstrip("0")
        try:
            return math.inf if len(significant) > 1100 else float(int(significant or "0", base))
        except OverflowError:
            return math.inf
    if _JS_DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))  # float() has no digit limit
    return math.nan


def _coerce(value: Any, kind: str) -> Any:
    """Ajv's coerceTypes for one scalar type; returns _MISSING when it cannot coerce."""
    if kind == "string":
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return node_json.number_to_string(value)
    elif kind in ("number", "integer"):
        if isinstance(value, bool) or value is None:
            return int(bool(value))
        if isinstance(value, str) and value:
            number = js_number(value)
            # Ajv's `!(data % 1)` holds for Infinity too (NaN is falsy).
            if not math.isnan(number) and (
                kind == "number" or not math.isfinite(number) or number % 1 == 0
            ):
                return int(number) if math.isfinite(number) and number % 1 == 0 else number
    return _MISSING


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return kind == "number" or (isinstance(value, int) or value % 1 == 0)


def _error(path: str, message: str, value: Any) -> Violation:
    try:
        sent = node_json.stringify(value)
    except RecursionError:
        sent = "[value too large or deeply nested to display]"
    return Violation(path, message, sent)


def check(schema: dict[str, Any], value: Any, path: str) -> tuple[Any, Violation | None]:
    """Validate `value` (at JSON pointer `path`) the way Ajv would; returns the coerced value and
    the first error, or None."""
    kind = schema.get("type")
    if kind and not _type_ok(value, kind):
        coerced = _coerce(value, kind)
        if coerced is _MISSING:
            return value, _error(path, f"must be {kind}", value)
        value = coerced
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                return value, Violation(f"{path}/{name}", "is required")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                value[name], error = check(sub, value[name], f"{path}/{name}")
                if error:
                    return value, error
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema and value > schema["maximum"]:
            return value, _error(path, f"must be <= {schema['maximum']}", value)
        if "minimum" in schema and value < schema["minimum"]:
            return value, _error(path, f"must be >= {schema['minimum']}", value)
    if (
        schema.get("format") == "date-time"
        and isinstance(value, str)
        and not (is_date_time(value) and parse_date_time(value) is not None)
    ):
        return value, _error(path, 'must match format "date-time"', value)
    return value, None


class UnleashParameterValidator(ParameterValidator):
    """Path parameters, coerced and checked like Ajv; the coerced values go to the handler."""

    def validate(self, scope: Scope) -> None:
        params = scope.setdefault("path_params", {})
        for param in self.parameters.get("path", []):
            name = param["name"]
            params[name], error = check(param["schema"], params.get(name), f"/params/{name}")
            if error:
                raise SchemaError(error)


class UnleashBodyValidator(AbstractRequestBodyValidator):
    """The JSON body: Unleash's content-type check, then Ajv. The body itself was parsed by
    BodyParserMiddleware (as Express parses it before any route)."""

    def __init__(self, *, strict_content_type: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._accepts = is_json_strictly if strict_content_type else is_json

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        content_type = Headers(scope=scope).get("content-type")
        if not self._accepts(content_type):
            raise ContentTypeError(content_type)
        body, error = check(self._schema, scope.get(BODY_KEY, {}), "/body")
        if error:
            raise SchemaError(error)
        scope[BODY_KEY] = body
        return receive, scope


class _CachedValidationOperation(RequestValidationOperation):
    """Connexion builds an operation's validators on every request; these are built once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = operation_of(self)
        if not hasattr(self, "_parameters"):
            self._validators = validator_map(self)
            self._parameters = self._validators["parameter"](
                operation.parameters,
                uri_parser=operation.uri_parser_class(
                    operation.parameters, operation.body_definition()
                ),
                strict_validation=self.strict_validation,
                security_query_params=self.security_query_params,
            )
            self._bodies: dict[str, AbstractRequestBodyValidator | None] = {}
        self._parameters.validate(scope)
        # Every body of the contract is JSON; whether this request's Content-Type is taken is
        # Unleash's check (UnleashBodyValidator), not connexion's stricter matching.
        schema = operation.body_schema(JSON)
        if schema:
            if JSON not in self._bodies:
                validator_class = self._validators["body"].get(JSON)
                self._bodies[JSON] = validator_class and validator_class(
                    schema=schema,
                    required=operation.request_body.get("required", False),
                    nullable=False,
                    encoding="utf-8",
                    strict_validation=self.strict_validation,
                )
            if validator := self._bodies[JSON]:
                receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class _CachedValidationApi(RequestValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> _CachedValidationOperation:
        return _CachedValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class CachedRequestValidationMiddleware(RequestValidationMiddleware):
    api_cls = _CachedValidationApi
