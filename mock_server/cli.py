"""`unleash-pat serve` runs the mock; `unleash-pat check` certifies a server against it."""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import gc
import importlib.util
import logging
import math
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn

from mock_server import fixtures as fixture_files
from mock_server.options import Options


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would die
        # by the signal; a stop that was asked for is a clean exit (status 0).
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run_server(
    app: Any,
    host: str,
    port: int,
    log_level: str = "warning",
    sock: socket.socket | None = None,
) -> None:
    """Serve `app` with uvicorn until SIGINT or SIGTERM, once connections are closed; on `sock`
    if given (bound by `listen`), else on `host:port`."""
    # Everything seeded lives as long as the server: keep the collector from rescanning it
    # (with 100,000 seeded users, GC pauses otherwise reach 180 ms at p99).
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off")
    log = logging.getLogger("uvicorn.error")
    log.addFilter(_malformed_requests_at_info)
    try:
        _Server(config).run(sockets=None if sock is None else [sock])
    finally:
        log.removeFilter(_malformed_requests_at_info)


def _malformed_requests_at_info(record: logging.LogRecord) -> bool:
    """uvicorn logs bytes that are not HTTP as a server warning with no context. They are the
    client's error, answered 400 (as Express does, silently), and the contract suite sends them
    on purpose: say so, at info level."""
    if record.msg != "Invalid HTTP request received.":
        return True
    record.msg = "a client sent a request that is not valid HTTP/1.1; answered 400 Bad Request"
    record.levelno, record.levelname = logging.INFO, "INFO"
    return logging.getLogger(record.name).isEnabledFor(logging.INFO)


class CannotListen(Exception):
    pass


def listen(host: str, port: int) -> socket.socket:
    """Bind `host:port` now, so that a busy port is reported before anything is printed or built
    (uvicorn would bind only after start-up, and then exit 1 with a logged error)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is free
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(
                f"port {port} on {host} is already in use (is another server running there?);"
                " choose a free one with --port"
            ) from exc
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    # Listening already: a client that connects as soon as the banner shows waits in the backlog
    # (uvicorn's size) for the server, rather than being refused.
    sock.listen(2048)
    return sock


_SHOWN_USERS = 10


def _serve(args: argparse.Namespace) -> int:
    try:
        sock = listen(args.host, args.port)
    except CannotListen as exc:
        print(f"unleash-pat: {exc}", file=sys.stderr)
        return 2
    with sock:
        return _serve_on(sock, args)


def _serve_on(sock: socket.socket, args: argparse.Namespace) -> int:
    from mock_server.app import create_app

    options = Options(
        token_expiry_notifications=args.token_expiry_notifications,
        token_expiry_notification_days=tuple(
            args.token_expiry_notification_days or Options.token_expiry_notification_days
        ),
        pats_kill_switch=args.pats_kill_switch,
        rate_limit_per_minute=args.rate_limit_per_minute,
        seen_at_flush_seconds=args.seen_at_flush_seconds,
    )
    try:
        fixtures = fixture_files.load(args.fixtures)
        app = create_app(fixtures, options=options)
    except fixture_files.FixtureError as exc:
        print(f"unleash-pat: invalid fixtures: {exc}", file=sys.stderr)
        return 2
    profile = app.state.profile
    port = sock.getsockname()[1]  # the one the system chose for --port 0
    lines = [f"unleash-pat mock of {profile.name} PAT API at http://{args.host}:{port}"]
    for user, pats in fixtures.users[:_SHOWN_USERS]:
        login = f" password {user.password!r}" if user.password else ""
        lines += [f"  user {user.id} {user.username}{login}: PAT {pat.secret}" for pat in pats]
        lines += [] if pats else [f"  user {user.id} {user.username}{login}"]
    if len(fixtures.users) > _SHOWN_USERS:
        lines.append(f"  … and {len(fixtures.users) - _SHOWN_USERS} more users")
    lines += [f"  admin API token {token}" for token in fixtures.admin_tokens]
    print("\n".join(lines), flush=True)
    run_server(app, args.host, port, args.log_level, sock)
    return 0


def _number(kind: type[int] | type[float], minimum: float, maximum: float = math.inf) -> Any:
    """An argparse type: a finite `kind` within [minimum, maximum]."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and minimum <= value <= maximum):
            bounds = f"from {minimum:g} to {maximum:g}" if maximum < math.inf else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


_LOG_LEVELS = ["critical", "error", "warning", "info", "debug", "trace"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unleash-pat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the mock Unleash PAT API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--port",
        type=_number(int, 0, 65535),
        default=4242,
        help="port to listen on (default 4242; 0: any free port, shown in the banner)",
    )
    serve.add_argument("--fixtures", help="seed data YAML (default: the bundled default.yaml)")
    serve.add_argument(
        "--token-expiry-notifications",
        action="store_true",
        help="Unleash's tokenExpiryNotifications flag: list PATs with expiryWarning",
    )
    serve.add_argument(
        "--token-expiry-notification-days",
        type=_number(int, 0),
        nargs="+",
        metavar="DAYS",
        help="lead times for expires-soon (default: 14 3; needs --token-expiry-notifications)",
    )
    serve.add_argument(
        "--pats-kill-switch",
        action="store_true",
        help="Unleash's personalAccessTokensKillSwitch: 404 'PATs are disabled.'",
    )
    serve.add_argument(
        "--rate-limit-per-minute",
        type=_number(int, 1),
        default=20_000,
        help="PAT-authenticated requests per client IP and minute (default 20000)",
    )
    serve.add_argument(
        "--seen-at-flush-seconds",
        type=_number(float, 0),
        default=180.0,
        help="how often PAT uses are written to seenAt (Unleash: 180; 0: at once)",
    )
    serve.add_argument(
        "--log-level", choices=_LOG_LEVELS, default="warning", help="uvicorn's log level"
    )
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check", help="certify an Unleash (or the mock) against the contract"
    )
    from contract_tests.cli import add_check_arguments, run_check

    add_check_arguments(check)
    missing = [name for name in _CHECK_EXTRA if importlib.util.find_spec(name) is None]
    check.set_defaults(run=functools.partial(_needs_check_extra, missing) if missing else run_check)
    return parser


# What `unleash-pat[check]` adds to a plain install; the contract suite needs all of it.
_CHECK_EXTRA = ("schemathesis", "hypothesis")


def _needs_check_extra(missing: list[str], args: argparse.Namespace) -> int:
    print(
        f"unleash-pat check: cannot run: the contract suite needs {' and '.join(missing)},"
        " which a plain install leaves out; install them with: pip install 'unleash-pat[check]'",
        file=sys.stderr,
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    serving = args.command == "serve"
    if serving and args.token_expiry_notification_days and not args.token_expiry_notifications:
        # Unleash reads the days only for the flag's warnings: alone they would change nothing.
        parser.error("--token-expiry-notification-days needs --token-expiry-notifications")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
