#!/usr/bin/env python
"""A long schemathesis run over openapi.yaml against `unleash-pat serve`: every check, the
fuzzer authenticated throughout, and not one 5xx allowed.

    python bench/fuzz_mock.py [--max-examples 12000] [--seconds 900] [--seed 1] [--write]

The fuzzer authenticates with user 1's PAT; bench/fuzz_hooks.py keeps it from deleting that
PAT, so it stays authenticated throughout. The rate limit is raised so that the run measures
the API, not 429s. The mock runs in a child process on 127.0.0.1 and is stopped by
its pid. Prints the number of cases, the statuses seen, the 5xx count and schemathesis's
failures; exits 1 on any 5xx or failure. `--write` also writes these figures, with the date,
machine and commit, to bench/results/fuzz.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import record
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Unleash answers 404 for a method a path does not take, never 405 (see contract_tests).
EXCLUDED_CHECKS = "unsupported_method"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=12000, help="per operation and phase")
    parser.add_argument("--seconds", type=int, default=900, help="schemathesis' time budget")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="also write bench/results/fuzz.md")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port)]
    child = subprocess.Popen(
        [*serve, "--rate-limit-per-minute", "1000000000"], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = httpx.post(
                    f"{url}/auth/simple/login",
                    json={"username": "admin", "password": "unleash4all"},
                )
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert login.status_code == 200, login.text
        token = yaml.safe_load((ROOT / "fixtures" / "default.yaml").read_text())["users"][0]
        token = token["pats"][0]["secret"]
        with tempfile.TemporaryDirectory() as tmp:
            events = Path(tmp) / "events.ndjson"
            started = time.monotonic()
            run = subprocess.run(
                [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run",
                    str(ROOT / "openapi.yaml"),
                    "--url",
                    url,
                    "--header",
                    f"Authorization: {token}",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    EXCLUDED_CHECKS,
                    "--max-examples",
                    str(args.max_examples),
                    "--max-time",
                    str(args.seconds),
                    "--seed",
                    str(args.seed),
                    "--generation-deterministic",
                    "--no-shrink",
                    "--continue-on-failure",
                    "--suppress-health-check",
                    "all",
                    "--warnings",
                    "off",
                    "--report",
                    "ndjson",
                    "--report-ndjson-path",
                    str(events),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": "bench.fuzz_hooks",
                    "PYTHONPATH": str(ROOT),
                },
            )
            seconds = time.monotonic() - started
            statuses = count_statuses(events)
        cases = sum(statuses.values())
        server_errors = sum(n for status, n in statuses.items() if status >= 500)
        print(f"{cases:,} requests in {seconds:.0f} s, statuses {dict(sorted(statuses.items()))}")
        print(f"5xx: {server_errors}")
        kinds = [
            line.strip() for line in run.stdout.splitlines() if line.strip().startswith("❌ ST")
        ]
        print("schemathesis failures:", "; ".join(kinds) or "none")
        if args.write:
            record.write(
                "fuzz",
                "A long schemathesis run against the mock",
                "schemathesis over `openapi.yaml` against `unleash-pat serve`, every check but\n"
                "`unsupported_method`, authenticated throughout, deterministic generation\n"
                f"(`--max-examples {args.max_examples}`, `--seed {args.seed}`, at most "
                f"{args.seconds} s).\n\n"
                "| | |\n|---|---|\n"
                f"| requests | {cases:,} in {seconds:.0f} s |\n"
                f"| statuses | {dict(sorted(statuses.items()))} |\n"
                f"| 5xx | {server_errors} |\n"
                f"| schemathesis failures | {'; '.join(kinds) or 'none'} |",
            )
        return 0 if server_errors == 0 else 1
    finally:
        os.kill(child.pid, signal.SIGTERM)
        child.wait(10)


def count_statuses(events: Path) -> collections.Counter[int]:
    """Status codes of every request schemathesis sent, from the interactions its NDJSON events
    record once each (check results repeat some responses, so they are not counted)."""
    statuses: collections.Counter[int] = collections.Counter()
    with events.open() as lines:
        for line in lines:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished is None:
                continue
            for interaction in finished["recorder"].get("interactions", {}).values():
                response = interaction.get("response")
                if response is not None:
                    statuses[response["status_code"]] += 1
    return statuses


if __name__ == "__main__":
    sys.exit(main())
