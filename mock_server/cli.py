"""`unleash-pat serve` runs the mock; `unleash-pat check` certifies a server against it;
`unleash-pat diff` compares it with a real Unleash.

This module imports the standard library only at its top: the mock (connexion, jsonschema,
yaml) loads inside `main`, where a Ctrl-C or SIGTERM during `serve`'s start-up is a quiet stop
rather than a traceback from the middle of an import. Run as `python -m mock_server.cli`, a
stop while this module itself still loads is as quiet.
"""

from __future__ import annotations

import signal
import sys


def _stop_before_main(signum: int, frame: object) -> None:
    raise SystemExit(0)


_BEFORE_MAIN = (
    {s: signal.signal(s, _stop_before_main) for s in (signal.SIGINT, signal.SIGTERM)}
    if __name__ == "__main__"
    else {}
)

import argparse  # noqa: E402 (after the handlers above, as every import of this module)
import functools  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from types import FrameType  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from mock_server.control.hosts import is_loopback  # noqa: E402

if TYPE_CHECKING:
    from mock_server import fixtures as fixture_files

_SHOWN_USERS = 10


def _control_on(args: argparse.Namespace) -> bool:
    """On by default on loopback; elsewhere only behind a token (anyone who can reach the mock
    could otherwise read every secret from /_unleash-pat/state)."""
    if args.no_control:
        return False
    if args.control_token is None and not is_loopback(args.host):
        print(
            f"unleash-pat: control API off: serving on {args.host}, which is not loopback, "
            "needs --control-token",
            file=sys.stderr,
        )
        return False
    return True


def _serve(args: argparse.Namespace) -> int:
    # Everything that can fail is checked before the banner: a newcomer who sees the banner may
    # take for granted that the mock answers on that port.
    from mock_server import fixtures as fixture_files
    from mock_server.app import create_app
    from mock_server.control.journal import redacted_access_log
    from mock_server.node.serving import CannotListen, listen, run_server
    from mock_server.options import Options
    from mock_server.persistence import StateFileError

    options = Options(
        unleash_version=args.unleash_version,
        secure_account_tokens=args.secure_account_tokens,
        token_expiry_notifications=args.token_expiry_notifications,
        token_expiry_notification_days=tuple(
            args.token_expiry_notification_days or Options.token_expiry_notification_days
        ),
        pats_kill_switch=args.pats_kill_switch,
        rate_limit_per_minute=args.rate_limit_per_minute,
        seen_at_flush_seconds=args.seen_at_flush_seconds,
        bug_compatible=args.bug_compatible,
        seed=args.seed,
    )
    control = _control_on(args)
    try:
        fixtures = fixture_files.load(args.fixtures)
    except fixture_files.FixtureError as exc:
        return _invalid_fixtures(exc)
    if (refusal := _exposure(args.host, fixtures, args.require_own_fixtures)) is not None:
        return refusal
    try:
        sock = listen(args.host, args.port)
    except CannotListen as exc:
        print(f"unleash-pat: {exc}", file=sys.stderr)
        return 2
    with sock:
        try:
            app = create_app(
                fixtures,
                options=options,
                control=control,
                control_token=args.control_token,
                # Its own address: a client may name it in Host (a wildcard such as 0.0.0.0 too,
                # which no rebinding page sends: its Host is the page's own name).
                control_allowed_hosts=[args.host, *args.control_allowed_host],
                state_path=args.state,
            )
        except fixture_files.FixtureError as exc:  # fixtures the Unleash version refuses
            return _invalid_fixtures(exc)
        except StateFileError as exc:
            print(f"unleash-pat: --state {exc}", file=sys.stderr)
            return 2
        except ValueError as exc:  # an unknown version, or an option the version does not have
            print(f"unleash-pat: {exc}", file=sys.stderr)
            return 2
        if app.state.version_notice:
            print(f"unleash-pat: {app.state.version_notice}", file=sys.stderr)
        port = sock.getsockname()[1]  # the one the system chose for --port 0
        banner = _banner(app.state.profile.name, fixtures, args.host, port, control=control)
        print(banner, flush=True)
        # Its query strings may hold credentials, as the journal's: redacted alike.
        with redacted_access_log(lambda token: app.state.accounts.is_admin_token(token)):
            run_server(app, args.host, port, args.log_level, sock)
    return 0


