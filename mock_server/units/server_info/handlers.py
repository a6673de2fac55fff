"""What a server says of itself and of its caller: the current user, the UI configuration (the
release above all), the contract document, the readiness probe."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mock_server.callers import AuthMethod, cookies
from mock_server.node.responses import json_response
from mock_server.units.accounts.handlers import user_json
from mock_server.units.accounts.models import SESSION_COOKIE, RootRole, cookie_value
from mock_server.units.base import Call
from mock_server.versions import UiValue, UnleashContext, VersionProfile


async def current_user(call: Call) -> Response:
    caller, profile = call.caller, call.state.profile
    assert caller is not None  # under /api: the authentication middleware guards it
    if caller.user is None:
        # Unleash describes the admin API token here, secret included; the mock leaves the
        # secret out.
        values = {
            "username": "admin-api-token",
            "permissions": ["ADMIN"],
            "environment": "*",
            "type": "admin",
            "projects": ["*"],
            "internalAdminTokenUserId": -42,
        }
        user: dict = {"isAPI": True} if profile.user_is_api else {}
        user |= {key: values[key] for key in profile.admin_token_keys}
        permissions: list[Mapping[str, str]] = [{"permission": "ADMIN"}]
    else:
        # A session shows the user object of its login, with what the login said.
        session = caller.session if caller.via is AuthMethod.SESSION else None
        deleted = session.deleted_sessions if session else 0
        user = user_json(
            caller.user, session=session is not None, profile=profile, deleted_sessions=deleted
        )
        # The role as it is now: a session remembers the user, not the role.
        now = call.state.accounts.user(caller.user.id) or caller.user
        permissions = _permissions(now.root_role, profile)
    body = {
        "user": user,
        "permissions": permissions,
        "feedback": [],
        "splash": {},
    }
    return json_response(
        body,
        headers={"cache-control": "no-store"},
        if_none_match=call.headers.get("if-none-match"),
    )


def _permissions(role: RootRole, profile: VersionProfile) -> list[Mapping[str, str]]:
    """The root role's permissions, read at each request (a role changed by user-admin shows
    at once, in the session it had)."""
    if role is RootRole.ADMIN:
        return [{"permission": "ADMIN"}]
    if role is RootRole.EDITOR:
        return [dict(entry) for entry in profile.editor_permissions]
    return [{"permission": name} for name in profile.viewer_permissions]


async def ui_config(call: Call) -> Response:
    """The release's recorded UI configuration, with the instance's, the options' and the
    caller's values."""
    state = call.state
    profile, options = state.profile, state.options
    values = {
        UiValue.VERSION: profile.version,
        UiValue.UNLEASH_URL: call.base_url,
        UiValue.BASE_URI_PATH: "",
        UiValue.AUTHENTICATION_TYPE: "open-source",
        UiValue.INSTANCE_ID: state.instance_id,
        UiValue.UNLEASH_CONTEXT: _unleash_context(call, profile.unleash_context),
        UiValue.PATS_KILL_SWITCH: options.pats_kill_switch,
        UiValue.TOKEN_EXPIRY_NOTIFICATIONS: options.token_expiry_notifications,
        UiValue.SECURE_ACCOUNT_TOKEN_STORAGE: options.secure_account_tokens,
    }
    return json_response(
        _filled(profile.ui_config(), values), if_none_match=call.headers.get("if-none-match")
    )


def _filled(recorded: Any, values: Mapping[UiValue, Any]) -> Any:
    if isinstance(recorded, dict):
        return {key: _filled(value, values) for key, value in recorded.items()}
    if isinstance(recorded, list):
        return [_filled(value, values) for value in recorded]
    return values[recorded] if isinstance(recorded, UiValue) else recorded


def _unleash_context(call: Call, form: UnleashContext) -> dict[str, Any]:
    """The flag context Unleash builds from `req.user`: an admin API token's user has neither
    email nor id, and an empty email is `undefined` (JSON drops it). From 8.2 the email is
    hashed, and the hash of the session's id comes wherever a live session cookie does (also
    beside an admin token that acts)."""
    user = call.caller.user if call.caller is not None else None
    context: dict[str, Any] = {}
    if user is not None and user.email:
        context["email"] = _sha256(user.email) if form is UnleashContext.HASHED else user.email
    if user is not None:
        context["userId"] = user.id
    if form is UnleashContext.HASHED:
        session = call.state.sessions.lookup(cookies(call.headers))
        if session is not None:
            # express-session's id: the signed cookie `s:<id>.<signature>` less its signature.
            signed = cookie_value(session.cookie, SESSION_COOKIE) or ""
            context["sessionId"] = _sha256(signed[2:].rpartition(".")[0])
    return context


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def contract(call: Call) -> Response:
    """The release's contract, where Unleash serves its own."""
    return json_response(call.state.profile.spec())


async def health(call: Call) -> Response:
    """The readiness probe deployments (and scripts/real-unleash.sh) wait on."""
    return json_response({"health": "GOOD"})
