"""What `pip install unleash-pat` and each extra pull into an empty venv: packages and size.

Builds the wheel, installs it (with .ci/constraints.txt, so that the figures are reproducible)
into one scratch venv per variant and prints the README's table:

    .venv/bin/python bench/install_size.py      # about 3 minutes; needs PyPI

Counts exclude what an empty venv already holds (pip, setuptools); sizes are of site-packages,
less the empty venv's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {"unleash-pat": "", "unleash-pat[check]": "[check]", "unleash-pat[test]": "[test]"}


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def footprint(venv: Path) -> tuple[set[str], int]:
    listed = subprocess.run(
        [venv / "bin/python", "-m", "pip", "list", "--format", "json"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    size = sum(f.stat().st_size for f in site_packages(venv).rglob("*") if f.is_file())
    return {package["name"].lower() for package in json.loads(listed)}, size


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work, ROOT],
            check=True,
        )
        wheel = next(work.glob("unleash_pat-*.whl"))
        print("| install | packages | site-packages |\n|---|---|---|")
        for name, extra in VARIANTS.items():
            venv = work / f"venv{extra}"
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            empty_packages, empty_size = footprint(venv)
            subprocess.run(
                [venv / "bin/python", "-m", "pip", "install", "-q",
                 "-c", ROOT / ".ci/constraints.txt", f"{wheel}{extra}"],
                check=True,
            )  # fmt: skip
            packages, size = footprint(venv)
            added = len(packages - empty_packages)
            print(f"| `pip install {name}` | {added} | {(size - empty_size) / 1e6:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