def _invalid_fixtures(exc: fixture_files.FixtureError) -> int:
    print(f"unleash-pat: invalid fixtures: {exc}", file=sys.stderr)
    return 2


def _banner(
    version: str, fixtures: fixture_files.Fixtures, host: str, port: int, *, control: bool
) -> str:
    lines = [f"unleash-pat mock of {version} PAT API at http://{host}:{port}"]
    for user, pats in fixtures.users[:_SHOWN_USERS]:
        login = f" password {user.password!r}" if user.password else ""
        lines += [f"  user {user.id} {user.username}{login}: PAT {pat.secret}" for pat in pats]
        lines += [] if pats else [f"  user {user.id} {user.username}{login}"]
    if len(fixtures.users) > _SHOWN_USERS:
        lines.append(f"  … and {len(fixtures.users) - _SHOWN_USERS} more users")
    lines += [f"  admin API token {token}" for token in fixtures.admin_tokens]
    if control:
        lines.append(f"  control API at http://{host}:{port}/_unleash-pat/")
    return "\n".join(lines)


def _exposure(host: str, fixtures: fixture_files.Fixtures, require_own: bool) -> int | None:
    """Warn when a non-loopback host exposes credentials published with this package; with
    --require-own-fixtures, refuse to (exit 2). None: go on."""
    if is_loopback(host):
        return None
    from mock_server.fixtures import published_credentials

    public = published_credentials() & fixtures.credentials()
    if not public:
        return None
    what = f"{len(public)} credential(s) published with unleash-pat (the bundled default.yaml)"
    if require_own:
        print(
            f"unleash-pat: {host} is not loopback and the fixtures hold {what}; "
            "use --fixtures with credentials of your own",
            file=sys.stderr,
        )
        return 2
    print(
        f"unleash-pat: WARNING: serving on {host}, reachable from other machines, with {what}: "
        "anyone who reads this package's README can use them (--fixtures for your own, "
        "--require-own-fixtures to refuse)",
        file=sys.stderr,
    )
    return None


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


def _control_token(text: str) -> str:
    """An argparse type: a token a client can send. An empty one (`--control-token "$UNSET"`)
    would otherwise guard nothing."""
    if not text.strip() or text != text.strip():
        raise argparse.ArgumentTypeError(
            "is empty or has spaces around it (an unset variable?): give a token of your own"
        )
    return text


def _flush_seconds(text: str) -> float:
    """An argparse type: a seenAt interval Options takes."""
    from mock_server.options import seen_at_flush_seconds

    try:
        return seen_at_flush_seconds(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("seen_at_flush_seconds ")) from None


_LOG_LEVELS = ["critical", "error", "warning", "info", "debug", "trace"]


