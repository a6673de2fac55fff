"""What the installed pytest plugins add to a pytest run that does not use them.

Runs `python -m pytest` on a one-test scratch project, alternately with and without the
package's two plugins (`-p no:unleash_pat -p no:unleash_pat_contract`), and prints the medians
of each process's CPU time (user + system, which other load on the machine disturbs far less
than wall time) and their difference; the budget is 50 ms:

    .venv/bin/python bench/plugin_startup.py [--runs 21] [--write]

It also prints what importing the two plugin modules costs after pytest (`-X importtime`), the
part of the difference that noise cannot hide; `--write` also writes the figures, with the date,
machine and commit, to bench/results/plugin-startup.md. Exit status 1 if the difference exceeds
the budget. A benchmark, not a test: timings on a
shared machine vary too much for a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import record

BUDGET_MS = 50.0
DISABLED = ("-p", "no:unleash_pat", "-p", "no:unleash_pat_contract")


def pytest_cpu_seconds(project: Path, *args: str) -> float:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    before = os.times()
    subprocess.run(command, cwd=project, check=True, capture_output=True)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def plugin_import_ms() -> float:
    """Cumulative import time of the plugin modules, pytest already loaded."""
    plugins = ("mock_server.pytest_plugin", "contract_tests.pytest_options")
    probe = f"import pytest; import {', '.join(plugins)}"
    timings = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        check=True, capture_output=True, text=True,
    ).stderr  # fmt: skip
    total_us = sum(
        int(line.split("|")[1])
        for line in timings.splitlines()
        if line.split("|")[-1].strip() in plugins
    )
    return total_us / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each kind (default 21)")
    parser.add_argument(
        "--write", action="store_true", help="also write bench/results/plugin-startup.md"
    )
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "test_unrelated.py").write_text("def test_x():\n    pass\n")
        pytest_cpu_seconds(project)  # warm the file system cache
        with_plugin, without = [], []
        for _ in range(runs):  # interleaved, so that drifting load hits both alike
            with_plugin.append(pytest_cpu_seconds(project))
            without.append(pytest_cpu_seconds(project, *DISABLED))
    with_ms, without_ms = statistics.median(with_plugin) * 1000, statistics.median(without) * 1000
    added_ms = with_ms - without_ms
    import_ms = plugin_import_ms()
    print(
        f"pytest start-up CPU time, median of {runs}: {with_ms:.0f} ms with the plugin,"
        f" {without_ms:.0f} ms without: {added_ms:+.1f} ms (budget {BUDGET_MS:.0f} ms);"
        f" importing the plugin modules: {import_ms:.1f} ms"
    )
    if args.write:
        record.write(
            "plugin-startup",
            "What the pytest plugins add to a run that does not use them",
            "CPU time (user + system) of `python -m pytest` on a one-test project, with and\n"
            "without the package's plugins (`-p no:unleash_pat -p no:unleash_pat_contract`),\n"
            f"median of {runs} interleaved runs of each.\n\n"
            "| | ms |\n|---|---|\n"
            f"| pytest start-up, plugins loaded | {with_ms:.0f} |\n"
            f"| pytest start-up, plugins disabled | {without_ms:.0f} |\n"
            f"| added by the plugins (budget {BUDGET_MS:.0f} ms) | {added_ms:+.1f} |\n"
            "| importing the two plugin modules after pytest (`-X importtime`)"
            f" | {import_ms:.1f} |",
        )
    return 0 if added_ms <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
