"""The user-admin endpoints as Unleash's UserAdminController answers them: thin handlers that
check the caller, the content type and the data in Unleash's order, then call the accounts'
stores (the users, their sessions and PATs) and write the answer.

Order of checks, as Express runs them: the create-user rate limit where the release puts it in
front of the route (8.x: every POST below the path), the route's permission (ADMIN), the
content type (POST and PUT), Ajv, the rate limit where the release puts it behind them (on
creation only), then the service.
"""

from __future__ import annotations

import math
import re
from typing import Any

from starlette.responses import Response

from mock_server.callers import client_address
from mock_server.errors import (
    BadDataError,
    ContentTypeError,
    JoiError,
    PasswordRefused,
    PermissionDenied,
    SchemaError,
    ServiceError,
    TooManyRequests,
    UnleashError,
)
from mock_server.instants import timestamp
from mock_server.node import javascript
from mock_server.node.ajv import check
from mock_server.node.body_parser import is_json, is_json_strictly
from mock_server.node.responses import EndResponse, json_response
from mock_server.units.accounts.handlers import image_url
from mock_server.units.accounts.models import RootRole, User
from mock_server.units.base import Call
from mock_server.units.user_admin.password import problems
from mock_server.versions import ErrorKind, Message, RateLimitedPosts

_ID = {"type": "integer"}
_PASSWORD = {
    "type": "object",
    "required": ["password"],
    "properties": {"password": {"type": "string"}},
}
_UPDATE = {
    "type": "object",
    "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
}
# A root role by id or by name; Unleash's schema also names enterprise roles, which an open-source
# Unleash does not have.
_ROLE_NAMES = {role.name.capitalize(): role for role in RootRole}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# The keys of the user object after `createdAt`, where the user-admin API writes it.
_ADMIN_KEYS = ("scimId", "seatType", "companyRole", "productUpdatesEmailConsent")


def admin_user_json(user: User) -> dict[str, Any]:
    """The user object of the user-admin API (UserSchema without `isAPI`); an empty name or
    email is no key at all."""
    body: dict[str, Any] = {"accountType": "User", "id": user.id}
    body |= {"name": user.name} if user.name else {}
    body |= {"username": user.username}
    body |= {"email": user.email} if user.email else {}
    body |= {
        "imageUrl": image_url(user),
        "seenAt": timestamp(user.seen_at) if user.seen_at else None,
        "loginAttempts": 0,
        "createdAt": timestamp(user.created_at),
    }
    return body | dict.fromkeys(_ADMIN_KEYS)


def _admin_only(call: Call) -> None:
    """Unleash's checkPermission(ADMIN): an admin API token, or a user whose root role (as it is
    now, not as the session remembers it) is Admin."""
    assert call.caller is not None  # under /api: the authentication middleware guards it
    if call.caller.user_id is None:
        return
    user = call.state.accounts.user(call.caller.user_id)
    if user is None or not user.admin:
        raise PermissionDenied("ADMIN")


def _json_body(call: Call, schema: dict[str, Any]) -> Any:
    """requireContentType, then Ajv on the body."""
    content_type = call.headers.get("content-type")
    accepts = is_json_strictly if call.state.profile.strict_content_type_check else is_json
    if not accepts(content_type):
        raise ContentTypeError(content_type)
    body, error = check(schema, call.body, "/body", ajv=call.state.profile.ajv)
    if error:
        raise SchemaError(error)
    return body


def _user_id(call: Call) -> int:
    """The path's id, coerced and checked as Ajv does."""
    user_id, error = check(_ID, call.params.get("id"), "/params/id", ajv=call.state.profile.ajv)
    if error:
        raise SchemaError(error)
    return user_id


def _no_user() -> ServiceError:
    return ServiceError(Message.NO_USER_FOUND, kind=ErrorKind.NOT_FOUND)


def _existing(call: Call, user_id: int) -> User:
    """The user with this id. Unleash reads the id as PostgreSQL's int4, and fails with a 500
    leaking its SQL beyond it; the mock finds no user there."""
    user = call.state.accounts.user(user_id)
    if user is None:
        raise _no_user()
    return user


def _checked_password(password: str) -> str:
    """Unleash's validatePassword: empty, or weak by the OWASP test, is a 400."""
    found = problems(password) if password else []
    if not password or found:
        raise PasswordRefused(found)
    return password


