"""Unleash-shaped errors and their HTTP responses.

Unleash sends three JSON error shapes:
- middleware errors (401, 404, 415, schema 400): `{id, name, message, details}`;
- service errors (403, 409, service 400, "PATs are disabled." 404): the same without `id`;
- body-parser errors (malformed JSON 400, 413): just `{message}`.
Every `details` holds one entry equal to `message` unless a validator gave its own list.
An error is raised with what it is (its kind, and which of the release's messages it says);
the release's profile decides, when the response is written, its status and `name`, its words,
and how its body is written (an `id` on every error, `description` beside each detail, property
names in schema errors).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.responses import Response

from mock_server.node.responses import VARY, json_response, weak_etag
from mock_server.versions import ErrorKind, Message, VersionProfile

# The error-id source of the request being served: a seeded mock sets it per request (a context
# variable, so that no other mock or app in the process is affected); else a random UUID.
ERROR_IDS: ContextVar[Callable[[], str] | None] = ContextVar("unleash_pat_error_ids", default=None)


class UnleashError(Exception):
    """An error Unleash sends as JSON: its kind, and its message (one of the release's texts,
    filled with `values`, or `text` as given)."""

    kind: ClassVar[ErrorKind] = ErrorKind.UNKNOWN
    with_id: ClassVar[bool] = False  # a middleware error: it carries an `id` in every release

    def __init__(
        self, message: Message | str, *, kind: ErrorKind | None = None, **values: object
    ) -> None:
        super().__init__(message)
        self.message = message
        self.values = values
        if kind is not None:
            self.kind = kind  # type: ignore[misc]

    def text(self, profile: VersionProfile) -> str:
        if isinstance(self.message, Message):
            return profile.message(self.message, **self.values)
        return self.message

    def details(self, profile: VersionProfile) -> list[dict[str, str]]:
        return [{"message": self.text(profile)}]

    def status(self, profile: VersionProfile) -> int:
        return profile.answer(self.kind).status

    def body(self, profile: VersionProfile) -> dict[str, Any]:
        style = profile.errors
        new_id = ERROR_IDS.get()
        with_id = self.with_id or style.every_error_has_id
        head = {"id": new_id() if new_id else str(uuid.uuid4())} if with_id else {}
        details = self.details(profile)
        if style.detail_descriptions:
            details = [
                d if "description" in d else {**d, "description": d["message"]} for d in details
            ]
        name = profile.answer(self.kind).name
        return {**head, "name": name, "message": self.text(profile), "details": details}

    def response(self, profile: VersionProfile) -> Response:
        return json_response(self.body(profile), self.status(profile))


class ServiceError(UnleashError):
    """A service rule refused the request: 403, 404, 409 in the release's words."""


class BadDataError(UnleashError):
    """A service rule rejected the data (an empty description …): the release's service 400,
    which wraps the rule's text."""

    kind = ErrorKind.BAD_DATA

    def text(self, profile: VersionProfile) -> str:
        return profile.message(Message.SERVICE_INVALID, text=self.rule(profile))

    def rule(self, profile: VersionProfile) -> str:
        return super().text(profile)

    def details(self, profile: VersionProfile) -> list[dict[str, str]]:
        return [{"message": self.rule(profile)}]


@dataclass(frozen=True)
class Violation:
    """The first thing a request's data breaks, as Ajv reports it: where (a JSON pointer such as
    `/body/description`), what (`must be string`), and the value as it was sent (JSON text);
    `sent` is None for a required property that is missing, or (`additional`) a property the
    schema does not allow."""

    pointer: str
    predicate: str
    sent: str | None = None
    additional: bool = False

    def detail(self, profile: VersionProfile) -> dict[str, str]:
        if not profile.errors.property_paths:
            text = self._text(profile, self.pointer, self.sent)
            if self.sent is None:
                return {"path": self.pointer, "message": text}
            return {"message": text, "path": self.pointer}
        if self.pointer.startswith("/query/"):
            # 5.x validates the query on its own, names its property with Ajv's separator and
            # looks its value up in the body: always `undefined`.
            name = ("." if profile.ajv == 6 else "/") + self.pointer.removeprefix("/query/")
            text = self._text(profile, name, "undefined")
            return {"description": text, "message": text, "path": name}
        # 5.x validates the body alone: the property is named relative to it, and its value is
        # looked up by that name, so the body itself ("") is reported as `undefined`.
        name = self.pointer.partition("/")[2].partition("/")[2]
        text = self._text(profile, name, self.sent if name else "undefined")
        if self.sent is None:
            return {"path": name, "description": text, "message": text}
        return {"description": text, "message": text, "path": name}

    def _text(self, profile: VersionProfile, name: str, sent: str | None) -> str:
        if self.additional:
            # The object that holds it: the body itself is 5.x's "root" object.
            parent = name.rpartition("/")[0]
            shown = f"`{parent}`" if parent else "root"
            return profile.message(Message.ADDITIONAL_PROPERTY, parent=shown, name=name)
        if self.sent is None:
            return profile.message(Message.PROPERTY_REQUIRED, name=name)
        predicate = self.predicate
        if profile.ajv == 6:  # Ajv 6 words its errors "should …" where Ajv 8 says "must …"
            predicate = predicate.replace("must", "should", 1)
        return profile.message(Message.PROPERTY_INVALID, name=name, predicate=predicate, sent=sent)


