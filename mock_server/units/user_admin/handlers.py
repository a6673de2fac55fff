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
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from mock_server.callers import client_address
from mock_server.errors import (
    BadDataError,
    JoiError,
    PasswordRefused,
    PermissionDenied,
    SchemaError,
    ServiceError,
    TooManyRequests,
    UnleashError,
)
from mock_server.node import javascript, pg, query
from mock_server.node.ajv import check
from mock_server.node.responses import EndResponse, json_response
from mock_server.units.accounts.handlers import user_json
from mock_server.units.accounts.models import RootRole, User
from mock_server.units.base import Call
from mock_server.units.user_admin.password import problems
from mock_server.versions import ErrorKind, Message, RateLimitedPosts

_ID = {"type": "integer"}
# Unleash's passwordSchema and createUserSchema refuse other keys; updateUserSchema ignores them.
_PASSWORD = {
    "type": "object",
    "required": ["password"],
    "properties": {
        key: {"type": "string"} for key in ("password", "oldPassword", "confirmPassword")
    },
    "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
}
_CREATE = {
    "type": "object",
    "required": ["rootRole"],
    "properties": {
        **{key: {"type": "string"} for key in ("username", "email", "name", "password")},
        "sendEmail": {"type": "boolean"},
        "rootRole": {},
    },
    "additionalProperties": False,
}
# Users the mock holds at most through the admin API (the create-user limit is per client
# address, and a client may claim any address).
MAX_USERS = 100_000
# A root role by id or by name; Unleash's schema also names enterprise roles, which an open-source
# Unleash does not have.
_ROLE_NAMES = {role.name.capitalize(): role for role in RootRole}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# Unleash's predefined root roles, as GET /api/admin/user-admin lists them.
ROOT_ROLES = [
    {
        "id": 1,
        "name": "Admin",
        "type": "root",
        "description": "Users with the root admin role have superuser access to Unleash and can"
        " perform any operation within the Unleash platform.",
    },
    {
        "id": 2,
        "name": "Editor",
        "type": "root",
        "description": "Users with the root editor role have access to most features in Unleash,"
        " but can not manage users and roles in the root scope. Editors will be added as project"
        " owners when creating projects and get superuser rights within the context of these"
        " projects. Users with the editor role will also get access to most permissions on the"
        " default project by default.",
    },
    {
        "id": 3,
        "name": "Viewer",
        "type": "root",
        "description": "Users with the root viewer role can only read root resources in Unleash."
        " Viewers can be added to specific projects as project members. Users with the viewer"
        " role may not view API tokens.",
    },
]
_SESSION_ONLY = ("deletedSessions", "activeSessions")
_VARCHAR = 255  # the users table's name, username and email columns


def admin_user_json(call: Call, user: User) -> dict[str, Any]:
    """The user object of the user-admin API: the keys a session sees, in the release's order,
    without those of the session itself."""
    body = user_json(user, session=True, profile=call.state.profile)
    return {key: value for key, value in body.items() if key not in _SESSION_ONLY}


def _admin_only(call: Call) -> None:
    """Unleash's checkPermission(ADMIN): an admin API token, or a user whose root role (as it is
    now, not as the session remembers it) is Admin."""
    assert call.caller is not None  # under /api: the authentication middleware guards it
    if call.caller.user_id is None:
        return
    user = call.state.accounts.user(call.caller.user_id)
    if user is None or not user.admin:
        raise PermissionDenied("ADMIN")


def _user_id(call: Call) -> int:
    """The path's id, coerced and checked as Ajv does, or (5.x) by the service's integer test,
    which the ids it lets through but PostgreSQL refuses answer with a 500 (the mock: 404)."""
    profile = call.state.profile
    user_id, error = check(_ID, call.params.get("id"), "/params/id", ajv=profile.ajv)
    if error and profile.user_id_checked_by_schema:
        raise SchemaError(error)
    if error:
        raise BadDataError(Message.USER_ID_NOT_AN_INTEGER)
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


