"""Users, admin API tokens and login sessions: `POST /auth/simple/login`, the users and admin
tokens of the fixtures, and their part of the control plane's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server.node.rate_limit import RateLimiter
from mock_server.units.accounts import handlers
from mock_server.units.accounts.models import Accounts, Sessions
from mock_server.units.base import Route, Unit

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


def seed(state: MockState, fixtures: Fixtures) -> None:
    for token in fixtures.admin_tokens:
        state.accounts.add_admin_token(token)
    for user, _ in fixtures.users:
        state.accounts.add_user(user)


def snapshot(state: MockState, out: dict[str, Any], secrets: bool) -> None:
    tokens = state.accounts.admin_tokens()
    out["users"] = [
        {"id": user.id, "username": user.username, "admin": user.admin}
        for user in state.accounts.users()
    ]
    out["adminTokens"] = tokens if secrets else len(tokens)
    out["sessions"] = len(state.sessions)


UNIT = Unit(
    name="accounts",
    routes=(Route("/auth/simple/login", ("POST",), handlers.login),),
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
                        "id": {"type": "integer", "minimum": 1},
                        "username": {"type": "string", "minLength": 1},
                        "password": {"type": "string", "minLength": 1},
                        "name": {"type": "string"},
                        "email": {"type": "string"},
                        "rootRole": {"enum": ["Admin", "Editor", "Viewer"]},
                    },
                },
            },
            "adminTokens": {"type": "array", "items": {"type": "string", "minLength": 1}},
        }
    },
    seed=seed,
    snapshot=snapshot,
)
