"""The in-process target: the only module of the suite that touches `mock_server`, and only when
a run targets the mock (the import is lazy, so checking a deployment never loads the mock)."""

from __future__ import annotations

from typing import Any


def start_mock() -> Any:
    """A fresh mock with its default fixtures, as an ASGI app. It writes PAT uses every second
    (Unleash: every few minutes), so that a run sees `seenAt` without waiting for a batch."""
    from mock_server import Options, create_app

    return create_app(options=Options(seen_at_flush_seconds=1.0))


def _fixtures(app: Any) -> Any:
    """The fixtures the mock `app` was seeded with; ASGI middleware around it is followed
    through its `.app`."""
    layer = app
    while True:
        try:
            return layer.state.fixtures  # where create_app keeps the fixtures it seeded
        except AttributeError:
            if not hasattr(layer, "app"):
                raise LookupError(
                    "the app is not the mock's (no fixtures found); pass the tokens"
                ) from None
            layer = layer.app


def credentials(app: Any) -> tuple[str, str, str]:
    """The first user's PAT, the second user's PAT and the admin API token that the mock `app`
    was seeded with."""
    fixtures = _fixtures(app)
    try:
        return (
            fixtures.users[0][1][0].secret,
            fixtures.users[1][1][0].secret,
            fixtures.admin_tokens[0],
        )
    except IndexError:
        raise LookupError(
            "the mock's fixtures lack two users with a PAT and an admin API token; pass the tokens"
        ) from None


def password_login(app: Any) -> tuple[str, str] | None:
    """The first user's username and password in the mock `app`'s fixtures (None: it has no
    password, so the login checks are not run)."""
    user = _fixtures(app).users[0][0]
    return (user.username, user.password) if user.password is not None else None