def _limited(call: Call, answer: Callable[[Call], Response]) -> Response:
    """`answer(call)` behind the create-user limiter, with its RateLimit-* headers on whatever
    it answers."""
    state = call.state
    headers, retry_after = state.user_admin_limiter.hit(client_address(call.scope))
    if retry_after is not None:
        response = TooManyRequests(retry_after).response(state.profile)
    else:
        response = _response(call, answer)
    response.headers.update({k.decode(): v.decode() for k, v in headers})
    return response


def _response(call: Call, answer: Callable[[Call], Response]) -> Response:
    try:
        return answer(call)
    except UnleashError as error:
        return error.response(call.state.profile)


def _invite_link(call: Call, token: str | None) -> str:
    return f"{call.base_url}/new-user?token={token}" if token else ""


def _list(call: Call) -> Response:
    """Every user with its role id and live invitation, in the table's order (a user written
    since, by a login or a change, comes last), and the root roles."""
    _admin_only(call)
    invites = call.state.user_admin_invites
    users = [
        admin_user_json(call, user)
        | {
            "rootRole": int(user.root_role),
            "inviteLink": _invite_link(call, invites.active(user.id)),
        }
        for user in call.state.accounts.users()
    ]
    return json_response({"users": users, "rootRoles": ROOT_ROLES})


def _search(call: Call) -> Response:
    """Any caller may search (permission NONE). A `q` of two characters or more (UTF-16 units)
    finds, in the table's order, the users whose name contains it or whose username or e-mail
    starts with it, as ILIKE patterns (`%` and `_` are wildcards). The name test alone excludes
    Unleash's system users (knex ANDs its filter with the first condition only), so the others
    find them, first, as their rows are the table's first."""
    profile = call.state.profile
    q = query.value(call.scope.get("query_string", b""), "q")
    if q is not None:
        _, error = check({"type": "string"}, q, "/query/q", ajv=profile.ajv)
        if error:
            raise SchemaError(error)
    if not isinstance(q, str) or len(q.encode("utf-16-le", "surrogatepass")) <= 2:
        return json_response([])

    starting, containing = pg.ilike(f"{q}%").fullmatch, pg.ilike(f"%{q}%").fullmatch

    def starts(user: User) -> bool:
        return any(starting(text) for text in (user.username, user.email) if text)

    system = [user for user in _system_users(call) if starts(user)]
    found = [
        user
        for user in call.state.accounts.users()
        if (user.name and containing(user.name)) or starts(user)
    ]
    hidden = ("loginAttempts", "createdAt")
    return json_response(
        [
            {k: v for k, v in admin_user_json(call, user).items() if k not in hidden}
            for user in system + found
        ]
    )


def _system_users(call: Call) -> list[User]:
    return [
        User(user_id, username, name=name, email=email)
        for user_id, username, name, email in call.state.profile.system_users
    ]


def _access(call: Call) -> Response:
    """Any caller may ask (permission NONE): every user's id, names and e-mail address in the
    table's order (no system user), and the groups (an open-source Unleash has none)."""
    users = [
        {
            "id": user.id,
            **({"name": user.name} if user.name else {}),
            **({"username": user.username} if user.username else {}),
            **({"email": user.email} if user.email else {}),
            "accountType": "User",
        }
        for user in call.state.accounts.users()
    ]
    return json_response({"users": users, "groups": []})


def _stored(field: str, value: str | None) -> str | None:
    """What the users table's varchar(255) column stores. Beyond it, Unleash's insert or update
    fails with a 500 leaking its SQL; the mock refuses with the 400 that was meant."""
    if not value:
        return value
    try:
        return pg.varchar(value, _VARCHAR)
    except pg.TooLong:
        raise BadDataError(f"A user's {field} is at most {_VARCHAR} characters long.") from None


def _create(call: Call) -> Response:
    _admin_only(call)
    body = call.json_body(_CREATE)
    if call.state.profile.user_admin_rate_limited_posts is RateLimitedPosts.CREATE:
        # Before 8.x the limiter is the route's last middleware, after Ajv.
        return _limited(call, lambda call: _created(call, body))
    return _created(call, body)


