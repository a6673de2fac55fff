"""What the project claims about Unleash cites what a user can open: the observation pages in
docs/observations/, never a report, a set of notes or a path outside the repository; and every
citation of an observation page names a heading that page has."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBSERVATIONS = ROOT / "docs" / "observations"
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}
SKIPPED_DIRS |= {".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".tox", ".nox"}

# Citations of material that is not in the repository, by what they point to.
OUTSIDE_CITATIONS = {
    "a section of the old reference or findings": re.compile(
        r"\b(?:reference|findings|report)(?:'s)?\s+§", re.IGNORECASE
    ),
    "an issue or its report": re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE),
    "a rule number (R1 to R27) of an unpublished report": re.compile(r"\bR\d{1,2}\b"),
    "a file beside the repository": re.compile(r"shared/reference|\.\./shared/"),
    "unpublished notes": re.compile(r"parity-diffs|unleash-findings"),
    "a path on one machine": re.compile(r"(?<![\w./-])/work/"),
}
# A numbered section sign is allowed only where the line names the public RFC it cites.
SECTION_NUMBER = re.compile(r"§\s*\d")
MEASURED_CLAIM = re.compile(r"measured on (?:a )?real (?:servers?|unleash)", re.IGNORECASE)

# docs/observations/<page>.md, optionally #anchor, then more anchors of the same page:
# "docs/observations/unleash-8.2.0.md#limit, #duplicate and #list" (also across a comment's
# line break: ",\n# #list").
OBSERVATION_REF = re.compile(
    r"(?:docs/)?observations/(?P<page>[\w.-]+\.md)"
    r"(?:#(?P<anchors>[\w-]+(?:(?:,|\s+and)\s*(?:#\s+)?#[\w-]+)*))?"
)
# Inside docs/observations: a Markdown link to another page or to a heading of the same one.
RELATIVE_LINK = re.compile(r"\]\((?P<page>[\w.-]+\.md)?(?:#(?P<anchor>[^)\s]+))?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$")


def tracked_files() -> list[Path]:
    """The repository's files (tracked, or new and not ignored): git's list where git knows it,
    else a walk of the tree without caches, environments and other dot-directories."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        listed = b""
    if listed:
        paths = [ROOT / name for name in listed.decode("utf-8").split("\0") if name]
    else:
        paths = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
            paths += [Path(folder, name) for name in files]
    return sorted(p for p in paths if p.is_file() and not p.is_symlink())


@cache
def text_files() -> dict[str, str]:
    """Every tracked text file (UTF-8, no NUL byte) by its path in the repository."""
    texts = {}
    for path in tracked_files():
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            texts[path.relative_to(ROOT).as_posix()] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def slug(heading: str) -> str:
    """GitHub's anchor: lower case, punctuation other than hyphens and underscores dropped,
    spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def headings(page: Path) -> frozenset[str]:
    """The anchors of a page's headings, outside code blocks; a repeated one gets -1, -2 …"""
    seen: Counter[str] = Counter()
    found = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        match = None if in_code else HEADING.match(line)
        if match:
            anchor = slug(match["text"])
            found.add(f"{anchor}-{seen[anchor]}" if seen[anchor] else anchor)
            seen[anchor] += 1
    return frozenset(found)


def cited_anchors(match: re.Match[str]) -> list[str]:
    """The anchors one OBSERVATION_REF match names, in order."""
    return re.findall(r"#([\w-]+)", "#" + match["anchors"]) if match["anchors"] else []


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def broken(page: Path, anchors: list[str]) -> list[str]:
    """What is wrong with citing `anchors` of `page` (none: the page alone)."""
    if not page.is_file():
        return [f"no page {page.relative_to(ROOT).as_posix()}"]
    return [f"no heading #{a} in {page.name}" for a in anchors if a not in headings(page)]


def test_the_scan_covers_the_repositorys_text_files():
    files = text_files()
    assert THIS_FILE in files
    assert "docs/observations/unleash-8.2.0.md" in files
    assert "tests/parity/deliberate_differences.yaml" in files


def test_no_file_cites_material_a_user_cannot_open():
    problems = []
    for name, text in text_files().items():
        if name == THIS_FILE:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            found = [what for what, pattern in OUTSIDE_CITATIONS.items() if pattern.search(line)]
            if SECTION_NUMBER.search(line) and "RFC" not in line:
                found.append("a numbered section of a document not named")
            if MEASURED_CLAIM.search(line) and "observations/" not in line:
                found.append("a measurement without its observation page")
            if found:
                problems.append(f"{name}:{number}: {'; '.join(found)}: {line.strip()[:100]}")
    assert not problems, "cite docs/observations/ instead:\n" + "\n".join(problems)


def test_every_observation_link_points_to_a_heading():
    problems = []
    for name, text in text_files().items():
        for match in OBSERVATION_REF.finditer(text):
            for problem in broken(OBSERVATIONS / match["page"], cited_anchors(match)):
                problems.append(f"{name}:{line_of(text, match.start())}: {problem}")
        if not name.startswith("docs/observations/"):
            continue
        here = ROOT / name
        for match in RELATIVE_LINK.finditer(text):
            page = here.parent / match["page"] if match["page"] else here
            anchors = [match["anchor"]] if match["anchor"] else []
            for problem in broken(page, anchors):
                problems.append(f"{name}:{line_of(text, match.start())}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_anchors_follow_githubs_rules():
    assert slug("delete-id-range") == "delete-id-range"
    assert slug("How to re-measure one release") == "how-to-re-measure-one-release"
    assert slug("The `defects` (5.x), 8.2.0!") == "the-defects-5x-820"
    assert slug("seen_at") == "seen_at"


def test_a_citation_is_read_with_every_anchor_it_names():
    (one_line,) = OBSERVATION_REF.finditer(
        "(docs/observations/unleash-8.2.0.md#limit, #duplicate and #list) # #contract"
    )
    assert one_line["page"] == "unleash-8.2.0.md"
    assert cited_anchors(one_line) == ["limit", "duplicate", "list"]
    (across_a_comment,) = OBSERVATION_REF.finditer(
        "# docs/observations/unleash-8.2.0.md#limit,\n# #seen-at."
    )
    assert cited_anchors(across_a_comment) == ["limit", "seen-at"]
    (page_only,) = OBSERVATION_REF.finditer("releases cite docs/observations/unleash-7.6.5.md.")
    assert (page_only["page"], cited_anchors(page_only)) == ("unleash-7.6.5.md", [])
