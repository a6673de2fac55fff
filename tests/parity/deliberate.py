"""deliberate_differences.yaml: the reviewed places where the mock differs from real Unleash on
purpose. An entry names a scenario and the fields (fnmatch globs over `step.field`) it excuses,
and optionally the Unleash `versions` it holds for: a range such as ">=6.6.0" (PEP 440
specifiers, comma-separated), all releases when absent."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .normalize import Difference

PATH = Path(__file__).with_name("deliberate_differences.yaml")
KEYS = ("scenario", "fields", "real", "mock", "reason")
OPTIONAL = ("versions",)


@dataclass(frozen=True)
class Deliberate:
    scenario: str
    fields: tuple[str, ...]
    real: str
    mock: str
    reason: str
    versions: SpecifierSet = field(default_factory=SpecifierSet)  # empty: every release

    def holds_for(self, version: str) -> bool:
        return Version(version) in self.versions

    def covers(self, scenario: str, difference: Difference) -> bool:
        return scenario == self.scenario and any(
            fnmatchcase(difference.field, pattern) for pattern in self.fields
        )


def load(path: Path = PATH) -> list[Deliberate]:
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    loaded = []
    for number, entry in enumerate(entries, 1):
        problems = [k for k in KEYS if not entry.get(k)] + [
            k for k in entry if k not in KEYS + OPTIONAL
        ]
        if problems:
            raise ValueError(f"{path.name} entry {number}: missing or unknown {problems}")
        fields = entry["fields"]
        loaded.append(
            Deliberate(
                entry["scenario"],
                tuple([fields] if isinstance(fields, str) else fields),
                str(entry["real"]),
                str(entry["mock"]),
                str(entry["reason"]),
                SpecifierSet(str(entry.get("versions", ""))),
            )
        )
    return loaded


def judge(
    scenario: str, found: list[Difference], entries: list[Deliberate]
) -> tuple[list[Difference], list[Deliberate]]:
    """The differences no entry excuses, and the entries for `scenario` that excuse nothing
    any more (a stale entry would hide a future regression, so it fails too)."""
    unexplained = [d for d in found if not any(e.covers(scenario, d) for e in entries)]
    stale = [
        e
        for e in entries
        if e.scenario == scenario and not any(e.covers(scenario, d) for d in found)
    ]
    return unexplained, stale
