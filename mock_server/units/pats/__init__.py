"""Personal access tokens: the contract's three operations, each user's PATs in the fixtures,
and their part of the control plane's state."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from mock_server.instants import timestamp
from mock_server.units.base import FixtureConflict, FixtureError, Unit
from mock_server.units.pats import handlers
from mock_server.units.pats.models import PatStore

if TYPE_CHECKING:
    from mock_server.fixtures import Fixtures
    from mock_server.state import MockState

# Either format authenticates on any release: `user:<56 hex>`, or 8.2.0's secure account token.
SECRET_PATTERN = "^user:([0-9a-f]{56}|v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43})$"


def build(state: MockState, *, store_class: type[PatStore] = PatStore) -> dict[str, PatStore]:
    """The PAT store (`store_class`: a subclass, for a test's deliberately broken mock)."""
    profile, options = state.profile, state.options
    store = store_class(
        clock=state.clock,
        pat_limit=profile.pat_limit,
        new_secret=functools.partial(
            profile.new_secret, secure=options.secure_account_tokens, rng=state.rng
        ),
        seen_at_flush_seconds=options.seen_at_flush_seconds,
    )
    return {"pats": store}


def check(state: MockState, fixtures: Fixtures) -> None:
    """The release's PAT limit (descriptions, NULs and secrets within the fixtures are the
    fixture file's own checks), and secrets already in use in this state."""
    limit, profile = state.profile.pat_limit, state.profile
    over = [
        f"user {user.id} ({user.username}) holds {len(pats)} PATs; {profile.name} allows at "
        f"most {limit} per user"
        for user, pats in fixtures.users
        if len(pats) > limit
    ]
    if over:
        raise FixtureError(f"{fixtures.source}: " + "; ".join(over[:20]))
    in_use = [
        f"user {user.username}, PAT {pat.description[:100]!r}: its secret is in use"
        for user, pats in fixtures.users
        for pat in pats
        if state.pats.in_use(pat.secret)
    ]
    if in_use:
        raise FixtureConflict("; ".join(in_use[:20]))


def seed(state: MockState, fixtures: Fixtures) -> None:
    for user, pats in fixtures.users:
        for pat in pats:
            # A fixture may hold an already expired PAT, to test how clients handle one.
            state.pats.create(
                user.id, pat.description, pat.expires_at, secret=pat.secret, check_expiry=False
            )


def snapshot(state: MockState, out: dict[str, Any], secrets: bool) -> None:
    """Each user's PATs, under the user in `users`."""
    for user in out["users"]:
        user["pats"] = [
            {
                "id": pat.id,
                "description": pat.description,
                "expiresAt": timestamp(pat.expires_at),
                "createdAt": timestamp(pat.created_at),
                "seenAt": timestamp(pat.seen_at) if pat.seen_at else None,
            }
            | ({"secret": state.pats.secret(pat.id)} if secrets else {})
            for pat in state.pats.list(user["id"])
        ]


UNIT = Unit(
    name="pats",
    operations={
        "getPats": handlers.get_pats,
        "createPat": handlers.create_pat,
        "deletePat": handlers.delete_pat,
    },
    build=build,
    fixture_schema={
        "properties": {
            "users": {
                "items": {
                    "properties": {
                        "pats": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["description", "secret", "expiresAt"],
                                "properties": {
                                    "description": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": 10_000,
                                    },
                                    "secret": {"type": "string", "pattern": SECRET_PATTERN},
                                    "expiresAt": {"type": "string", "format": "date-time"},
                                },
                            },
                        }
                    }
                }
            }
        }
    },
    check=check,
    seed=seed,
    snapshot=snapshot,
    rewrite_error=handlers.defect_of,
)
