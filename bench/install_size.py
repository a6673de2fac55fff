"""What `pip install unleash-pat` and each extra pull into an empty venv: packages and size.

Builds the wheel, installs it (with .ci/constraints.txt, so that the figures are reproducible)
into one scratch venv per variant and prints the figures; `--write` also writes them, with the
date, machine and commit, to bench/results/install-size.md:

    .venv/bin/python bench/install_size.py [--write]    # about 3 minutes; needs a package index

Counts exclude what an empty venv already holds (pip, setuptools); sizes are of site-packages,
less the empty venv's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import record

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("", "[check]", "[test]")
WHAT = {
    "": "the mock, `unleash-pat serve`, the pytest plugin",
    "[check]": "also the contract suite: `unleash-pat check`, `pytest contract_tests`",
    "[test]": "also what the project's own tests need",
}


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def footprint(venv: Path) -> tuple[set[str], int]:
    listed = subprocess.run(
        [venv / "bin/python", "-m", "pip", "list", "--format", "json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    size = sum(f.stat().st_size for f in site_packages(venv).rglob("*") if f.is_file())
    return {package["name"].lower() for package in json.loads(listed)}, size


def measure(work: Path, wheel: Path, extra: str) -> tuple[int, float]:
    """Packages added and megabytes of site-packages of `wheel` with `extra`, over an empty venv."""
    venv = work / f"venv{extra}"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    empty_packages, empty_size = footprint(venv)
    subprocess.run(
        [venv / "bin/python", "-m", "pip", "install", "-q",
         "-c", ROOT / ".ci/constraints.txt", f"{wheel}{extra}"],
        check=True,
    )  # fmt: skip
    packages, size = footprint(venv)
    return len(packages - empty_packages), (size - empty_size) / 1e6


def target(extra: str) -> str:
    return f"'.{extra}'" if extra else "."


def write_results(figures: dict[str, tuple[int, float]]) -> None:
    rows = "\n".join(
        f"| `pip install {target(extra)}` | {WHAT[extra]} | {count} | {megabytes:.0f} MB |"
        for extra, (count, megabytes) in figures.items()
    )
    record.write(
        "install-size",
        "Install sizes",
        "Packages added to an empty venv, and the growth of its site-packages, installing the\n"
        "wheel with CI's constraints (`.ci/constraints.txt`).\n\n"
        "| install | what you get | packages | site-packages |\n"
        "|---|---|---|---|\n" + rows,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="also write bench/results/install-size.md"
    )
    write = parser.parse_args().write
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work, ROOT],
            check=True,
        )
        wheel = next(work.glob("unleash_pat-*.whl"))
        figures = {extra: measure(work, wheel, extra) for extra in VARIANTS}
    for extra, (count, megabytes) in figures.items():
        print(f"pip install unleash-pat{extra}: {count} packages, {megabytes:.0f} MB")
    if write:
        write_results(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