def _created(call: Call, body: dict[str, Any]) -> Response:
    """Unleash's createUser, in one transaction: a role it cannot find leaves no user (but
    uses an id, as PostgreSQL's sequence does). The password is stored unchecked."""
    accounts = call.state.accounts
    username, email = body.get("username"), body.get("email")
    if not username and not email:
        raise BadDataError(Message.NAME_OR_EMAIL_REQUIRED)
    if email:
        _check_email(email)
    if accounts.exists(username, email):
        raise BadDataError(Message.USER_EXISTS)
    if len(accounts) >= MAX_USERS:
        raise BadDataError(f"The unleash-pat mock holds at most {MAX_USERS} users.")
    user_id = accounts.take_id()
    # The insert (the id is used), then the role: a value too long fails first.
    stored = {field: _stored(field, body.get(field)) for field in ("username", "name", "email")}
    role = _normalized_role(body["rootRole"])
    user = User(
        user_id,
        stored["username"] or "",
        body.get("password") or None,
        stored["name"] or None,
        stored["email"] or None,
        _root_role(role),
    )
    user = accounts.add_user(user)
    token = call.state.user_admin_invites.issue(user.id, call.state.profile.invite_token_prefix)
    answer = admin_user_json(call, user) | {
        "rootRole": role,
        "inviteLink": _invite_link(call, token),
        "emailSent": False,
    }
    if call.state.profile.created_role_after_invite:
        answer["rootRole"] = answer.pop("rootRole")
    return json_response(answer, 201, headers={"location": str(user.id)})


def _get(call: Call) -> Response:
    _admin_only(call)
    user = _existing(call, _user_id(call))
    return json_response(admin_user_json(call, user) | {"rootRole": int(user.root_role)})


def _update(call: Call) -> Response:
    """Unleash's updateUser: only what is given and not empty changes; a role is echoed as the
    controller normalised it, whether or not it changed anything (0 does not)."""
    _admin_only(call)
    user_id = _user_id(call)
    body = call.json_body(_UPDATE)
    before = _existing(call, user_id)
    if body.get("email"):
        _check_email(body["email"])
    echoed = {"rootRole": _normalized_role(body["rootRole"])} if "rootRole" in body else {}
    accounts = call.state.accounts
    if echoed.get("rootRole"):  # set first, on its own: a failing update leaves it changed
        accounts.set_role(user_id, _root_role(echoed["rootRole"]))
    changes = {key: _stored(key, body[key]) for key in ("name", "email") if body.get(key)}
    # Unleash writes the row with the name and e-mail address it had where none is given, so
    # a change of role alone moves the row too, unless the user has neither.
    user = (
        accounts.change_user(user_id, **changes) if changes or before.name or before.email else None
    )
    user = user or accounts.user(user_id)
    if user is None:
        raise _no_user()
    return json_response(admin_user_json(call, user) | echoed)


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
    state.user_admin_invites.expire(user_id)
    return EndResponse()


def _validate_password(call: Call) -> Response:
    """Any authenticated caller may ask (permission NONE)."""
    _checked_password(call.json_body(_PASSWORD)["password"])
    return EndResponse()


def _change_password(call: Call) -> Response:
    """An admin sets a user's password: every session of the user ends, PATs stay."""
    _admin_only(call)
    user_id = _user_id(call)
    password = _checked_password(call.json_body(_PASSWORD)["password"])
    # Unleash stores the hash first: from 6.x its password history's foreign key fails with
    # a 500 leaking SQL for an unknown user, where 5.x answers 200.
    if call.state.accounts.change_user(user_id, password=password) is None:
        if call.state.profile.password_of_unknown_user_ok:
            return EndResponse()
        raise _no_user()
    call.state.sessions.end_user_sessions(user_id)
    call.state.user_admin_invites.expire(user_id)
    return EndResponse()


async def list_users(call: Call) -> Response:
    return _response(call, _list)


async def search_users(call: Call) -> Response:
    return _response(call, _search)


async def access(call: Call) -> Response:
    return _response(call, _access)


async def create_user(call: Call) -> Response:
    return _response(call, _create)


async def get_user(call: Call) -> Response:
    return _response(call, _get)


async def update_user(call: Call) -> Response:
    return _response(call, _update)


async def delete_user(call: Call) -> Response:
    return _response(call, _delete)


async def validate_password(call: Call) -> Response:
    return _response(call, _validate_password)


async def change_password(call: Call) -> Response:
    return _response(call, _change_password)
