"""Request validation as Unleash does it: Ajv 8 with `coerceTypes: true` and ajv-formats, stopping
at the first error, reported in Unleash's words.

Unleash validates one object `{params, query, body}` against the operation's schema, so path
parameters are checked before the body, and coerced values (`123` -> `"123"`, `"1e3"` -> 1000)
reach the handler. The schemas come from openapi.yaml through connexion.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

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
from mock_server.errors import ContentTypeError, SchemaError, Violation
from mock_server.instants import is_date_time, is_date_time_ajv6
from mock_server.node.body_parser import BODY_KEY, is_json, is_json_strictly, json_body
from mock_server.node.javascript import js_number, number_to_string, stringify
from mock_server.node.routing import decode_param

_MISSING = object()
JSON = "application/json"


def _coerce(value: Any, kind: str) -> Any:
    """Ajv's coerceTypes for one scalar type; returns _MISSING when it cannot coerce."""
    if kind == "string":
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return number_to_string(value)
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
        sent = stringify(value)
    except RecursionError:
        sent = "[value too large or deeply nested to display]"
    return Violation(path, message, sent)


def check(
    schema: dict[str, Any], value: Any, path: str, *, ajv: int = 8
) -> tuple[Any, Violation | None]:
    """Validate `value` (at JSON pointer `path`) the way Ajv would (`ajv`: its major, 8 with
    ajv-formats or 6 with its own formats); returns the coerced value and the first error, or
    None."""
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
        if schema.get("additionalProperties") is False:
            allowed = schema.get("properties", {})
            extra = next((name for name in value if name not in allowed), None)
            if extra is not None:
                return value, Violation(f"{path}/{extra}", "", additional=True)
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                value[name], error = check(sub, value[name], f"{path}/{name}", ajv=ajv)
                if error:
                    return value, error
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema and value > schema["maximum"]:
            return value, _error(path, f"must be <= {schema['maximum']}", value)
        if "minimum" in schema and value < schema["minimum"]:
            return value, _error(path, f"must be >= {schema['minimum']}", value)
    # Lengths count code points (Ajv's ucs2length: a surrogate pair is one). `pattern` is not
    # checked: the PAT contract documents one Unleash's own schema lacks (no NUL in a
    # description), which the release refuses after validation instead.
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            limit = schema["maxLength"]
            return value, _error(path, f"must NOT have more than {limit} characters", value)
        if "minLength" in schema and len(value) < schema["minLength"]:
            limit = schema["minLength"]
            return value, _error(path, f"must NOT have fewer than {limit} characters", value)
    if "enum" in schema and value not in schema["enum"]:
        return value, _error(path, "must be equal to one of the allowed values", value)
    # The syntax only: a date-time PostgreSQL cannot store passes Ajv and fails in Unleash's
    # insert, after its service's checks (the handler refuses it there).
    date_time = is_date_time if ajv == 8 else is_date_time_ajv6
    if schema.get("format") == "date-time" and isinstance(value, str) and not date_time(value):
        return value, _error(path, 'must match format "date-time"', value)
    return value, None


class UnleashParameterValidator(ParameterValidator):
    """Path parameters (routed as sent, decoded here), coerced and checked like Ajv; the
    coerced values go to the handler."""

    def validate(self, scope: Scope) -> None:
        params = scope.setdefault("path_params", {})
        for param in self.parameters.get("path", []):
            name = param["name"]
            value = decode_param(params[name]) if name in params else None
            params[name], error = check(param["schema"], value, f"/params/{name}")
            if error:
                raise SchemaError(error)


class UnleashBodyValidator(AbstractRequestBodyValidator):
    """The JSON body: Unleash's content-type check, then Ajv. The body itself was parsed by
    BodyParserMiddleware (as Express parses it before any route)."""

    def __init__(self, *, strict_content_type: bool = False, ajv: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._accepts = functools.partial(accepts_json, strict=strict_content_type)
        self._ajv = ajv

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        content_type = Headers(scope=scope).get("content-type")
        if not self._accepts(content_type):
            raise ContentTypeError(content_type)
        scope[BODY_KEY] = checked_body(self._schema, await json_body(scope), ajv=self._ajv)
        return receive, scope


def checked_body(schema: dict[str, Any], body: Any, *, ajv: int = 8) -> Any:
    """The body Ajv leaves after validating it against `schema` (coerced), or SchemaError."""
    body, error = check(schema, body, "/body", ajv=ajv)
    if error:
        raise SchemaError(error)
    return body


def accepts_json(content_type: str | None, *, strict: bool) -> bool:
    """Unleash's content-type check of a JSON route (`strict`: type-is 1, before 7.x)."""
    return (is_json_strictly if strict else is_json)(content_type)


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
