#!/usr/bin/env python
"""Measure the contract suite blind: certify the reference and every defective variant with
`unleash-pat check`, each served over real HTTP on 127.0.0.1 (an ephemeral port, a fresh app).

    python bench/defects/run.py [--only ID ...] [--jobs 2] [--timeout S] [--list]

Detected = the check exits 1 (violations); missed = it exits 0; anything else is an error. The
reference (the stock mock) must pass and so must the transparent proxy (the stand-in with no
defect): otherwise the measurement is void and the runner says so. Results go to
bench/results/defect-corpus.json and .md (with --only, to defect-corpus-only.*).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from bench.defects import DEFECTS, Defect, internals, reference, transparent  # noqa: E402
from bench.defects.probe import (  # noqa: E402
    ADMIN_LOGIN,
    ADMIN_PAT,
    ADMIN_TOKEN,
    ALICE_PAT,
    Probe,
    frozen_clock,
)

RESULTS = ROOT / "bench" / "results"
PROFILE = "ci"
VERSION = "8.2.0"
_REPORT_LINE = re.compile(r"^\s+([A-Z]+)\s+(\S+)\s+(\S+)\s+\(")


@dataclass
class Outcome:
    id: str
    kind: str
    outcome: str  # detected | missed | error | pass | false-alarm
    exit_code: int | None
    seconds: float
    failing_checks: list[str] = field(default_factory=list)
    report_lines: list[str] = field(default_factory=list)  # the report's non-PASSED lines
    error: str | None = None
    junit_problem: str | None = None  # a JUnit report the suite wrote but XML cannot read
    # For a missed defect: whether its demo, over real HTTP, tells it from the reference (so
    # the miss is the suite's, not a defect that only shows in process).
    manifests_over_http: bool | None = None


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1, an ephemeral port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(internals.server_config(app, "127.0.0.1", port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"variant-{port}", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the variant's server did not start")
            thread.join(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def check_command(url: str, junit: Path, baseline: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "unleash-pat"),
        "check",
        "--base-url", url,
        "--token", ADMIN_PAT,
        "--token-2", ALICE_PAT,
        "--admin-token", ADMIN_TOKEN,
        "--username", ADMIN_LOGIN[0],
        "--password", ADMIN_LOGIN[1],
        "--profile", PROFILE,
        "--unleash-version", VERSION,
        "--baseline", str(baseline),
        "--junit-xml", str(junit),
    ]  # fmt: skip


def failing_checks(junit: Path) -> tuple[list[str], str | None]:
    """The testcases of the JUnit report that failed or errored, and why the report could not
    be read, if it could not."""
    if not junit.exists():
        return [], "no JUnit report was written"
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError as exc:
        return [], f"the JUnit report is not well-formed XML: {exc}"
    failed = [
        case.get("name", "?")
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return failed, None


def certify(
    variant_id: str, kind: str, build: Callable[[], Any], timeout: float, expect_pass: bool
) -> Outcome:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="defect-corpus-") as tmp:
        junit, baseline = Path(tmp) / "junit.xml", Path(tmp) / "baseline-none"
        baseline.write_text("known: []\n")  # no known defects: nothing is excused
        try:
            with serving(build()) as url:
                process = subprocess.Popen(
                    check_command(url, junit, baseline),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd=tmp,
                )
                try:
                    output, _ = process.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()
                    return Outcome(
                        variant_id, kind, "error", None, time.monotonic() - started,
                        error=f"timed out after {timeout:.0f} s",
                    )  # fmt: skip
        except Exception as exc:  # a stand-in that cannot be served is an error of the run
            return Outcome(
                variant_id, kind, "error", None, time.monotonic() - started, error=repr(exc)
            )
        lines = [
            line.rstrip()
            for line in output.splitlines()
            if _REPORT_LINE.match(line) and _REPORT_LINE.match(line)[1] != "PASSED"  # type: ignore[index]
        ]
        code = process.returncode
        failed, junit_problem = failing_checks(junit)
        if code not in (0, 1):  # the suite did not run: no report is expected
            junit_problem = None
        if junit_problem:  # the report's own lines name the checks then
            failed = [_REPORT_LINE.match(line)[3] for line in lines]  # type: ignore[index]
        if junit_problem:
            junit_problem += f" (kept as bench/results/junit-problems/{variant_id}.xml)"
            keep = RESULTS / "junit-problems"
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"{variant_id}.xml").write_bytes(junit.read_bytes())
    seconds = time.monotonic() - started
    if expect_pass:
        outcome = {0: "pass", 1: "false-alarm"}.get(code, "error")
    else:
        outcome = {0: "missed", 1: "detected"}.get(code, "error")
    error = None if outcome != "error" else _tail(output)
    return Outcome(variant_id, kind, outcome, code, seconds, failed, lines, error, junit_problem)


def manifests_over_http(defect: Defect) -> bool:
    """Run the defect's demo against the reference and the defect, each served over HTTP."""
    seen = []
    for make in (reference, defect.build):
        clock = frozen_clock()
        app = make(clock)
        with serving(app) as url:
            probe = Probe(app, clock, url)
            try:
                seen.append(defect.demo(probe))
            finally:
                probe.close()
    return seen[0] != seen[1]


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write(results: dict[str, Any], stem: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    summary, env = results["summary"], results["machine"]
    controls = ", ".join(f"{c['id']}: {c['outcome']}" for c in results["controls"])
    out = [
        "# Defect corpus: a blind measurement of the contract suite",
        "",
        f"- date: {results['date']}",
        f"- machine: {env['nproc']} cores, Python {env['python']} ({env['platform']})",
        f"- commit: `{results['commit']}`",
        f"- suite: `unleash-pat check --profile {PROFILE} --unleash-version {VERSION}` "
        "with an empty baseline, against each variant served on 127.0.0.1",
        f"- controls (must pass): {controls}",
        f"- **detection rate: {summary['detected']}/{summary['total']} "
        f"({summary['rate']:.1%})**, missed {summary['missed']}, errors {summary['errors']}; "
        f"run time {summary['seconds'] / 60:.1f} min (jobs {results['jobs']})",
        "",
        "| kind | defects | detected |",
        "|---|---|---|",
    ]
    for kind, (total, detected) in sorted(summary["by_kind"].items()):
        out.append(f"| {kind} | {total} | {detected} |")
    out += ["", "| id | kind | result | failing checks |", "|---|---|---|---|"]
    for row in results["defects"]:
        checks = ", ".join(row["failing_checks"]) if row["outcome"] == "detected" else ""
        if row["outcome"] == "error":
            checks = (row["error"] or "").splitlines()[-1][:120] if row["error"] else "?"
        out.append(f"| {row['id']} | {row['kind']} | {row['outcome']} | {checks} |")
    missed = [row for row in results["defects"] if row["outcome"] == "missed"]
    if missed:
        shown = sum(bool(row["manifests_over_http"]) for row in missed)
        out += [
            "",
            "## Missed",
            "",
            f"Each missed defect's demo was run again over real HTTP against the served reference "
            f"and the served defect: {shown} of {len(missed)} showed the difference there too.",
            "",
        ]
        out += [f"- `{row['id']}` ({row['kind']}): {row['description']}" for row in missed]
    problems = [row for row in results["defects"] if row["junit_problem"]]
    if problems:
        out += [
            "",
            "## JUnit reports that are not well-formed XML",
            "",
            "The suite writes a failing request's raw body into the failure text; a gzip body (or "
            "a NUL) puts control bytes there, which XML 1.0 forbids. The exit code and the "
            "printed report are unaffected: the failing checks above come from the printed "
            "report for these.",
            "",
        ]
        out += [f"- `{row['id']}`: {row['junit_problem']}" for row in problems]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these defects")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2))
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per check")
    parser.add_argument("--list", action="store_true", help="list the defects and exit")
    args = parser.parse_args(argv)
    if args.list:
        for d in DEFECTS:
            print(f"{d.id:45} {d.kind:13} {d.description}")
        return 0
    chosen: list[Defect] = DEFECTS
    if args.only:
        unknown = set(args.only) - {d.id for d in DEFECTS}
        if unknown:
            parser.error(f"unknown defect ids: {', '.join(sorted(unknown))}")
        chosen = [d for d in DEFECTS if d.id in args.only]

    started = time.monotonic()
    controls = [
        certify("reference", "control", reference, args.timeout, expect_pass=True),
        certify("transparent-proxy", "control", transparent, args.timeout, expect_pass=True),
    ]
    for control in controls:
        print(f"{control.id:45} {control.outcome:10} {control.seconds:6.1f} s", flush=True)
    if any(c.outcome != "pass" for c in controls):
        print("a control did not pass: the measurement would be void", file=sys.stderr)
        for c in controls:
            print(c.report_lines, c.error, file=sys.stderr)
        return 2

    def run(d: Defect) -> Outcome:
        try:
            outcome = certify(d.id, d.kind, d.build, args.timeout, expect_pass=False)
            if outcome.outcome == "missed":
                outcome.manifests_over_http = manifests_over_http(d)
        except Exception as exc:  # one variant's failure must not lose the others
            outcome = Outcome(d.id, d.kind, "error", None, 0.0, error=repr(exc))
        checks = ", ".join(outcome.failing_checks)
        print(f"{d.id:45} {outcome.outcome:10} {outcome.seconds:6.1f} s  {checks}", flush=True)
        return outcome

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run, chosen))
    seconds = time.monotonic() - started

    by_kind: dict[str, list[int]] = {}
    for d, o in zip(chosen, outcomes, strict=True):
        entry = by_kind.setdefault(d.kind, [0, 0])
        entry[0] += 1
        entry[1] += o.outcome == "detected"
    counts = Counter(o.outcome for o in outcomes)
    results = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "commit": commit(),
        "profile": PROFILE,
        "unleash_version": VERSION,
        "jobs": args.jobs,
        "controls": [asdict(c) for c in controls],
        "summary": {
            "total": len(outcomes),
            "detected": counts["detected"],
            "missed": counts["missed"],
            "errors": counts["error"],
            "rate": counts["detected"] / len(outcomes) if outcomes else 0.0,
            "seconds": round(seconds, 1),
            "by_kind": by_kind,
        },
        "defects": [
            {
                "id": d.id,
                "kind": d.kind,
                "description": d.description,
                "plausibility": d.plausibility,
            }
            | asdict(o)
            for d, o in zip(chosen, outcomes, strict=True)
        ],
    }
    write(results, "defect-corpus" if not args.only else "defect-corpus-only")
    print(
        f"detected {counts['detected']}/{len(outcomes)}, missed {counts['missed']}, "
        f"errors {counts['error']}, {seconds / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
