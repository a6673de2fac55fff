"""Known differences: the one file (known_differences.yaml, or `--known FILE`) that declares
where the mock may differ from a real Unleash, each with its reason and the versions it holds
for. A group of differences is known when one entry matches it: its family, its key (the
variation of an http/burst/limiter item, the operation of a sequence's step) matches `key`
(a glob), every differing field matches one of `fields` (globs), and, when given, the statuses
are `status` ("real/mock", e.g. "500/403") and the real server's body (of the group's
reproduction) holds a match of `real_body` (a regular expression)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

PATH = Path(__file__).with_name("known_differences.yaml")
_KEYS = {"name", "family", "key", "fields", "status", "real_body", "versions", "reason"}
_REQUIRED = ("name", "key", "fields", "versions", "reason")


@dataclass(frozen=True)
class Known:
    name: str
    key: str
    fields: tuple[str, ...]
    versions: SpecifierSet  # PEP 440, e.g. ">=7.0.0,<9"
    reason: str
    family: str = "*"
    status: str = "*"
    real_body: str = ""

    def holds_for(self, version: str) -> bool:
        return Version(version) in self.versions

    def matches(
        self, family: str, key: str, status: str, fields: tuple[str, ...], real_body: str
    ) -> bool:
        return (
            fnmatchcase(family, self.family)
            and fnmatchcase(key, self.key)
            and fnmatchcase(status, self.status)
            and all(any(fnmatchcase(f, pattern) for pattern in self.fields) for f in fields)
            and (not self.real_body or re.search(self.real_body, real_body) is not None)
        )


def _specifiers(path: str | Path, number: int, text: object) -> SpecifierSet:
    try:
        return SpecifierSet(str(text))
    except InvalidSpecifier as exc:
        raise ValueError(f"{path}: entry {number}: versions: {exc}") from None


def load(path: str | Path = PATH) -> list[Known]:
    """The entries of a known-differences file; ValueError names what is wrong with it."""
    entries: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: a list of entries is expected")
    loaded = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: entry {number} is not a mapping")
        missing = [k for k in _REQUIRED if not entry.get(k)]
        unknown = sorted(set(entry) - _KEYS)
        if missing or unknown:
            raise ValueError(f"{path}: entry {number}: missing {missing}, unknown {unknown}")
        fields = entry["fields"]
        known = Known(
            name=str(entry["name"]),
            key=str(entry["key"]),
            fields=tuple(str(f) for f in ([fields] if isinstance(fields, str) else fields)),
            versions=_specifiers(path, number, entry["versions"]),
            reason=" ".join(str(entry["reason"]).split()),
            family=str(entry.get("family", "*")),
            status=str(entry.get("status", "*")),
            real_body=str(entry.get("real_body", "")),
        )
        # A malformed pattern is reported now, not mid-run.
        try:
            re.compile(known.real_body)
        except re.error as exc:
            raise ValueError(f"{path}: entry {number}: real_body: {exc}") from None
        loaded.append(known)
    return loaded