def _normalized_role(given: Any) -> Any:
    """The controller's `Number.isInteger(Number(rootRole)) ? Number(rootRole) : rootRole`
    (null is 0, a numeric string its number)."""
    if given is None:
        return 0
    number = javascript.js_number(given) if isinstance(given, str) else given
    if isinstance(number, int | float) and math.isfinite(number) and number == int(number):
        return int(number)
    return given


def _root_role(normalized: Any) -> RootRole:
    """Unleash's resolveRootRole: a root role by id or by name, else a service 400."""
    if isinstance(normalized, int) and normalized in {role.value for role in RootRole}:
        return RootRole(normalized)
    if isinstance(normalized, str) and normalized in _ROLE_NAMES:
        return _ROLE_NAMES[normalized]
    # A template literal writes a number as JavaScript does, and anything else as JSON would.
    if isinstance(normalized, str):
        shown = normalized
    elif isinstance(normalized, int | float) and not isinstance(normalized, bool):
        shown = javascript.number_to_string(normalized)
    else:
        shown = javascript.stringify(normalized)
    raise BadDataError(Message.UNKNOWN_ROOT_ROLE, role=shown)


def _check_email(email: str) -> None:
    """Joi's email check, approximately: one `@` between a local part and a domain, no white
    space."""
    if not _EMAIL.fullmatch(email):
        raise JoiError(f'"value" must be a valid email. You provided "{email}".')


async def _answered(call: Call, answer: Any) -> Response:
    """Runs `answer(call)` behind the create-user limiter where the release counts this POST
    in front of the route (8.x), with its RateLimit-* headers on whatever it answers."""
    state = call.state
    if state.profile.user_admin_rate_limited_posts is not RateLimitedPosts.ALL:
        return _response(call, answer)
    headers, retry_after = state.user_admin_limiter.hit(client_address(call.scope))
    if retry_after is not None:
        response = TooManyRequests(retry_after).response(state.profile)
    else:
        response = _response(call, answer)
    response.headers.update({k.decode(): v.decode() for k, v in headers})
    return response


def _response(call: Call, answer: Any) -> Response:
    try:
        return answer(call)
    except UnleashError as error:
        return error.response(call.state.profile)


def _get(call: Call) -> Response:
    _admin_only(call)
    user = _existing(call, _user_id(call))
    return json_response(admin_user_json(user) | {"rootRole": int(user.root_role)})


def _update(call: Call) -> Response:
    """Unleash's updateUser: only what is given and not empty changes; a role is echoed as the
    controller normalised it, whether or not it changed anything (0 does not)."""
    _admin_only(call)
    user_id = _user_id(call)
    body = _json_body(call, _UPDATE)
    _existing(call, user_id)
    if body.get("email"):
        _check_email(body["email"])
    changes: dict[str, Any] = {key: body[key] for key in ("name", "email") if body.get(key)}
    echoed = {"rootRole": _normalized_role(body["rootRole"])} if "rootRole" in body else {}
    if echoed.get("rootRole"):
        changes["root_role"] = _root_role(echoed["rootRole"])
    user = call.state.accounts.change_user(user_id, **changes)
    if user is None:
        raise _no_user()
    return json_response(admin_user_json(user) | echoed)


def _delete(call: Call) -> Response:
    """The user goes, with every session and PAT (Unleash keeps the PATs' rows, which nothing
    can use any more)."""
    _admin_only(call)
    user_id = _user_id(call)
    state = call.state
    if state.accounts.remove_user(user_id) is None:
        raise _no_user()
    state.sessions.end_user_sessions(user_id)
    state.pats.discard_users({user_id})
    return EndResponse()


def _validate_password(call: Call) -> Response:
    """Any authenticated caller may ask (permission NONE)."""
    _checked_password(_json_body(call, _PASSWORD)["password"])
    return EndResponse()


def _change_password(call: Call) -> Response:
    """An admin sets a user's password: every session of the user ends, PATs stay."""
    _admin_only(call)
    user_id = _user_id(call)
    password = _checked_password(_json_body(call, _PASSWORD)["password"])
    # Unleash stores the hash first and fails with a 500 leaking its SQL for an unknown user.
    if call.state.accounts.change_user(user_id, password=password) is None:
        raise _no_user()
    call.state.sessions.end_user_sessions(user_id)
    return EndResponse()


async def get_user(call: Call) -> Response:
    return _response(call, _get)


async def update_user(call: Call) -> Response:
    return _response(call, _update)


async def delete_user(call: Call) -> Response:
    return _response(call, _delete)


async def validate_password(call: Call) -> Response:
    return await _answered(call, _validate_password)


async def change_password(call: Call) -> Response:
    return await _answered(call, _change_password)
