"""Seed data: users, their PATs and admin API tokens (and any section a unit adds), from a YAML
file (fixtures/default.yaml) or parsed data.

The file's JSON Schema is assembled from the units' sections, so a unit's fixtures are checked
like the rest; a file is checked whole before anything is seeded: every string must be storable
as PostgreSQL text (UTF-8 without lone surrogates, no NUL), every number finite, and the document
nested no deeper than a fixture file is.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mock_server.instants import is_date_time, parse_date_time
from mock_server.units import UNITS, Unit
from mock_server.units.accounts.models import RootRole, User
from mock_server.units.base import FixtureConflict, FixtureError

__all__ = [
    "FixtureConflict",
    "FixtureError",
    "Fixtures",
    "SeedPat",
    "load",
    "nested_too_deep",
    "parse",
    "schema",
    "schema_problem",
]

_FORMATS = jsonschema.FormatChecker(formats=())
# A format applies to strings only: a date-time given as a number is the type's error.
_FORMATS.checks("date-time")(lambda value: not isinstance(value, str) or is_date_time(value))
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 2-3x faster on big files
MAX_DEPTH = 32  # a fixture file nests 5 levels deep; a unit's own section gets some room
_SHOWN_PROBLEMS = 20  # a message names this many at most


@dataclass(frozen=True)
class SeedPat:
    description: str
    secret: str
    expires_at: datetime


@dataclass(frozen=True)
class Fixtures:
    users: tuple[tuple[User, tuple[SeedPat, ...]], ...]
    admin_tokens: tuple[str, ...]
    source: str = "<fixtures>"  # the file, for error messages
    # The whole validated document, for units with sections of their own.
    data: Mapping[str, Any] = field(default_factory=dict)

    def credentials(self) -> set[str]:
        """Every secret a client could authenticate with: PATs, admin tokens, passwords."""
        found = set(self.admin_tokens)
        for user, pats in self.users:
            found |= {pat.secret for pat in pats}
            found |= {user.password} if user.password else set()
        return found


def schema(units: Iterable[Unit] = UNITS) -> dict[str, Any]:
    """The fixture file's JSON Schema: an object of the units' sections, nothing else."""
    import json_merge_patch

    document: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
    for unit in units:
        document = json_merge_patch.merge(document, copy.deepcopy(dict(unit.fixture_schema)))
    return document


DEFAULT_PATH = Path(__file__).resolve().parent / "fixtures" / "default.yaml"
if not DEFAULT_PATH.exists():  # running from a source checkout rather than an installed wheel
    DEFAULT_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "default.yaml"


def published_credentials() -> set[str]:
    """The credentials of the bundled default.yaml: public, since the package publishes them."""
    return load(DEFAULT_PATH).credentials()


def read_yaml(text: str, source: str) -> Any:
    """YAML without aliases: a few nested aliases make a document exponentially large to walk,
    and fixtures never need one."""
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise FixtureError(f"{source}: YAML aliases are not accepted in fixtures")
        return yaml.load(text, Loader=_LOADER)
    except (yaml.YAMLError, RecursionError) as exc:
        raise FixtureError(f"{source}: not valid YAML: {exc}") from None


def load(path: str | Path | None = None, units: Iterable[Unit] = UNITS) -> Fixtures:
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from None
    data = read_yaml(text, str(path))
    return parse({} if data is None else data, str(path), units)  # None: an empty file


def _where(path: Iterable[Any], top: str = "top level") -> str:
    return "/".join(str(p) for p in path)[:200] or top


def schema_problem(error: jsonschema.ValidationError, top: str = "top level") -> str:
    """A schema error in words that never quote the value: it may be a secret, or megabytes.
    `top` names the document itself."""
    where = _where(error.absolute_path, top)
    if error.absolute_path and error.absolute_path[-1] == "secret":
        return (
            f"at {where}: must be user: followed by 56 lowercase hex digits, or a secure "
            "account token user:v2_<22 base64url>_<43 base64url>"
        )
    if "x-error" in error.schema:  # the document's own words for a rule of its
        return f"at {where}: {error.schema['x-error']}"
    expected = error.validator_value
    said = {
        "type": f"must be of type {expected}",
        "minimum": f"must be at least {expected}",
        "maximum": f"must be at most {expected}",
        "minLength": f"is too short (at least {expected} characters)",
        "maxLength": f"is too long (at most {expected} characters)",
        "minItems": f"has too few items (at least {expected})",
        "maxItems": f"has too many items (at most {expected})",
        "enum": f"must be one of {expected}",
        "pattern": f"must match {expected}",
        "format": f"must be a {expected}",
    }.get(str(error.validator))
    return f"at {where}: {said or error.message[:200]}"  # names properties, not values


def nested_too_deep(data: Any) -> bool:
    """Whether `data` nests deeper than MAX_DEPTH: walked with a stack, so that no check after
    this one (a schema's, a message's repr) meets a RecursionError."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False


