"""Unleash-shaped errors and their HTTP responses.

Unleash sends three JSON error shapes (see README, "Error bodies"):
- middleware errors (401, 404, 415, schema 400): `{id, name, message, details}`;
- service errors (403, 409, service 400, "PATs are disabled." 404): the same without `id`;
- body-parser errors (malformed JSON 400, 413): just `{message}`.
Every `details` holds one entry equal to `message` unless a validator gave its own list.
How a version writes them (an `id` on every error, `description` beside each detail, property
names in schema errors) is its profile's ErrorStyle, applied when the response is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.responses import Response

from mock_server.responses import VARY, json_response, weak_etag
from mock_server.versions import ErrorStyle

REFERENCE_STYLE = ErrorStyle()

SCHEMA_400 = (
    "Request validation failed: your request body or params contain invalid data. "
    "Refer to the `details` list for more information."
)
SERVICE_400 = "Request validation failed: your request body or params contain invalid data: "
LOGIN_HINT = (
    "You must log in to use Unleash. Your request had no authorization header, so we could not "
    "authorize you. Try logging in at /auth/simple/login"
)

# The error-id source of the request being served: a seeded mock sets it per request (a context
# variable, so that no other mock or app in the process is affected); else a random UUID.
ERROR_IDS: ContextVar[Callable[[], str] | None] = ContextVar("unleash_pat_error_ids", default=None)


class UnleashError(Exception):
    """An error Unleash sends as JSON. Subclasses set the status, name and whether an id is sent."""

    status: ClassVar[int] = 500
    name: ClassVar[str] = "UnknownError"
    with_id: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or [{"message": message}]

    def body(self, style: ErrorStyle = REFERENCE_STYLE) -> dict[str, Any]:
        with_id = self.with_id or style.every_error_has_id
        new_id = ERROR_IDS.get()
        head = {"id": new_id() if new_id else str(uuid.uuid4())} if with_id else {}
        return {**head, "name": self.name, "message": self.message, "details": self._details(style)}

    def _details(self, style: ErrorStyle) -> list[dict[str, str]]:
        if not style.detail_descriptions:
            return self.details
        return [
            {**d, "description": d["message"]} if "description" not in d else d
            for d in self.details
        ]

    def response(self, style: ErrorStyle = REFERENCE_STYLE) -> Response:
        return json_response(self.body(style), self.status)


@dataclass(frozen=True)
class Violation:
    """The first thing a request's data breaks, as Ajv reports it: where (a JSON pointer such as
    `/body/description`), what (`must be string`), and the value as it was sent (JSON text);
    `sent` is None for a required property that is missing."""

    pointer: str
    predicate: str
    sent: str | None = None

    def detail(self, style: ErrorStyle) -> dict[str, str]:
        if not style.property_paths:
            text = self._text(self.pointer, self.sent)
            if self.sent is None:
                return {"path": self.pointer, "message": text}
            return {"message": text, "path": self.pointer}
        # 5.x validates the body alone: the property is named relative to it, and its value is
        # looked up by that name, so the body itself ("") is reported as `undefined`.
        name = self.pointer.partition("/")[2].partition("/")[2]
        text = self._text(name, self.sent if name else "undefined")
        if self.sent is None:
            return {"path": name, "description": text, "message": text}
        return {"description": text, "message": text, "path": name}

    def _text(self, name: str, sent: str | None) -> str:
        if self.sent is None:
            return f"The `{name}` property is required. It was not present on the data you sent."
        return f"The `{name}` property {self.predicate}. You sent {sent}."


class SchemaError(UnleashError):
    """The request does not match the OpenAPI schema (raised where Unleash's validator runs)."""

    status, name, with_id = 400, "BadDataError", True

    def __init__(self, violation: Violation) -> None:
        super().__init__(SCHEMA_400)
        self.violation = violation

    def _details(self, style: ErrorStyle) -> list[dict[str, str]]:
        return [self.violation.detail(style)]


class BadDataError(UnleashError):
    """A service rule rejected the data, e.g. an empty description."""

    status, name = 400, "BadDataError"

    def __init__(self, text: str) -> None:
        super().__init__(SERVICE_400 + text, [{"message": text}])


class BareError(UnleashError):
    """An error written by middleware outside Unleash's error handler: just `{message}`."""

    def body(self, style: ErrorStyle = REFERENCE_STYLE) -> dict[str, Any]:
        return {"message": self.message}


class BodyParserError(BareError):
    """Express's body parser: malformed JSON (400) or a body over its limit (413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status  # type: ignore[misc]


class WrongTokenType(BareError):
    """8.2's client and front-end APIs, given a user's token or an admin API token."""

    status = 403

    def __init__(self) -> None:
        super().__init__("invalid token: expected a different token type for this endpoint")


class ApiTokenRequired(BareError):
    """The API-token guard of the client and front-end APIs, when no credential could be one."""

    status = 401

    def __init__(self) -> None:
        super().__init__(
            "This endpoint requires an API token. Please add an authorization header to your "
            "request with a valid token"
        )


class AuthenticationRequired(UnleashError):
    status, name, with_id = 401, "AuthenticationRequired", True

    def __init__(self) -> None:
        super().__init__(LOGIN_HINT)

    def body(self, style: ErrorStyle = REFERENCE_STYLE) -> dict[str, Any]:
        return {
            **super().body(style),
            "path": "/auth/simple/login",
            "type": "password",
            "defaultHidden": False,
        }


class Unauthorized(UnleashError):
    status, name, with_id = 401, "UnauthorizedError", True

    def __init__(self) -> None:
        super().__init__("You must log in to use Unleash.")


class PasswordMismatch(UnleashError):
    status, name = 401, "PasswordMismatch"

    def __init__(self) -> None:
        super().__init__(
            "The combination of password and username you provided is invalid. If you have "
            "forgotten your password, visit /forgotten-password or get in touch with your "
            "instance administrator."
        )


class Forbidden(UnleashError):
    status, name = 403, "ForbiddenError"


class OperationDenied(UnleashError):
    status, name = 403, "OperationDeniedError"


class NameExists(UnleashError):
    status, name = 409, "NameExistsError"


class NotFound(UnleashError):
    """A service's 404: "PATs are disabled.", or an unknown PAT where the version says so."""

    status, name = 404, "NotFoundError"


class PathNotFound(UnleashError):
    """Unleash's answer to an unknown path, or a known path with a method it does not route."""

    status, name, with_id = 404, "NotFoundError", True

    def __init__(self, path: str) -> None:
        super().__init__(f"The path you were looking for ({path}) is not available.")


class ContentTypeError(UnleashError):
    status, name, with_id = 415, "ContentTypeError", True

    def __init__(self, provided: str | None) -> None:
        provided = provided or "you didn't provide one"
        super().__init__(
            f"We do not accept the content-type you provided "
            f"({provided}). Try using one of the content-types we "
            f"do accept instead (application/json) and make sure the body is in the "
            f"corresponding format."
        )


class TooManyRequests(UnleashError):
    """express-rate-limit's answer: plain HTML text, not JSON."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests, please try again later.")
        self.retry_after = retry_after

    def response(self, style: ErrorStyle = REFERENCE_STYLE) -> Response:
        body = self.message.encode()
        return Response(
            body,
            status_code=429,
            headers={"Retry-After": str(self.retry_after), "ETag": weak_etag(body), **VARY},
            media_type="text/html; charset=utf-8",
        )
