"""`unleash-pat check`: the contract suite from the command line; `unleash-pat diff`: the
mock compared with a real Unleash on generated traffic (contract_tests/diff).

Exit codes: 0 the target conforms (known defects of the baseline allowed) / no undeclared
difference, 1 violations / undeclared differences found, 2 could not run (bad arguments,
unreachable target, bad credentials, no room, interrupted).
Kept cheap to import: schemathesis and hypothesis load only when a check runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="the Unleash to check (default: the mock, in-process)")
    # Credentials also come from the environment (with --base-url), which keeps them out of the
    # process list: any user of the machine can read a process's arguments.
    parser.add_argument(
        "--token", help="a user's PAT (required with --base-url; default: $UNLEASH_PAT)"
    )
    parser.add_argument(
        "--token-2",
        help="a second user's PAT, for the cross-user checks (default: $UNLEASH_PAT_2)",
    )
    parser.add_argument(
        "--admin-token",
        help="an admin API token, for the non-user checks (default: $UNLEASH_ADMIN_TOKEN)",
    )
    parser.add_argument(
        "--username", help="--token's user's username (or e-mail), for the login checks"
    )
    parser.add_argument(
        "--password", help="that user's password (with --username; default: $UNLEASH_PASSWORD)"
    )
    parser.add_argument("--profile", choices=["ci", "thorough"], default="ci")
    parser.add_argument("--seed", type=int, help="random seed (default: derandomized)")
    parser.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument(
        "--rate-limit", type=float, metavar="R", help="at most R requests per second"
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE|RELEASE|auto",
        help="known defects that do not fail a run: a file, a release whose baseline ships with "
        "the suite (8.2.0), or auto (the release whose rules apply)",
    )
    parser.add_argument(
        "--checks",
        metavar="NAMES",
        type=_names,
        default=(),
        help="run only these checks (comma-separated, as the report names them)",
    )
    parser.add_argument(
        "--exclude-checks", metavar="NAMES", type=_names, default=(), help="do not run these"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show known defects in full")
    parser.add_argument(
        "--summary",
        metavar="FILE",
        help="also write a Markdown summary (for CI pages, e.g. $GITHUB_STEP_SUMMARY)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="run only the checks that create nothing"
    )
    parser.add_argument(
        "--unleash-version",
        default="auto",
        metavar="X|auto",
        help="the Unleash version whose rules apply: a release (7.6.5), a major (7: its newest "
        "known release) or auto, read from the target's /api/admin/ui-config (default)",
    )


def run_check(args: argparse.Namespace) -> int:
    from contract_tests.context import CREDENTIAL_VARIABLES, Settings, with_environment
    from contract_tests.report import junit_xml, markdown, plural, summary
    from contract_tests.suite import CannotRun, run_suite

    if args.base_url:
        given = {option: getattr(args, option) for option in CREDENTIAL_VARIABLES}
        vars(args).update(with_environment(given, args.username))
    problem = _argument_problem(args)
    if problem:
        return _cannot_run(problem)
    settings = Settings(
        base_url=args.base_url,
        token=args.token,
        token_2=args.token_2,
        admin_token=args.admin_token,
        username=args.username,
        password=args.password,
        profile=args.profile,
        seed=args.seed,
        rate_limit=args.rate_limit,
        read_only=args.read_only,
        unleash_version=args.unleash_version,
        checks=args.checks,
        exclude_checks=args.exclude_checks,
    )
    try:
        outcome = run_suite(settings, args.baseline)
    except CannotRun as exc:
        return _cannot_run(str(exc))
    except KeyboardInterrupt:
        return _cannot_run("interrupted before the checks started; nothing was created")
    suite = outcome.suite
    report = (outcome.results, suite.target, suite.budget.sent, outcome.seconds)
    print(
        summary(
            *report,
            verbose=args.verbose,
            variables=suite.ctx.redact.variables,
            notices=suite.notices,
        )
    )
    if args.junit_xml:
        junit_xml(outcome.results, args.junit_xml)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as page:  # appended, as CI pages expect
            page.write(markdown(*report))
    if outcome.left_behind:
        print("\nCLEANUP INCOMPLETE:\n  " + "\n  ".join(outcome.left_behind), file=sys.stderr)
    if outcome.interrupted:
        by = suite.budget.interrupted_by
        cause = f"interrupted by {by.name}" if by else "interrupted"
        if outcome.left_behind:
            return _cannot_run(f"{cause}; cleanup incomplete (listed above)")
        if not outcome.deleted:
            return _cannot_run(f"{cause}; the run had no PAT left to delete")
        pats = plural(len(outcome.deleted), "PAT")
        return _cannot_run(f"{cause}; deleted the {pats} it had left: {', '.join(outcome.deleted)}")
    return 0 if outcome.conforms and not outcome.left_behind else 1


def _argument_problem(args: argparse.Namespace) -> str:
    """What makes the arguments unusable, found before any work; "" when nothing does."""
    if args.rate_limit is not None and args.rate_limit <= 0:
        return "--rate-limit must be positive"
    if bool(args.username) != bool(args.password):
        return "--username and --password go together"
    if args.base_url is None:
        credentials = ("token", "token_2", "admin_token", "username", "password")
        given = [name for name in credentials if getattr(args, name)]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            verb = "needs" if len(given) == 1 else "need"
            return f"{options} {verb} --base-url (without it the suite checks the in-process mock)"
    elif problem := _url_problem("--base-url", args.base_url):
        return problem
    for option, value in (("--junit-xml", args.junit_xml), ("--summary", args.summary)):
        if problem := _report_problem(option, value):
            return problem
    return ""


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _cannot_run(message: str, command: str = "check") -> int:
    print(f"unleash-pat {command}: cannot run: {message}", file=sys.stderr)
    return 2


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--real", required=True, metavar="URL", help="the real Unleash")
    parser.add_argument(
        "--admin-token",
        metavar="T",
        help="an admin API token of it: diff makes its own users with it (and removes them); "
        "default: $UNLEASH_ADMIN_TOKEN, which keeps it out of the process list",
    )
    parser.add_argument(
        "--unleash-version",
        default="auto",
        metavar="X|auto",
        help="the version the mock answers as: a release, a major, or auto, read from the real "
        "server's /api/admin/ui-config (default)",
    )
    parser.add_argument(
        "--budget",
        type=int,
        default=500,
        metavar="N",
        help="requests to the real server for the traffic (default 500; setup and cleanup "
        "come on top)",
    )
    parser.add_argument(
        "--seed", type=int, help="the traffic's seed (default: a random one, shown)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=1800.0, help="stop the traffic after this long"
    )
    parser.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument(
        "--known", metavar="FILE", help="known differences (default: the bundled list)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="every field, every group, progress on stderr"
    )
    # Tests only: the "real" server is an unleash-pat mock, whose users are loaded through its
    # control plane as the private mock's are.
    parser.add_argument("--test-only-real-is-mock", action="store_true", help=argparse.SUPPRESS)


def run_diff_command(args: argparse.Namespace) -> int:
    from contract_tests.diff.report import run_and_report

    args.admin_token = args.admin_token or os.environ.get("UNLEASH_ADMIN_TOKEN")
    problem = _url_problem("--real", args.real) or _report_problem("--junit-xml", args.junit_xml)
    if args.budget < 1:
        problem = problem or "--budget must be at least 1"
    if not args.admin_token:
        problem = problem or "--admin-token (or $UNLEASH_ADMIN_TOKEN) is required"
    if problem:
        return _cannot_run(problem, "diff")
    return run_and_report(args)


def _url_problem(option: str, value: str) -> str:
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.netloc:
        return (
            f"{option} must be an http:// or https:// URL such as http://localhost:4242, "
            f"not {value!r}"
        )
    return ""


def _report_problem(option: str, path: str | None) -> str:
    """Why the report file `path` (given as `option`) cannot be written; "" when it can."""
    if not path:
        return ""
    report = Path(path)
    folder = report.parent if report.parent != Path() else Path.cwd()
    if report.is_dir() or not folder.is_dir():
        return f"{option} {path}: not a file in an existing directory"
    if not os.access(report if report.exists() else folder, os.W_OK):
        return f"{option} {path}: not writable"
    return ""
    report = Path(path)
    folder = report.parent if report.parent != Path() else Path.cwd()
    if report.is_dir() or not folder.is_dir():
        return f"--junit-xml {path}: not a file in an existing directory"
    if not os.access(report if report.exists() else folder, os.W_OK):
        return f"--junit-xml {path}: not writable"
    return ""
