"""Every release-specific fact the suite asserts, in one Expectations per Unleash release.

Checks read these from `ctx.expect`; nothing else in the suite names a limit, an error name or a
status that could change between releases. The facts come from the release files
(`releases/unleash-<release>.yaml`, shipped inside this package as `contract_tests/releases/`),
each measured on a running server of that release: the same observations the mock reads, read
here into the suite's own types, so the two share data but no code. Files in the directories of
$UNLEASH_PAT_RELEASES (os.pathsep separated) add releases.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import json_merge_patch
import jsonschema
import yaml

from contract_tests.releases.choose import UnsupportedVersion, choose, key

_HERE = Path(__file__).resolve().parent
RELEASES = _HERE / "releases"
ENV = "UNLEASH_PAT_RELEASES"
HEX_SECRET = re.compile(r"^user:[0-9a-f]{56}$")
# 8.2.0 with UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN=true: a selector and a secret, base64url.
SECURE_SECRET = re.compile(r"^user:v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$")
# GET /api/admin/user for a PAT: the user object's keys in order (`name` and `email` are absent
# for a user without one); `isAPI` comes first where the release has it.
_USER_KEYS = (
    "accountType",
    "id",
    "name",
    "username",
    "email",
    "imageUrl",
    "seenAt",
    "loginAttempts",
    "createdAt",
)


class UnknownRelease(LookupError):
    pass


@dataclass(frozen=True)
class Error:
    """An error answer: its status and Unleash's error `name`."""

    status: int
    name: str


@dataclass(frozen=True)
class Expectations:
    version: str
    pat_limit: int
    # PAT ids are PostgreSQL int4: the largest is never reached, the next ones are out of range.
    max_id: int
    missing_token: Error
    unknown_token: Error  # also an expired, deleted or altered PAT
    bad_data: Error  # schema and service validation, an out-of-range id
    duplicate_description: Error
    too_many_pats: Error
    not_a_user: Error  # an admin API token on GET or POST
    not_found: Error  # a path no route takes, or a method it does not take
    delete_status: int  # own or another user's id (the latter changes nothing)
    # DELETE of an id no PAT has (missing, zero, already deleted): None answers `delete_status`.
    unknown_id: Error | None
    rate_limit_headers: bool  # RateLimit-* on PAT-authenticated answers, 429 past the limit
    statuses_without_json: frozenset[int]  # bodies that are not Unleash's JSON errors
    user_keys: tuple[str, ...]
    # `Authorization: Bearer <PAT>` is read as the PAT (else it is an unknown token).
    bearer: bool
    # GET /api/admin/user with an admin API token: the `user` keys the release writes (and
    # perhaps `secret`, which a server may leave out).
    admin_token_keys: tuple[str, ...]
    # GET /api/admin/ui-config: keys every server of the release sends (among others), in order,
    # and the PAT feature flags among its `flags` (booleans).
    ui_config_keys: tuple[str, ...]
    ui_config_flags: tuple[str, ...]
    # A valid body nested 2,000 levels deep is answered (else the process dies: never sent).
    deep_bodies_answered: bool
    # Secret formats of a new PAT this release can issue (8.2.0's v2 is behind a server flag).
    secret_formats: tuple[re.Pattern[str], ...]
    # A login with a wrong password or an unknown username; `{base}` is the server's base path.
    password_mismatch: Error
    password_mismatch_message: str
    # A login whose password holds a lone surrogate is answered (else the process dies).
    lone_surrogate_password_answered: bool
    # How long a login's session lasts (its cookie's Expires, after the answer's Date).
    session_seconds: int
    # POST /logout's 302 goes to this path below the base path (`/signed-out`; `/` before 7.6).
    logout_redirect: str
    ajv: int  # the request validator's major: its "date-time" differs (oracles.is_date_time)
    contract_patches: tuple[dict[str, Any], ...] = ()

    def contract(self) -> dict[str, Any]:
        """This release's contract: openapi.yaml with the release's patches applied."""
        document = _reference()
        for patch in self.contract_patches:
            document = json_merge_patch.merge(document, copy.deepcopy(patch))
        return document

    def typed_create_member(self) -> str:
        """A create body's member the release's schema types as a string: `description`, or
        where the release leaves it untyped (5.8 and older: any value is stored as its text),
        `expiresAt`."""
        document = self.contract()
        schema = document["paths"]["/api/admin/user/tokens"]["post"]["requestBody"]
        schema = schema["content"]["application/json"]["schema"]
        while "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        described = schema.get("properties", {}).get("description", {})
        return "description" if described.get("type") == "string" else "expiresAt"

    def is_secret(self, value: object) -> bool:
        return isinstance(value, str) and any(f.match(value) for f in self.secret_formats)


