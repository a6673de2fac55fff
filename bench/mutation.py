#!/usr/bin/env python
"""Mutation score of the contract suite over the mock's behaviour modules, with mutmut 3.

    pip install -e '.[mutation]'
    python bench/mutation.py [--only GLOB] [--digits 7] [--children 2] [--minutes 20] [--keep DIR]
                             [--json FILE] [--write]
    python bench/mutation.py --profile thorough --mutants NAME...   # e.g. a ci run's survivors

The test command is the contract suite in its `ci` profile against the in-process mock
(`pytest contract_tests/test_contract.py`, one test per check); mutmut runs, for each mutant,
the checks that reached the mutated function. The mutants are those of `MODULES` only.

Bounded time: all the mutants (some 1,800) take over an hour on 2 cores, so by default a
systematic sample runs: the mutants whose number (mutmut numbers them per function) ends in one
of `--digits` ("7": about 1 in 10; "0123456789": all of them). Functions with fewer mutants
than the smallest digit are not sampled. `--minutes` stops mutmut when the time is up (the
mutants not reached are reported as not checked). Each mutant mutmut reports as not killed is
then run once against the whole suite (mutmut credits a function the mock calls while it is
built to the first check only), and that run decides.

It works on a copy of the git-tracked files in a temporary directory (mutmut writes `mutants/`
next to its configuration), and reports killed, survived, timed out, not reached by any check,
and the survivors reviewed as equivalent in `bench/mutation-equivalent.txt` (one a line:
mutant name, then the one-line reason). The mutants of `OUTSIDE_THE_CONTRACT` (control-plane
functions no Unleash has) are counted apart. Score = killed / (checked - timed out - reviewed
equivalent); a mutant no check reaches counts as not killed. `--write` also writes the report,
with the date, machine, commit and settings, to bench/results/mutation.md.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import record

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "bench" / "mutation-equivalent.txt"
MODULES = (
    "mock_server/units/pats/models.py",
    "mock_server/units/pats/handlers.py",
    "mock_server/units/accounts/models.py",
    "mock_server/units/accounts/handlers.py",
    "mock_server/units/server_info/handlers.py",
    "mock_server/auth.py",
    "mock_server/callers.py",
    "mock_server/node/ajv.py",
    "mock_server/node/body_parser.py",
    "mock_server/node/javascript.py",
    "mock_server/instants.py",
    "mock_server/state.py",
    "mock_server/versions/profile.py",
)
# Functions of those modules that only the control plane reaches (reset, runtime options, the
# state snapshot, a seeded mock's error ids, a fixture secret's clash) or only `--state`
# (resuming a file): no Unleash has them, so no contract check can see them; tests/control
# covers them. Their mutants are reported apart and left out of the score.
OUTSIDE_THE_CONTRACT = (
    "mock_server.state.xǁMockStateǁreset",
    "mock_server.state.xǁMockStateǁconfigure",
    "mock_server.state.xǁMockStateǁnew_error_id",
    "mock_server.state.xǁMockStateǁsnapshot",
    "mock_server.units.pats.models.xǁPatStoreǁin_use",
    "mock_server.units.pats.models.xǁPatStoreǁrestore",
    "mock_server.units.accounts.models.xǁAccountsǁrestore",
)
# mutmut's exit codes (mutmut.stats.status_by_exit_code), folded into what the report counts.
# Exit 2: the suite's session ended with "cannot run" (pytest.exit), which the mutant caused.
STATUS = {
    2: "killed",
    1: "killed",
    3: "killed",
    0: "survived",
    33: "no check reaches it",
    5: "no check reaches it",
}
TIMEOUT_CODES = {36, 24, -24, 152, 255}


def _setup_cfg(profile: str) -> str:
    indent = "\n    "
    return (
        "[mutmut]\n"
        "source_paths=mock_server\n"
        f"only_mutate={indent.join(MODULES)}\n"
        "pytest_add_cli_args_test_selection=contract_tests/test_contract.py\n"
        f"pytest_add_cli_args=-p no:cacheprovider -q --unleash-profile {profile}\n"
        # mutmut's default (15x the checks' time) lets a mutant that hangs the mock hold a
        # child for minutes. The constant covers a child's pytest start on a busy machine:
        # with 5 s, mutants seen to survive when run by hand were reported as timed out.
        "timeout_multiplier=1.5\n"
        "timeout_constant=30\n"
        # The stats run leaves the suite's threads (the in-process server's) in mutmut's main
        # process; a child forked from it deadlocks. A fork server has run nothing.
        "process_isolation=forkserver\n"
        f"also_copy=contract_tests{indent}openapi.yaml{indent}fixtures\n"
    )


def _copy_tracked(into: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source, target = ROOT / os.fsdecode(name), into / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def _run_mutmut(work: Path, patterns: list[str], children: int, minutes: float) -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(children), *patterns]
    # Its own process group, so that the time limit stops mutmut and every child it forked.
    process = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        print(f"stopped after {minutes} minutes", file=sys.stderr)


def _results(work: Path, patterns: list[str]) -> dict[str, int | None]:
    """Exit code by mutant name, for the mutants asked for (None: not checked)."""
    found: dict[str, int | None] = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                found[name] = code
    return found


def _confirm(work: Path, codes: dict[str, int | None], profile: str) -> dict[str, int | None]:
    """mutmut runs, for a mutant, only the checks that reached its function in its first run,
    so a function the in-process mock calls while it is built (in a session fixture) is
    credited to the first check alone. Each mutant not killed is run once more against the
    whole suite; the exit code of that run is its result."""
    confirmed = dict(codes)
    for name, code in codes.items():
        outside = name.partition("__mutmut_")[0] in OUTSIDE_THE_CONTRACT
        if outside or STATUS.get(code) not in ("survived", "no check reaches it"):
            continue
        suite = ["contract_tests/test_contract.py", "--unleash-profile", profile]
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *suite],
            cwd=work / "mutants",
            env={**os.environ, "MUTANT_UNDER_TEST": name},
            capture_output=True,
            check=False,
        )
        confirmed[name] = run.returncode
    return confirmed


def _equivalent() -> dict[str, str]:
    reviewed = {}
    for line in EQUIVALENT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, reason = line.split(maxsplit=1)
            reviewed[name] = reason
    return reviewed


def report(codes: dict[str, int | None]) -> dict:
    reviewed = _equivalent()
    status = {
        name: (
            "outside the contract"
            if name.partition("__mutmut_")[0] in OUTSIDE_THE_CONTRACT
            else "timed out"
            if code in TIMEOUT_CODES
            else "not checked"
            if code is None
            else STATUS.get(code, f"other (exit {code})")
        )
        for name, code in codes.items()
    }
    equivalent = {
        n: r for n, r in reviewed.items() if status.get(n) in ("survived", "no check reaches it")
    }
    counts = Counter(status.values())
    checked = sum(n for s, n in counts.items() if s not in ("not checked", "outside the contract"))
    # A timeout is left out of the score (neither killed nor survived): mutmut reports one
    # when a child is merely slow, too.
    killed = counts["killed"]
    denominator = checked - counts["timed out"] - len(equivalent)
    gaps = sorted(
        n
        for n, s in status.items()
        if s in ("survived", "no check reaches it") and n not in equivalent
    )
    return {
        "mutants": len(codes),
        "counts": dict(counts),
        "equivalent": equivalent,
        "score": round(100 * killed / denominator, 1) if denominator else None,
        "gaps": gaps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits", default="7", help="sample: mutant numbers ending in these")
    parser.add_argument(
        "--only",
        default="mock_server.*",
        help="mutated functions matching this glob, e.g. 'mock_server.auth.*' (default: all)",
    )
    parser.add_argument(
        "--mutants",
        nargs="+",
        metavar="NAME",
        help="exactly these mutants (e.g. the survivors of a run, again with --profile thorough)",
    )
    parser.add_argument(
        "--profile",
        choices=["ci", "thorough"],
        default="ci",
        help="the contract suite's profile the mutants are checked with (default: ci)",
    )
    parser.add_argument("--children", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (mutmut's cache)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON")
    parser.add_argument("--write", action="store_true", help="also write bench/results/mutation.md")
    args = parser.parse_args()
    if not args.digits.isdigit():
        parser.error("--digits takes decimal digits, such as 7 or 0123456789")
    with tempfile.TemporaryDirectory(prefix="unleash-pat-mutation-") as temporary:
        work = args.keep or Path(temporary)
        if not (work / "setup.cfg").is_file():
            _copy_tracked(work)
            (work / "setup.cfg").write_text(_setup_cfg(args.profile))
        patterns = args.mutants or [f"{args.only}__mutmut_*{d}" for d in args.digits]
        _run_mutmut(work, patterns, args.children, args.minutes)
        result = report(_confirm(work, _results(work, patterns), args.profile))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if args.write:
        record.write("mutation", "Mutation score", markdown(result, args))
    return 0


def markdown(result: dict, args: argparse.Namespace) -> str:
    """The report as bench/results/mutation.md shows it."""
    sample = (
        f"the mutants {' '.join(args.mutants)}"
        if args.mutants
        else f"`{args.only}`, the mutants whose number ends in one of `{args.digits}`"
    )
    counts = "\n".join(f"| {status} | {n} |" for status, n in sorted(result["counts"].items()))
    gaps = "\n".join(f"- `{name}`" for name in result["gaps"]) or "none"
    score = "no mutant checked" if result["score"] is None else f"{result['score']}%"
    return (
        f"mutmut 3 over the mock's behaviour modules; {sample}; checked with the contract\n"
        f"suite's `{args.profile}` profile against the in-process mock, {args.children} children,\n"
        f"stopped after {args.minutes:g} minutes at most.\n\n"
        f"**Score: {score}** over {result['mutants']} mutants sampled: killed / (checked - timed\n"
        "out - reviewed equivalent); a mutant no check reaches counts as not killed.\n\n"
        f"| status | mutants |\n|---|---|\n{counts}\n"
        f"| reviewed equivalent (`bench/mutation-equivalent.txt`) | {len(result['equivalent'])} |"
        f"\n\nNot killed, not reviewed equivalent:\n\n{gaps}"
    )


if __name__ == "__main__":
    sys.exit(main())
