"""Unleash-shaped errors and their HTTP responses.

Unleash sends three JSON error shapes (see README, "Error bodies"):
- middleware errors (401, 404, 415, schema 400): `{id, name, message, details}`;
- service errors (403, 409, service 400, "PATs are disabled." 404): the same without `id`;
- body-parser errors (malformed JSON 400, 413): just `{message}`.
Every `details` holds one entry equal to `message` unless a validator gave its own list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ClassVar

from starlette.responses import Response

from mock_server.responses import VARY, json_response, weak_etag

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
        *,
        with_id: bool | None = None,  # where the version, not the kind, decides
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or [{"message": message}]
        if with_id is not None:
            self.with_id = with_id

    def body(self) -> dict[str, Any]:
        new_id = ERROR_IDS.get()
        head = {"id": new_id() if new_id else str(uuid.uuid4())} if self.with_id else {}
        return {**head, "name": self.name, "message": self.message, "details": self.details}

    def response(self) -> Response:
        return json_response(self.body(), self.status)


class SchemaError(UnleashError):
    """The request does not match the OpenAPI schema (raised where Unleash's validator runs)."""

    status, name, with_id = 400, "BadDataError", True

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__(SCHEMA_400, details)


class BadDataError(UnleashError):
    """A service rule rejected the data, e.g. an empty description."""

    status, name = 400, "BadDataError"

    def __init__(self, text: str, *, with_id: bool | None = None) -> None:
        super().__init__(SERVICE_400 + text, [{"message": text}], with_id=with_id)


class BodyParserError(UnleashError):
    """Express's body parser: malformed JSON (400) or a body over its limit (413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status  # type: ignore[misc]

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


class AuthenticationRequired(UnleashError):
    status, name, with_id = 401, "AuthenticationRequired", True

    def __init__(self) -> None:
        super().__init__(LOGIN_HINT)

    def body(self) -> dict[str, Any]:
        return {
            **super().body(),
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

    def response(self) -> Response:
        body = self.message.encode()
        return Response(
            body,
            status_code=429,
            headers={"Retry-After": str(self.retry_after), "ETag": weak_etag(body), **VARY},
            media_type="text/html; charset=utf-8",
        )
