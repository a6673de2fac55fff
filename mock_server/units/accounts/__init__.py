"""Users, admin API tokens and login sessions: `POST /auth/simple/login`, `POST /logout`, the
users and admin tokens of the fixtures, and their part of the control plane's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server.control.journal import ADMIN_TOKEN_CHARS
from mock_server.node.rate_limit import RateLimiter
from mock_server.units.accounts import handlers
from mock_server.units.accounts.models import Accounts, Sessions
from mock_server.units.base import FixtureConflict, Route, Unit

# Admin API tokens a state holds at most (a fixtures upload, or all of them): Unleash deployments
# have a handful, and every request's journal entry is checked against them.
MAX_ADMIN_TOKENS = 10_000

if TYPE_CHECKING:
    from mock_server.fixtures import Fixtures
    from mock_server.state import MockState


def build(
    state: MockState,
    *,
    accounts_class: type[Accounts] = Accounts,
    sessions_class: type[Sessions] = Sessions,
) -> dict[str, Any]:
    """Users and admin tokens, sessions, the login limiter (the classes: subclasses, for a
    test's deliberately broken mock)."""
    return {
        "accounts": accounts_class(state.clock),
        "sessions": sessions_class(state.clock, state.profile, state.rng),
        # Unleash's SIMPLE_LOGIN_LIMIT_PER_MINUTE, per client address.
        "login_limiter": RateLimiter(state.clock, state.options.login_rate_limit_per_minute),
    }


def check(state: MockState, fixtures: Fixtures) -> None:
    """Users whose id or username this state already has."""
    clashes = [
        f"user {user.id} ({user.username}) exists"
        for user, _ in fixtures.users
        if state.accounts.user(user.id) or state.accounts.by_username(user.username)
    ]
    if clashes:
        raise FixtureConflict("; ".join(clashes[:20]))


def seed(state: MockState, fixtures: Fixtures) -> None:
    for token in fixtures.admin_tokens:
        state.accounts.add_admin_token(token)
    for user, _ in fixtures.users:
        state.accounts.add_user(user)


def snapshot(state: MockState, out: dict[str, Any], secrets: bool) -> None:
    tokens = state.accounts.admin_tokens()
    out["users"] = [
        {"id": user.id, "username": user.username, "admin": user.admin}
        for user in sorted(state.accounts.users(), key=lambda user: user.id)
    ]
    out["adminTokens"] = tokens if secrets else len(tokens)
    out["sessions"] = len(state.sessions)


UNIT = Unit(
    name="accounts",
    routes=(
        Route("/auth/simple/login", ("POST",), handlers.login),
        Route("/logout", ("POST",), handlers.logout, authenticated=True),
    ),
    build=build,
    fixture_schema={
        "properties": {
            "users": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "username"],
                    "properties": {
                        # PostgreSQL's int4, as Unleash's users.id; strings as its columns.
                        "id": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
                        "username": {"type": "string", "minLength": 1, "maxLength": 255},
                        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
                        "name": {"type": "string", "maxLength": 255},
                        "email": {"type": "string", "maxLength": 255},
                        "rootRole": {"enum": ["Admin", "Editor", "Viewer"]},
                    },
                },
            },
            "adminTokens": {
                "type": "array",
                "maxItems": MAX_ADMIN_TOKENS,
                # The journal finds a token as a word of these characters (journal.py).
                "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 1024,
                    "pattern": f"^[{ADMIN_TOKEN_CHARS}]+$",
                },
            },
        }
    },
    check=check,
    seed=seed,
    snapshot=snapshot,
)
