"""The in-process target: the only module of the suite that touches `mock_server`, and only when
a run targets the mock (the import is lazy, so checking a deployment never loads the mock)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def served_mock(
    unleash_version: str,
    *,
    secure_account_tokens: bool = False,
    wrap: Callable[[Any], Any] | None = None,
) -> Iterator[str]:
    """A fresh mock answering as `unleash_version`, served over HTTP on 127.0.0.1 (a free
    port) by uvicorn under Node's limits, with its control plane on; yields its URL. `wrap`
    puts ASGI middleware around it (the tests' broken variants)."""
    import uvicorn

    from mock_server import Options, create_app
    from mock_server.node.serving import server_config

    options = Options(unleash_version=unleash_version, secure_account_tokens=secure_account_tokens)
    app = create_app(options=options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    # Bytes that are not HTTP are sent on purpose: uvicorn's warning about each is noise here.
    config = server_config(wrap(app) if wrap else app, "127.0.0.1", port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="unleash-pat-diff-mock", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the unleash-pat mock did not start")
            thread.join(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
