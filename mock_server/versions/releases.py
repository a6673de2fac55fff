"""The release files (releases/unleash-<release>.yaml), read into VersionProfiles.

A file names the release it is `based_on` and gives only what differs: each section's keys
replace the base's, and its `contract` patch is applied after the base's patches. Files are
read from the bundled directory and from each directory in $UNLEASH_PAT_RELEASES (os.pathsep
separated), so a new release is one file, also outside the package.

A release's answer to GET /api/admin/ui-config is recorded beside its file, in
ui-config/unleash-<release>.json (scripts/probe-pat-api.py ui-config); a release without one
answers as the release it is based on.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from mock_server.versions.profile import (
    Answer,
    Crash,
    Defect,
    ErrorKind,
    ErrorStyle,
    IdCheck,
    Message,
    RateLimitedPosts,
    UiValue,
    UnknownDelete,
    UnleashContext,
    VersionProfile,
)

ENV = "UNLEASH_PAT_RELEASES"
_PACKAGE = Path(__file__).resolve().parents[1]
BUNDLED = _PACKAGE / "releases"
# The wheel carries openapi.yaml inside the package; a source checkout has it at the top.
REFERENCE = next(
    p for p in (_PACKAGE / "openapi.yaml", _PACKAGE.parent / "openapi.yaml") if p.exists()
)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLACEHOLDER = re.compile(r"\$\{(.*)\}")


class ReleaseError(ValueError):
    """A release file that cannot be used; the message names the file and the problem."""


@functools.cache
def reference_document() -> dict[str, Any]:
    return yaml.load(REFERENCE.read_text(encoding="utf-8"), Loader=_LOADER)


def directories() -> tuple[Path, ...]:
    extra = os.environ.get(ENV, "")
    return (BUNDLED, *(Path(p) for p in extra.split(os.pathsep) if p))


def load(dirs: tuple[Path, ...] | None = None) -> dict[str, VersionProfile]:
    """Every release in `dirs` (default: directories()), by release string."""
    return _load(dirs if dirs is not None else directories())


@functools.cache
def _load(dirs: tuple[Path, ...]) -> dict[str, VersionProfile]:
    schema = yaml.load((BUNDLED / "schema.yaml").read_text(encoding="utf-8"), Loader=_LOADER)
    validator = jsonschema.Draft7Validator(schema)
    raw: dict[str, tuple[Path, dict[str, Any]]] = {}
    for directory in dirs:
        for path in sorted(directory.glob("unleash-*.yaml")):
            data = _read(path, validator)
            release = data["release"]
            if path.name != f"unleash-{release}.yaml":
                raise ReleaseError(
                    f"{path}: holds release {release}; name it unleash-{release}.yaml"
                )
            if release in raw:
                raise ReleaseError(f"{path}: release {release} is also in {raw[release][0]}")
            raw[release] = (path, data)
    resolved: dict[str, tuple[dict[str, Any], tuple[Mapping[str, Any], ...]]] = {}

    def resolve(release: str, seen: tuple[str, ...] = ()) -> tuple[dict, tuple]:
        if release in resolved:
            return resolved[release]
        path, data = raw[release]
        base = data.get("based_on")
        if base in (*seen, release):
            raise ReleaseError(
                f"{path}: based_on makes a cycle: {' -> '.join((*seen, release, base))}"
            )
        if base is not None and base not in raw:
            raise ReleaseError(f"{path}: based_on {base}, which no release file holds")
        facts, patches = resolve(base, (*seen, release)) if base else ({}, ())
        facts = {
            section: {**facts.get(section, {}), **data.get(section, {})}
            for section in {*facts, *data} - {"release", "based_on", "contract"}
        }
        resolved[release] = facts, (*patches, data.get("contract", {}))
        return resolved[release]

    def recording(release: str) -> Path | None:
        path, data = raw[release]
        own = path.parent / "ui-config" / f"unleash-{release}.json"
        base = data.get("based_on")
        return own if own.is_file() else recording(base) if base else None

    profiles = {}
    for release, (path, _) in raw.items():
        facts, patches = resolve(release)
        ui_config = recording(release)
        if ui_config is None:
            raise ReleaseError(
                f"{path}: no ui-config/unleash-<release>.json beside it or its base releases"
            )
        try:
            profiles[release] = _profile(release, facts, patches, ui_config)
        except KeyError as exc:
            raise ReleaseError(f"{path}: no release it is based on gives {exc.args[0]}") from None
    return profiles


@functools.cache
def ui_config_recording(path: Path) -> dict[str, Any]:
    """A recorded ui-config, each `"${name}"` as its UiValue."""

    def value(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: value(v) for key, v in item.items()}
        if isinstance(item, list):
            return [value(v) for v in item]
        if isinstance(item, str) and (placeholder := _PLACEHOLDER.fullmatch(item)):
            try:
                return UiValue(placeholder.group(1))
            except ValueError:
                known = ", ".join(v.value for v in UiValue)
                raise ReleaseError(f"{path}: {item} is none of {known}") from None
        return item

    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReleaseError(f"{path}: cannot read: {exc}") from None
    if not isinstance(recorded, dict):
        raise ReleaseError(f"{path}: holds no JSON object")
    return value(recorded)


def _read(path: Path, validator: jsonschema.Draft7Validator) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{path}: cannot read: {exc}") from None
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "top level"
        raise ReleaseError(f"{path}: at {where}: {error.message}")
    return data


class _Facts:
    """One section's facts; a missing one names itself `section.key`."""

    def __init__(self, facts: dict[str, dict[str, Any]]) -> None:
        self._facts = facts

    def __call__(self, section: str, key: str) -> Any:
        try:
            return self._facts[section][key]
        except KeyError:
            raise KeyError(f"{section}.{key}") from None

    def table(self, section: str, kinds: type, *, complete: bool = True) -> Mapping[Any, Any]:
        given = self._facts.get(section, {})
        missing = [k.value for k in kinds if k.value not in given]  # type: ignore[attr-defined]
        if complete and missing:
            raise KeyError(f"{section}.{missing[0]}")
        return MappingProxyType({kinds(key): value for key, value in given.items()})


