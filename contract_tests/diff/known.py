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

PATH = Path(__file__).with_name("known_differences.yaml")
_KEYS = {"name", "family", "key", "fields", "status", "real_body", "versions", "reason"}
_REQUIRED = ("name", "key", "fields", "versions", "reason")
_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,2})\s*$")


def _version(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def in_range(version: str, spec: str) -> bool:
    """Whether `version` (X.Y.Z) is within `spec`, comparisons joined by commas (">=7,<9")."""
    have = _version(version)
    for part in spec.split(","):
        match = _COMPARISON.match(part)
        if match is None:
            raise ValueError(f"not a version comparison: {part!r} (in {spec!r})")
        op, bound = match.group(1), _version(match.group(2))
        holds = {
            ">=": have >= bound,
            "<=": have <= bound,
            "==": have == bound,
            "!=": have != bound,
            ">": have > bound,
            "<": have < bound,
        }[op]
        if not holds:
            return False
    return True


@dataclass(frozen=True)
class Known:
    name: str
    key: str
    fields: tuple[str, ...]
    versions: str
    reason: str
    family: str = "*"
    status: str = "*"
    real_body: str = ""

    def holds_for(self, version: str) -> bool:
        return in_range(version, self.versions)

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
            versions=str(entry["versions"]),
            reason=" ".join(str(entry["reason"]).split()),
            family=str(entry.get("family", "*")),
            status=str(entry.get("status", "*")),
            real_body=str(entry.get("real_body", "")),
        )
        # A malformed range or pattern is reported now, not mid-run.
        known.holds_for("1.0.0")
        try:
            re.compile(known.real_body)
        except re.error as exc:
            raise ValueError(f"{path}: entry {number}: real_body: {exc}") from None
        loaded.append(known)
    return loaded