def _unsound(data: Any) -> list[str]:
    """What no store can keep, wherever it is: nesting deeper than MAX_DEPTH, a lone surrogate
    or a NUL in a string, a number that is not finite."""
    if nested_too_deep(data):
        return [f"nested deeper than {MAX_DEPTH} levels"]
    problems: list[str] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack and len(problems) < _SHOWN_PROBLEMS:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append((key, (*path, "<key>")))
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, n)) for n, item in enumerate(value))
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(f"at {_where(path)}: not encodable as UTF-8 (a lone surrogate)")
            if "\x00" in value:
                problems.append(f"at {_where(path)}: holds a NUL, which PostgreSQL cannot store")
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"at {_where(path)}: {value} is not a finite number")
    return problems


def parse(data: Any, source: str = "<fixtures>", units: Iterable[Unit] = UNITS) -> Fixtures:
    """Parsed fixtures, or FixtureError naming their problems (the first few of many)."""
    problems = _unsound(data)
    if problems:
        raise FixtureError(f"{source}: " + "; ".join(problems))
    validator = jsonschema.Draft7Validator(schema(units), format_checker=_FORMATS)
    errors = itertools.islice(validator.iter_errors(data), _SHOWN_PROBLEMS)
    problems = sorted((schema_problem(e) for e in errors), key=str)
    if problems:
        raise FixtureError(f"{source}: " + "; ".join(problems))
    users = []
    seen_ids: set[int] = set()
    seen_names: set[str] = set()
    seen_secrets: set[str] = set()
    for entry in data.get("users", []):
        entry = {**entry, "id": int(entry["id"])}  # JSON's 5.0 is the integer 5
        if entry["id"] in seen_ids or entry["username"] in seen_names:
            problems.append(f"user {entry['id']} ({entry['username']}) is listed twice")
        seen_ids.add(entry["id"])
        seen_names.add(entry["username"])
        pats = []
        descriptions: set[str] = set()
        for pat in entry.get("pats", []):
            if pat["description"] in descriptions:
                problems.append(
                    f"user {entry['username']} has two PATs described "
                    f"{pat['description'][:100]!r}; descriptions are unique per user"
                )
            if pat["secret"] in seen_secrets:
                problems.append(
                    f"user {entry['username']}, PAT {pat['description'][:100]!r}: its secret is "
                    "used by another PAT"
                )
            descriptions.add(pat["description"])
            seen_secrets.add(pat["secret"])
            expires_at = parse_date_time(pat["expiresAt"])
            if expires_at is None:
                problems.append(f"expiresAt {pat['expiresAt']!r} cannot be stored")
                continue
            pats.append(SeedPat(pat["description"], pat["secret"], expires_at))
        user = User(
            entry["id"],
            entry["username"],
            entry.get("password"),
            entry.get("name"),
            entry.get("email"),
            RootRole[entry.get("rootRole", "Viewer").upper()],
        )
        users.append((user, tuple(pats)))
    if problems:
        raise FixtureError(f"{source}: " + "; ".join(problems[:_SHOWN_PROBLEMS]))
    return Fixtures(tuple(users), tuple(data.get("adminTokens", [])), source, data)
