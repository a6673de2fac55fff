"""What `pip install unleash-pat` and each extra pull into an empty venv: packages and size.

Builds the wheel, installs it (with .ci/constraints.txt, so that the figures are reproducible)
into one scratch venv per variant and prints the figures, or writes them into the README's
table:

    .venv/bin/python bench/install_size.py [--write-readme]    # about 3 minutes; needs PyPI

Counts exclude what an empty venv already holds (pip, setuptools); sizes are of site-packages,
less the empty venv's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("", "[check]", "[test]")
README = ROOT / "README.md"


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


def write_readme(figures: dict[str, tuple[int, float]]) -> None:
    text = README.read_text()
    for extra, (count, megabytes) in figures.items():
        row = re.compile(rf"^(\| `pip install '?\.{re.escape(extra)}'?` \|[^|\n]*\|) .*$", re.M)
        text, found = row.subn(rf"\g<1> {count} | {megabytes:.0f} MB |", text)
        assert found == 1, f"no README row for pip install .{extra}"
    README.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-readme", action="store_true", help="update README.md's table")
    write = parser.parse_args().write_readme
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
        write_readme(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
