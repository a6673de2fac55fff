"""`unleash-pat diff`'s report: the summary, each group of differences with its reproduction,
the known ones, JUnit XML, and the exit code (0 no undeclared difference, 1 some, 2 could not
run or interrupted)."""

from __future__ import annotations

import argparse
import sys

from contract_tests.diff.findings import junit_xml, placeholders_note, render_group
from contract_tests.diff.run import CannotRun, DiffOutcome, DiffSettings, run_diff


def settings_from(args: argparse.Namespace) -> DiffSettings:
    return DiffSettings(
        real=args.real.rstrip("/"),
        admin_token=args.admin_token,
        unleash_version=args.unleash_version,
        budget=args.budget,
        seed=args.seed,
        known=args.known,
        max_seconds=args.max_seconds,
        real_is_mock=args.test_only_real_is_mock,
        progress=_progress if args.verbose else None,
    )


def _progress(message: str) -> None:
    print(f"unleash-pat diff: {message}", file=sys.stderr, flush=True)


def summary(outcome: DiffOutcome, real: str, *, verbose: bool) -> str:
    undeclared, groups = outcome.undeclared, outcome.groups
    lines = [
        f"unleash-pat diff of {real} (Unleash {outcome.version}) and the mock as "
        f"{outcome.version}, seed {outcome.seed}",
        f"  {outcome.traffic} requests to each server for {outcome.items} items "
        f"({outcome.exchanges} exchanges compared), {outcome.housekeeping} more to the real "
        f"server to set up and clean up; {outcome.seconds:.1f} s"
        + (f"; stopped: {outcome.stopped}" if outcome.stopped else ""),
        f"  {outcome.differing} items differed: {len(groups)} groups, {len(undeclared)} "
        f"undeclared, {len(groups) - len(undeclared)} known",
    ]
    for number, group in enumerate(groups, 1):
        lines += ["", render_group(number, group, outcome.redact, verbose=verbose)]
    if note := placeholders_note(groups):
        lines += ["", note]
    if verbose and outcome.unseen:
        lines += ["", f"Declared for {outcome.version} but not seen in this run:"]
        lines += [f"  {k.name} ({k.versions}): {k.reason}" for k in outcome.unseen]
    return "\n".join(lines)


def run_and_report(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        outcome = run_diff(settings)
    except CannotRun as exc:
        print(f"unleash-pat diff: cannot run: {exc}", file=sys.stderr)
        return 2
    print(summary(outcome, settings.real, verbose=args.verbose))
    if args.junit_xml:
        junit_xml(outcome.groups, args.junit_xml, outcome.redact, outcome.seconds)
    if outcome.left:
        print("\nCLEANUP INCOMPLETE:\n  " + "\n  ".join(outcome.left), file=sys.stderr)
    if outcome.interrupted_by is not None:
        removed = f"; removed what it had made: {len(outcome.deleted)} PATs and users"
        cause = f"interrupted by {outcome.interrupted_by.name}"
        print(f"unleash-pat diff: cannot run: {cause}{removed}", file=sys.stderr)
        return 2
    return 1 if outcome.undeclared or outcome.left else 0
