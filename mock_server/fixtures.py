"""Seed data: users, their PATs and admin API tokens, from a YAML file (fixtures/default.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mock_server.store import PatStore, StoreError, User
from mock_server.validation import is_date_time, parse_date_time
from mock_server.versions import VersionProfile

# Either format authenticates on any version: `user:<56 hex>`, or 8.2.0's secure account token.
SECRET_PATTERN = "^user:([0-9a-f]{56}|v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43})$"
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "username"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "username": {"type": "string", "minLength": 1},
                    "password": {"type": "string", "minLength": 1},
                    "name": {"type": "string"},
                    "email": {"type": "string"},
                    "rootRole": {"enum": ["Admin", "Editor", "Viewer"]},
                    "pats": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["description", "secret", "expiresAt"],
                            "properties": {
                                "description": {"type": "string", "minLength": 1},
                                "secret": {"type": "string", "pattern": SECRET_PATTERN},
                                "expiresAt": {"type": "string", "format": "date-time"},
                            },
                        },
                    },
                },
            },
        },
        "adminTokens": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
}
_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(is_date_time)


class FixtureError(Exception):
    """An unusable fixture file; the message names the file and the problem."""


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

    def seed(self, store: PatStore, profile: VersionProfile) -> None:
        """Fill an empty store. Raises FixtureError where the version's rules refuse the data."""
        over = [
            f"user {user.id} ({user.username}) holds {len(pats)} PATs; "
            f"{profile.name} allows at most {profile.pat_limit} per user"
            for user, pats in self.users
            if len(pats) > profile.pat_limit
        ]
        if over:
            raise FixtureError(f"{self.source}: " + "; ".join(over))
        for token in self.admin_tokens:
            store.add_admin_token(token)
        for user, pats in self.users:
            store.add_user(user)
            for pat in pats:
                try:
                    # A fixture may hold an already expired PAT, to test how clients handle one.
                    store.create(
                        user.id,
                        pat.description,
                        pat.expires_at,
                        secret=pat.secret,
                        check_expiry=False,
                    )
                except StoreError as exc:
                    raise FixtureError(
                        f"{self.source}: user {user.id}, PAT {pat.description!r}: "
                        f"refused by {profile.name} ({exc.kind})"
                    ) from None

    def credentials(self) -> set[str]:
        """Every secret a client could authenticate with: PATs, admin tokens, passwords."""
        found = set(self.admin_tokens)
        for user, pats in self.users:
            found |= {pat.secret for pat in pats}
            found |= {user.password} if user.password else set()
        return found


DEFAULT_PATH = Path(__file__).resolve().parent / "fixtures" / "default.yaml"
if not DEFAULT_PATH.exists():  # running from a source checkout rather than an installed wheel
    DEFAULT_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "default.yaml"


def published_credentials() -> set[str]:
    """The credentials of the bundled default.yaml: public, since the package publishes them."""
    return load(DEFAULT_PATH).credentials()


def load(path: str | Path | None = None) -> Fixtures:
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        # libyaml's loader, where PyYAML has it, reads large fixture files 2-3x faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except OSError as exc:
        raise FixtureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from None
    return parse(data or {}, str(path))


def _schema_problem(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "top level"
    if error.absolute_path and error.absolute_path[-1] == "secret":
        # jsonschema's message quotes the value: never print a secret.
        return (
            f"at {where}: must be user: followed by 56 lowercase hex digits, or a secure "
            "account token user:v2_<22 base64url>_<43 base64url>"
        )
    return f"at {where}: {error.message}"


def parse(data: Any, source: str = "<fixtures>") -> Fixtures:
    """Parsed fixtures, or FixtureError naming every problem in the file."""
    validator = jsonschema.Draft7Validator(_SCHEMA, format_checker=_FORMATS)
    problems = [_schema_problem(e) for e in sorted(validator.iter_errors(data), key=str)]
    if problems:
        raise FixtureError(f"{source}: " + "; ".join(problems))
    users = []
    seen_ids: set[int] = set()
    seen_names: set[str] = set()
    seen_secrets: set[str] = set()
    for entry in data.get("users", []):
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
                    f"{pat['description']!r}; descriptions are unique per user"
                )
            if pat["secret"] in seen_secrets:
                problems.append(
                    f"user {entry['username']}, PAT {pat['description']!r}: its secret is used "
                    "by another PAT"
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
            admin=entry.get("rootRole", "Viewer") == "Admin",
        )
        users.append((user, tuple(pats)))
    if problems:
        raise FixtureError(f"{source}: " + "; ".join(problems))
    return Fixtures(tuple(users), tuple(data.get("adminTokens", [])), source)
