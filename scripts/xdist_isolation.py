"""`python scripts/xdist_isolation.py [RUNS]`: runs the user suite of tests/control/user_xdist
with `pytest -n 2` RUNS times (50 by default): one of its tests leaves a slow request in flight,
the others count exactly what they did. Prints how many runs passed; exits 1 unless all did.
Needs pytest-xdist (in the `test` extra)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent / "tests" / "control" / "user_xdist"


def run_once() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def main(runs: int) -> int:
    passed = 0
    started = time.monotonic()
    for n in range(1, runs + 1):
        result = run_once()
        if result.returncode == 0:
            passed += 1
        else:
            print(f"run {n} failed:\n{result.stdout[-3000:]}", file=sys.stderr)
    seconds = time.monotonic() - started
    print(f"xdist isolation: {passed} passed, {runs - passed} failed ({seconds:.0f} s)")
    return 0 if passed == runs else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
