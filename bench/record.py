"""Where the bench scripts write their figures: `bench/results/<name>.md`, headed by the date,
the machine (CPU model from /proc/cpuinfo, core count, Python version), the commit measured and
the command that wrote it, so that a reader can tell how old a figure is and how to refresh it.

The docs link these files and never copy their numbers. Each script writes its file when run
with `--write`.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine() -> str:
    return f"{cpu_model()}, {cores()} cores, Python {platform.python_version()}"


def commit() -> str:
    """The commit measured, marked when the work tree differs from it (results/ aside)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", ".", ":(exclude)bench/results")
    return f"{head} (with uncommitted changes)" if changed else head


def command() -> str:
    """The command line that ran the script, as a reader would type it from the repository."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = script.relative_to(ROOT).as_posix()
    except ValueError:
        shown = str(script)
    return shlex.join([".venv/bin/python", shown, *sys.argv[1:]])


def write(name: str, title: str, body: str) -> Path:
    """Write `bench/results/<name>.md`: `title`, when, where and how it was measured, `body`."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    today = datetime.date.today().isoformat()
    path.write_text(
        f"# {title}\n\n"
        f"Measured {today} on {machine()}, at commit {commit()}.\n"
        f"Written by `{command()}`; re-run it to refresh.\n\n"
        f"{body.strip()}\n"
    )
    print(f"written to {path.relative_to(ROOT)}")
    return path