def _reference() -> dict[str, Any]:
    """openapi.yaml: at the checkout's root, else inside the installed package
    (`contract_tests/openapi.yaml` is a symlink to the root's, which the wheel stores as a file:
    hatch's force-include cannot map one source file to two places)."""
    for candidate in (_HERE.parent / "openapi.yaml", _HERE / "openapi.yaml"):
        if candidate.is_file():
            return yaml.safe_load(candidate.read_text(encoding="utf-8"))
    raise FileNotFoundError("the contract document openapi.yaml is missing")


def _read_all(dirs: tuple[Path, ...]) -> dict[str, dict[str, Any]]:
    schema = yaml.safe_load((RELEASES / "schema.yaml").read_text(encoding="utf-8"))
    files: dict[str, dict[str, Any]] = {}
    for path in (p for d in dirs for p in sorted(d.glob("unleash-*.yaml"))):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            jsonschema.validate(data, schema)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"{path}: {exc.message}") from None
        if data["release"] in files:
            raise ValueError(f"{path}: release {data['release']} is given twice")
        files[data["release"]] = data
    return files


@functools.cache
def _known(dirs: tuple[Path, ...]) -> dict[str, Expectations]:
    files = _read_all(dirs)

    def chain(release: str) -> list[dict[str, Any]]:
        """The release's file and those it is based on, the reference first."""
        files_ = [files[release]]
        while (base := files_[0].get("based_on")) is not None:
            if base not in files or len(files_) > len(files):
                raise ValueError(f"release {release}: based_on {base} cannot be resolved")
            files_.insert(0, files[base])
        return files_

    known = {}
    for release in files:
        facts: dict[str, dict[str, Any]] = {}
        for data in chain(release):
            for section, values in data.items():
                if isinstance(values, dict) and section != "contract":
                    facts[section] = {**facts.get(section, {}), **values}
        patches = tuple(d.get("contract", {}) for d in chain(release))
        known[release] = _expectations(release, facts, patches)
    return dict(sorted(known.items(), key=lambda item: key(item[0])))


def _expectations(
    release: str, facts: dict[str, dict[str, Any]], patches: tuple[dict[str, Any], ...]
) -> Expectations:
    pats, answers = facts["pats"], facts["error_answers"]

    def error(kind: str) -> Error:
        return Error(answers[kind]["status"], answers[kind]["name"])

    rate_limited = pats["rate_limited"]
    flags = ("personalAccessTokensKillSwitch",)
    return Expectations(
        version=release,
        pat_limit=pats["limit"],
        max_id=pats["max_id"],
        missing_token=error("missing_token"),
        unknown_token=error("unknown_token"),
        bad_data=error("bad_data"),
        duplicate_description=error("duplicate_description"),
        too_many_pats=error("too_many_pats"),
        not_a_user=error("not_a_user"),
        not_found=error("not_found"),
        delete_status=200,
        unknown_id=error("not_found") if pats["unknown_delete"] == "not_found" else None,
        rate_limit_headers=rate_limited,
        # express-rate-limit's 429 is plain text.
        statuses_without_json=frozenset({429} if rate_limited else ()),
        user_keys=(("isAPI",) if facts["user_object"]["is_api"] else ()) + _USER_KEYS,
        bearer=facts["auth"]["bearer"],
        admin_token_keys=tuple(facts["user_object"]["admin_token_keys"]),
        ui_config_keys=tuple(facts["ui_config"]["keys"]),
        # tokenExpiryNotifications is the flag behind expiryWarning (8.1 on).
        ui_config_flags=flags + (("tokenExpiryNotifications",) if pats["expiry_warnings"] else ()),
        deep_bodies_answered=not facts["crashes"]["deep_bodies"],
        secret_formats=(HEX_SECRET, SECURE_SECRET)
        if pats["secure_account_tokens"]
        else (HEX_SECRET,),
        password_mismatch=error("password_mismatch"),
        password_mismatch_message=facts["messages"]["password_mismatch"],
        lone_surrogate_password_answered=not facts["crashes"]["lone_surrogate_password"],
        session_seconds=facts["sessions"]["seconds"],
        logout_redirect=facts["sessions"]["logout_redirect"],
        ajv=facts["requests"]["ajv"],
        contract_patches=patches,
    )


def known() -> dict[str, Expectations]:
    """Every release the suite knows, oldest first: the bundled ones and $UNLEASH_PAT_RELEASES'."""
    extra = os.environ.get(ENV, "")
    return _known((RELEASES, *(Path(p) for p in extra.split(os.pathsep) if p)))


def choice(version: str) -> tuple[Expectations, str | None]:
    """The expectations that stand for `version` (releases/choose.py: a major is its newest
    release, a release never measured the nearest measured one), and a notice where they are
    not that release's. Raises UnknownRelease for a version no known release stands for."""
    releases = known()
    try:
        picked = choose(version, releases)
    except UnsupportedVersion as exc:
        raise UnknownRelease(str(exc)) from None
    return releases[picked.release], picked.notice


def resolve(version: str) -> Expectations:
    return choice(version)[0]