def build_parser() -> argparse.ArgumentParser:
    from mock_server import versions

    parser = argparse.ArgumentParser(
        prog="unleash-pat", description=__doc__.partition("\n")[0] if __doc__ else None
    )
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
        "--unleash-version",
        metavar="X",
        help=f"the Unleash to answer as: {', '.join(versions.profiles())}, or a major "
        f"(default {versions.default().version})",
    )
    serve.add_argument(
        "--secure-account-tokens",
        action="store_true",
        help="UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN (8.2): new secrets are user:v2_…",
    )
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
        type=_number(int, 1, 1_000_000_000),
        default=20_000,
        help="PAT-authenticated requests per client IP and minute (default 20000)",
    )
    serve.add_argument(
        "--seen-at-flush-seconds",
        type=_flush_seconds,
        default=180.0,
        help="how often PAT uses are written to seenAt (Unleash: 180; 0: at once; else 0.001 "
        "to 86400)",
    )
    serve.add_argument(
        "--no-control",
        action="store_true",
        help="no control API: /_unleash-pat/ answers as any unknown path",
    )
    serve.add_argument(
        "--control-token",
        type=_control_token,
        metavar="TOKEN",
        help="the control API needs 'Authorization: Bearer TOKEN' (required off loopback)",
    )
    serve.add_argument(
        "--control-allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name the control API answers besides loopback ones and --host (a "
        "docker-compose service name, say); repeatable",
    )
    serve.add_argument(
        "--seed",
        type=int,
        help="make secrets and error ids reproducible (ids are a sequence anyway)",
    )
    serve.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="keep users, PATs and ids in this SQLite file across restarts (default: memory)",
    )
    serve.add_argument(
        "--bug-compatible",
        action="store_true",
        help="answer the version's defects as it does (500s leaking SQL), not the 4xx meant",
    )
    serve.add_argument(
        "--require-own-fixtures",
        action="store_true",
        help="on a non-loopback --host, refuse to serve the bundled, public credentials",
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
    check.set_defaults(
        run=functools.partial(_needs_check_extra, missing, "check") if missing else run_check
    )

    diff = commands.add_parser(
        "diff", help="compare the mock with a real Unleash on generated traffic"
    )
    from contract_tests.cli import add_diff_arguments, run_diff_command

    add_diff_arguments(diff)
    diff.set_defaults(
        run=functools.partial(_needs_check_extra, missing, "diff") if missing else run_diff_command
    )
    return parser


# What `unleash-pat[check]` adds to a plain install; the contract suite needs all of it.
_CHECK_EXTRA = ("schemathesis", "hypothesis")


def _needs_check_extra(missing: list[str], command: str, args: argparse.Namespace) -> int:
    print(
        f"unleash-pat {command}: cannot run: the contract suite needs {' and '.join(missing)},"
        " which a plain install leaves out; install them with: pip install 'unleash-pat[check]'",
        file=sys.stderr,
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] != ["serve"] or threading.current_thread() is not threading.main_thread():
        return _run(argv)
    return _serve_stoppable(argv)


def _run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    serving = args.command == "serve"
    if serving and args.token_expiry_notification_days and not args.token_expiry_notifications:
        # Unleash reads the days only for the flag's warnings: alone they would change nothing.
        parser.error("--token-expiry-notification-days needs --token-expiry-notifications")
    return args.run(args)


class _StopAsked:
    """Start-up's handler of SIGINT and SIGTERM: a KeyboardInterrupt, to stop at once, and a
    note of the stop (`asked`), which the server reads when it takes the signals over: a
    dependency may swallow the exception (a bare `except:` around an optional import)."""

    asked = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.asked = True
        raise KeyboardInterrupt


def _serve_stoppable(argv: list[str]) -> int:
    """A Ctrl-C (or a SIGTERM, taken as one) before uvicorn handles them itself ends `serve`
    quietly with status 0, as uvicorn's own stop does. Only in the main thread, which alone
    takes signals; the previous handlers are back after."""
    stop = _StopAsked()
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with warnings.catch_warnings():
            # A stop between uvicorn making its serve() coroutine and running it frees the
            # coroutine unawaited: no news in a stop.
            warnings.filterwarnings("ignore", _UNAWAITED_SERVE, RuntimeWarning)
            return _run(argv)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        # Python 3.11 wraps what a class's __set_name__ raises (a stop while a dataclass is
        # made) in a RuntimeError.
        if not isinstance(error.__cause__, KeyboardInterrupt):
            raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    # CPython marks a KeyboardInterrupt raised inside an exec() of a string (dataclasses build
    # their methods so) as unhandled, caught or not, and `python -m` then ends by SIGINT at
    # exit; the next exec() of a string clears the mark.
    exec("")
    return 0


_UNAWAITED_SERVE = "coroutine 'Server.serve' was never awaited"


if __name__ == "__main__":
    try:
        for signum, handler in _BEFORE_MAIN.items():
            signal.signal(signum, handler)
        status = main()
    except KeyboardInterrupt:  # between the handlers above and main()'s own: as quiet
        status = 0
    sys.exit(status)
