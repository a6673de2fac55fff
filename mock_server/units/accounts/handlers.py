"""Logging in and out, and the user object Unleash writes for a user."""

from __future__ import annotations

import hashlib

from starlette.responses import Response

from mock_server.callers import cookies
from mock_server.errors import PasswordMismatch, UnleashError
from mock_server.instants import timestamp
from mock_server.node.responses import json_response, redirect
from mock_server.units.accounts.models import CLEARED_COOKIE, User
from mock_server.units.base import Call
from mock_server.versions import VersionProfile

_LOGIN_SCHEMA = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}

# Unleash's SESSION_CLEAR_SITE_DATA_ON_LOGOUT, on by default: the browser drops what it kept.
_CLEAR_SITE_DATA = '"cookies", "storage"'


def image_url(user: User) -> str:
    """Unleash's generateImageUrl: the gravatar of the email, else the username (Unleash falls
    back on the id, but every user of the mock has one or the other), lower-cased and trimmed unless
    it starts with `@` (its `ident.indexOf('@')` test)."""
    ident = user.email or user.username
    ident = ident.strip() if ident.startswith("@") else ident.lower().strip()
    digest = hashlib.sha256(ident.encode()).hexdigest()
    return f"https://gravatar.com/avatar/{digest}?s=42&d=retro&r=g"


def user_json(
    user: User, *, session: bool, profile: VersionProfile, deleted_sessions: int = 0
) -> dict:
    """Unleash's user object; a session (login, cookie) adds keys that a PAT does not see (a
    login says how many old sessions it ended). An empty name or email is no key at all
    (Unleash reads it as `undefined`, which JSON drops)."""
    body: dict = {"isAPI": False} if profile.user_is_api else {}
    body |= {"accountType": "User", "id": user.id}
    body |= {"name": user.name} if user.name else {}
    body |= {"username": user.username} if user.username else {}
    body |= {"email": user.email} if user.email else {}
    body |= {
        "imageUrl": image_url(user),
        "seenAt": timestamp(user.seen_at) if user.seen_at else None,
        "loginAttempts": 0,
        "createdAt": timestamp(user.created_at),
    }
    if session:
        values = {
            "scimId": None,
            "seatType": None,
            "companyRole": None,
            "productUpdatesEmailConsent": None,
            "deletedSessions": deleted_sessions,
            "activeSessions": profile.max_sessions_per_user,
        }
        body |= {key: values[key] for key in profile.session_user_keys}
    return body


async def login(call: Call) -> Response:
    """A password login (counted by the login limit before it: auth.py)."""
    profile = call.state.profile
    try:
        body = call.json_body(_LOGIN_SCHEMA)
    except UnleashError as error:
        return error.response(profile)
    user = call.state.accounts.check_password(body["username"], body["password"])
    if user is None:
        return PasswordMismatch().response(profile)
    # The answer and the session show the user as it was: seenAt of the login before.
    call.state.accounts.seen(user.id)
    cookie, ended = call.state.sessions.create(user)
    return json_response(
        user_json(user, session=True, profile=profile, deleted_sessions=ended),
        headers={"Set-Cookie": cookie},
    )


async def logout(call: Call) -> Response:
    """Unleash's LogoutController (behind the authentication of /logout): every session of the
    cookie's user ends, even where an admin token acts beside the cookie, and every session of
    the user who acts (a PAT's user too: the PAT itself stays valid); then the cookie is
    cleared and the browser sent to the release's page."""
    state = call.state
    session = state.sessions.lookup(cookies(call.headers))
    users = {session.user.id} if session is not None else set()
    if call.caller is not None and call.caller.user_id is not None:
        users.add(call.caller.user_id)
    for user_id in users:
        state.sessions.end_user_sessions(user_id)
    return redirect(
        state.profile.logout_redirect,
        call.headers.get("accept"),
        {"Set-Cookie": CLEARED_COOKIE, "Clear-Site-Data": _CLEAR_SITE_DATA},
    )
