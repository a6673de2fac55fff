"""What a server says of itself and of its caller: the current user, the UI configuration (the
release above all), the contract document, the readiness probe."""

from __future__ import annotations

from starlette.responses import Response

from mock_server.callers import AuthMethod
from mock_server.node.responses import json_response
from mock_server.units.accounts.handlers import user_json
from mock_server.units.base import Call


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
        permissions = ["ADMIN"]
    else:
        session = caller.via is AuthMethod.SESSION
        seen_at = call.state.accounts.seen_at(caller.user.id)
        user = user_json(caller.user, session=session, profile=profile, seen_at=seen_at)
        permissions = ["ADMIN"] if caller.user.admin else list(profile.viewer_permissions)
    body = {
        "user": user,
        "permissions": [{"permission": name} for name in permissions],
        "feedback": [],
        "splash": {},
    }
    return json_response(
        body,
        headers={"cache-control": "no-store"},
        if_none_match=call.headers.get("if-none-match"),
    )


async def ui_config(call: Call) -> Response:
    """The part of Unleash's UI configuration a client reads (the release above all), in the
    release's key order."""
    state = call.state
    profile, options = state.profile, state.options
    flags = {"personalAccessTokensKillSwitch": options.pats_kill_switch}
    if profile.expiry_warnings:
        flags["tokenExpiryNotifications"] = options.token_expiry_notifications
    values = {
        "environment": "Open Source",
        "flags": flags,
        "version": profile.version,
        "emailEnabled": False,
        "unleashUrl": call.base_url,
        "baseUriPath": "",
        "authenticationType": "open-source",
        "segmentValuesLimit": 1000,
        "strategySegmentsLimit": 5,
        "frontendApiOrigins": ["*"],
        "versionInfo": {
            "current": {"oss": profile.version, "enterprise": ""},
            "latest": {},
            "isLatest": True,
            "instanceId": state.instance_id,
        },
        "prometheusAPIAvailable": False,
        "disablePasswordAuth": False,
        "maintenanceMode": False,
        "maxSessionsCount": 0,
    }
    return json_response(
        {key: values[key] for key in profile.ui_config_keys},
        if_none_match=call.headers.get("if-none-match"),
    )


async def contract(call: Call) -> Response:
    """The release's contract, where Unleash serves its own."""
    return json_response(call.state.profile.spec())


async def health(call: Call) -> Response:
    """The readiness probe deployments (and scripts/real-unleash.sh) wait on."""
    return json_response({"health": "GOOD"})
