"""Turn a run's observations into a flat, comparable map, and diff two such maps.

Random-by-nature values become stand-ins for their format (`<secret>`, `<uuid>`, `<timestamp>`);
user ids become the account's label; PAT ids become labels by relation: the bootstraps by name,
the others `new#k` by numeric rank, so "a later PAT has a higher id" is compared too. Everything
else, messages that echo input included, is compared verbatim. Dict key order is compared as an
`@keys` entry because Unleash's order is observable (and clients snapshot it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .targets import Run

SECRET = re.compile(r"user:[0-9a-f]{56}")
# 8.2.0's secure account token (UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN): its own stand-in, so
# that a target making the other format still differs.
SECURE_SECRET = re.compile(r"user:v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
GRAVATAR = re.compile(r"https://gravatar\.com/avatar/[0-9a-f]{64}\?s=42&d=retro&r=g")
ABSENT = "<absent>"


def _is_pat(value: dict[str, Any]) -> bool:
    return "expiresAt" in value and "id" in value


def _is_user(value: dict[str, Any]) -> bool:
    return "username" in value


def _pat_ids(value: Any) -> list[int]:
    if isinstance(value, dict):
        own = [value["id"]] if _is_pat(value) and isinstance(value["id"], int) else []
        return own + [i for v in value.values() for i in _pat_ids(v)]
    if isinstance(value, list):
        return [i for v in value for i in _pat_ids(v)]
    return []


class _Normalizer:
    def __init__(self, run: Run) -> None:
        self.run = run
        target = run.target
        self.users = {a.user_id: a.label for a in target.accounts.values()}
        named = {a.pat_id: f"{a.label}-bootstrap" for a in target.accounts.values() if a.pat_id}
        seen = {i for obs in run.steps.values() for i in _pat_ids(obs.get("body"))}
        others = sorted(i for i in seen if i not in named)
        self.pat_labels = {**named, **{i: f"new#{k}" for k, i in enumerate(others)}}

    def prepare(self, value: Any) -> Any:
        """Lists of PATs sorted by id, because Unleash's list has no ORDER BY."""
        if isinstance(value, dict):
            value = {k: self.prepare(v) for k, v in value.items()}
            pats = value.get("pats")
            if isinstance(pats, list) and all(isinstance(p, dict) and _is_pat(p) for p in pats):
                value["pats"] = sorted(pats, key=lambda p: p["id"])
            return value
        if isinstance(value, list):
            return [self.prepare(v) for v in value]
        return value

    def leaf(self, key: str, value: Any, parent: dict[str, Any] | None) -> Any:
        if isinstance(value, str):
            if value in self.run.volatile:
                return self.run.volatile[value]
            if key == "secret" and SECRET.fullmatch(value):
                return "<secret>"
            if key == "secret" and SECURE_SECRET.fullmatch(value):
                return "<secure secret>"
            if key == "id" and UUID.fullmatch(value):
                return "<uuid>"
            if key == "seenAt" and TIMESTAMP.fullmatch(value):
                return "<seenAt>"
            if key == "createdAt" and TIMESTAMP.fullmatch(value):
                return "<timestamp>"
            if key == "imageUrl" and GRAVATAR.fullmatch(value):
                return "<gravatar url>"
            return value
        if key == "seenAt" and value is None:
            # A PAT's seenAt is set by a flush every 3 minutes, a user's by a login (alice and bob
            # log in at set-up on the real server only): null and a timestamp are one format here.
            return "<seenAt>"
        if isinstance(value, int) and not isinstance(value, bool) and parent is not None:
            if key == "userId" or (key == "id" and _is_user(parent)):
                return self.users.get(value, "<unknown user>")
            if key == "id" and _is_pat(parent):
                return self.pat_labels.get(value, "<unknown pat>")
        return value

    def walk(self, value: Any, path: str, key: str, parent: Any, out: dict[str, Any]) -> None:
        if isinstance(value, dict):
            out[f"{path}.@keys"] = ",".join(value)
            for k, v in value.items():
                self.walk(v, f"{path}.{k}", k, value, out)
        elif isinstance(value, list):
            out[f"{path}.@len"] = len(value)
            for i, v in enumerate(value):
                self.walk(v, f"{path}[{i}]", key, None, out)
        else:
            out[path] = self.leaf(key, value, parent if isinstance(parent, dict) else None)


def normalize(run: Run) -> dict[str, Any]:
    """The run as `step.field` -> comparable value."""
    normalizer = _Normalizer(run)
    out: dict[str, Any] = {}
    for step, observation in run.steps.items():
        for name, value in observation.items():
            if name == "body":
                normalizer.walk(normalizer.prepare(value), f"{step}.body", "", None, out)
            else:
                out[f"{step}.{name}"] = value
    return out


@dataclass(frozen=True)
class Difference:
    field: str
    real: Any
    mock: Any

    def __str__(self) -> str:
        return f"{self.field}: real {self.real!r} / mock {self.mock!r}"


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # 1, 1.0 and True are different JSON


def differences(real: dict[str, Any], mock: dict[str, Any]) -> list[Difference]:
    fields = list(real) + [f for f in mock if f not in real]
    return [
        Difference(f, real.get(f, ABSENT), mock.get(f, ABSENT))
        for f in fields
        if not _same(real.get(f, ABSENT), mock.get(f, ABSENT))
    ]