class SchemaError(UnleashError):
    """The request does not match the OpenAPI schema (raised where Unleash's validator runs)."""

    kind, with_id = ErrorKind.BAD_DATA, True

    def __init__(self, violation: Violation) -> None:
        super().__init__(Message.SCHEMA_INVALID)
        self.violation = violation

    def details(self, profile: VersionProfile) -> list[dict[str, str]]:
        return [self.violation.detail(profile)]


class JoiError(UnleashError):
    """A value Unleash's services check with Joi (an e-mail address): the validator's 400, its
    details the Joi message alone."""

    kind = ErrorKind.BAD_DATA

    def __init__(self, text: str) -> None:
        super().__init__(Message.SCHEMA_INVALID)
        self.joi_text = text

    def details(self, profile: VersionProfile) -> list[dict[str, str]]:
        if profile.errors.detail_descriptions:  # 5.x: Joi's own order
            return [{"description": self.joi_text, "message": self.joi_text}]
        return [{"message": self.joi_text}]


class BareError(UnleashError):
    """An error written by middleware outside Unleash's error handler: just `{message}`, with a
    status of its own."""

    def __init__(self, message: Message | str, status: int) -> None:
        super().__init__(message)
        self._status = status

    def status(self, profile: VersionProfile) -> int:
        return self._status

    def body(self, profile: VersionProfile) -> dict[str, Any]:
        return {"message": self.text(profile)}


class BodyParserError(BareError):
    """Express's body parser: malformed JSON (400), a body over its limit (413), an encoding or
    charset it cannot read (415); its texts are Node's, the same in every release."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text, status)


def wrong_token_type() -> BareError:
    """8.2's client and front-end APIs, given a user's token or an admin API token."""
    return BareError(Message.WRONG_TOKEN_TYPE, 403)


def api_token_required() -> BareError:
    """The API-token guard of the client and front-end APIs, when no credential could be one."""
    return BareError(Message.API_TOKEN_REQUIRED, 401)


class AuthenticationRequired(UnleashError):
    kind, with_id = ErrorKind.MISSING_TOKEN, True

    def __init__(self) -> None:
        super().__init__(Message.LOGIN_REQUIRED)

    def body(self, profile: VersionProfile) -> dict[str, Any]:
        return {
            **super().body(profile),
            "path": "/auth/simple/login",
            "type": "password",
            "defaultHidden": False,
        }


class Unauthorized(UnleashError):
    kind, with_id = ErrorKind.UNKNOWN_TOKEN, True

    def __init__(self) -> None:
        super().__init__(Message.UNAUTHORIZED)


class PasswordMismatch(UnleashError):
    kind = ErrorKind.PASSWORD_MISMATCH

    def __init__(self) -> None:
        super().__init__(Message.PASSWORD_MISMATCH)


class PermissionDenied(UnleashError):
    """Unleash's permission check (a route's required permission the caller lacks): the
    permissions it needed are named again beside the details."""

    kind, with_id = ErrorKind.PERMISSION, True

    def __init__(self, permission: str) -> None:
        super().__init__(Message.PERMISSION_DENIED, permission=permission)
        self.permission = permission

    def body(self, profile: VersionProfile) -> dict[str, Any]:
        return {**super().body(profile), "permissions": [self.permission]}


class PasswordRefused(UnleashError):
    """A password the release's policy refuses (empty, or weak by the OWASP strength test): the
    first problem is the message, and the detail lists them all."""

    def __init__(self, problems: list[str]) -> None:
        if problems:
            super().__init__(problems[0], kind=ErrorKind.WEAK_PASSWORD)
        else:
            super().__init__(Message.PASSWORD_UNDEFINED, kind=ErrorKind.PASSWORD_UNDEFINED)
        self.problems = problems

    def details(self, profile: VersionProfile) -> list[dict[str, Any]]:
        return [{"validationErrors": self.problems, "message": self.text(profile)}]

    def body(self, profile: VersionProfile) -> dict[str, Any]:
        body = super().body(profile)
        if self.problems:  # OwaspValidationError writes its details itself: no `description`
            body["details"] = self.details(profile)
        return body


class PathNotFound(UnleashError):
    """Unleash's answer to an unknown path, or a known path with a method it does not route."""

    kind, with_id = ErrorKind.NOT_FOUND, True

    def __init__(self, path: str) -> None:
        super().__init__(Message.PATH_NOT_FOUND, path=path)


class ContentTypeError(UnleashError):
    kind, with_id = ErrorKind.CONTENT_TYPE, True

    def __init__(self, provided: str | None) -> None:
        super().__init__(Message.CONTENT_TYPE)
        self.provided = provided

    def text(self, profile: VersionProfile) -> str:
        provided = self.provided or profile.message(Message.CONTENT_TYPE_MISSING)
        return profile.message(Message.CONTENT_TYPE, provided=provided)


class ResetInFlight(UnleashError):
    """The answer to a request that was in flight when the mock was reset: it changed nothing,
    and its client must see a failure (503, in Unleash's error shape)."""

    def __init__(self) -> None:
        super().__init__(
            "The unleash-pat mock was reset while this request was in flight; it changed nothing."
        )

    def status(self, profile: VersionProfile) -> int:
        return 503


class TooManyRequests(UnleashError):
    """express-rate-limit's answer: plain HTML text, not JSON."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(Message.TOO_MANY_REQUESTS)
        self.retry_after = retry_after

    def response(self, profile: VersionProfile) -> Response:
        body = self.text(profile).encode()
        return Response(
            body,
            status_code=429,
            headers={"Retry-After": str(self.retry_after), "ETag": weak_etag(body), **VARY},
            media_type="text/html; charset=utf-8",
        )