def _scoped_permission(entry: str | list[str]) -> Mapping[str, str]:
    """A release file's `[permission, project, environment]` as Unleash lists it."""
    permission, *scope = [entry] if isinstance(entry, str) else entry
    return MappingProxyType(
        {
            **dict(zip(("project", "environment")[: len(scope)], scope, strict=True)),
            "permission": permission,
        }
    )


def _profile(
    release: str,
    facts: dict[str, dict[str, Any]],
    patches: tuple[Mapping[str, Any], ...],
    ui_config: Path,
) -> VersionProfile:
    fact = _Facts(facts)
    answers = fact.table("error_answers", ErrorKind)
    return VersionProfile(
        version=release,
        pat_limit=fact("pats", "limit"),
        max_pat_id=fact("pats", "max_id"),
        secret_prefix=fact("pats", "secret_prefix"),
        secret_hex_chars=fact("pats", "secret_hex_chars"),
        secure_account_tokens=fact("pats", "secure_account_tokens"),
        unknown_delete=UnknownDelete(fact("pats", "unknown_delete")),
        id_check=IdCheck(fact("pats", "id_check")),
        pat_keys=tuple(fact("pats", "key_order")),
        api_user_refused_early=fact("pats", "api_user_refused_early"),
        pat_rate_limit=fact("pats", "rate_limited"),
        expiry_warnings=fact("pats", "expiry_warnings"),
        api_token_routes_refuse_user_tokens=fact("auth", "api_token_routes_refuse_user_tokens"),
        cookie_beats_admin_token=fact("auth", "cookie_beats_admin_token"),
        bearer=fact("auth", "bearer"),
        strict_content_type_check=fact("requests", "strict_content_type"),
        ajv=fact("requests", "ajv"),
        max_sessions_per_user=fact("sessions", "max_per_user"),
        session_seconds=fact("sessions", "seconds"),
        resends_session_cookie=fact("sessions", "resend_cookie_on_first_use"),
        logout_redirect=fact("sessions", "logout_redirect"),
        login_limit_case_sensitive=fact("sessions", "login_limit_case_sensitive"),
        login_limit_before_body=fact("sessions", "login_limit_before_body"),
        user_is_api=fact("user_object", "is_api"),
        session_user_keys=tuple(fact("user_object", "session_keys")),
        admin_token_keys=tuple(fact("user_object", "admin_token_keys")),
        viewer_permissions=tuple(fact("user_object", "viewer_permissions")),
        editor_permissions=tuple(
            _scoped_permission(entry) for entry in fact("user_object", "editor_permissions")
        ),
        unleash_context=UnleashContext(fact("ui_config", "unleash_context")),
        user_admin_rate_limited_posts=RateLimitedPosts(fact("user_admin", "rate_limited_posts")),
        invite_token_prefix=fact("user_admin", "invite_token_prefix"),
        user_id_checked_by_schema=fact("user_admin", "id_check") == "schema",
        password_of_unknown_user_ok=fact("user_admin", "password_of_unknown_user") == "ok",
        created_role_after_invite=fact("user_admin", "role_after_invite"),
        system_users=tuple(
            (user_id, username, name, email[0] if email else None)
            for user_id, username, name, *email in fact("user_admin", "system_users")
        ),
        errors=ErrorStyle(
            every_error_has_id=fact("errors", "every_error_has_id"),
            detail_descriptions=fact("errors", "detail_descriptions"),
            property_paths=fact("errors", "property_paths"),
        ),
        answers=MappingProxyType({k: Answer(v["status"], v["name"]) for k, v in answers.items()}),
        messages=fact.table("messages", Message),
        defects=fact.table("defects", Defect, complete=False),
        crashes=frozenset(c for c, dies in fact.table("crashes", Crash).items() if dies),
        contract_patches=patches,
        reference=reference_document,
        ui_config_recording=functools.partial(ui_config_recording, ui_config),
    )
