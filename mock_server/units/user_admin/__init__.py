"""Unleash's user administration (`/api/admin/user-admin`): list, create, read, change and
delete users, validate and change passwords, behind the ADMIN permission and the create-user
rate limit; search users and list everyone's names, which any user may. The users themselves
are the accounts unit's (`units/accounts/models.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server.node.rate_limit import RateLimiter
from mock_server.units.base import Route, Unit
from mock_server.units.user_admin import handlers
from mock_server.units.user_admin.models import Invites

if TYPE_CHECKING:
    from mock_server.state import MockState

PATH = "/api/admin/user-admin"


def build(state: MockState) -> dict[str, Any]:
    # Unleash's CREATE_USER_RATE_LIMIT_PER_MINUTE, per client address.
    limit = state.options.create_user_rate_limit_per_minute
    return {
        "user_admin_limiter": RateLimiter(state.clock, limit),
        "user_admin_invites": Invites(state.clock, state.rng),
    }


UNIT = Unit(
    name="user_admin",
    # In the order Unleash's controller registers them, which OPTIONS' Allow follows.
    routes=(
        Route(f"{PATH}/validate-password", ("POST",), handlers.validate_password),
        Route(f"{PATH}/{{id}}/change-password", ("POST",), handlers.change_password),
        Route(PATH, ("GET",), handlers.list_users),
        Route(f"{PATH}/search", ("GET",), handlers.search_users),
        Route(f"{PATH}/access", ("GET",), handlers.access),
        Route(PATH, ("POST",), handlers.create_user),
        Route(f"{PATH}/{{id}}", ("GET",), handlers.get_user),
        Route(f"{PATH}/{{id}}", ("PUT",), handlers.update_user),
        Route(f"{PATH}/{{id}}", ("DELETE",), handlers.delete_user),
    ),
    build=build,
)
