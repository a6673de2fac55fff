"""The tables of releases in README.md and docs/releases.md, rendered from the mock's profiles
(mock_server.versions) and the release files, and docs/differences.md's table of deliberate
differences, rendered from tests/parity/deliberate_differences.yaml, so that a test can fail
when a table is stale.

    .venv/bin/python -m tests.docs_tables          # print the tables
    .venv/bin/python -m tests.docs_tables --write  # replace them in the pages

Each table sits between two HTML comments (`<!-- name:start -->`, `<!-- name:end -->`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from contract_tests.diff import known
from mock_server import versions
from mock_server.versions import IdCheck, UnknownDelete, VersionProfile
from mock_server.versions.releases import directories
from tests.parity import deliberate

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RELEASES_PAGE = ROOT / "docs" / "releases.md"
DIFFERENCES_PAGE = ROOT / "docs" / "differences.md"
FULL, SHORT, DIFFERENCES = "versions-table", "releases-table", "differences-table"
KNOWN, KNOWN_SHORT = "diff-known-table", "diff-known-rows"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@dataclass(frozen=True)
class Row:
    """One fact of the full table: its label, its cell for a release, and the phrase the short
    table uses when the fact sets a release apart (None: the short table leaves it out)."""

    label: str
    cell: Callable[[VersionProfile], str]
    phrase: Callable[[VersionProfile], str] | None = None


def release_files() -> dict[str, tuple[Path, dict]]:
    """Every release file the mock reads (bundled and $UNLEASH_PAT_RELEASES), by release."""
    found: dict[str, tuple[Path, dict]] = {}
    for directory in directories():
        for path in sorted(directory.glob("unleash-*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found[data["release"]] = (path, data)
    return found


def based_on(release: str) -> str | None:
    return release_files()[release][1].get("based_on")


def contract_chain(profile: VersionProfile) -> str:
    """openapi.yaml, then each release file on the `based_on` chain whose contract patch is not
    empty, from the reference release down to this one."""
    files = release_files()
    chain, release = [], profile.version
    while release is not None:
        path, data = files[release]
        if data.get("contract"):
            chain.append(path.name)
        release = data.get("based_on")
    return " + ".join(["openapi.yaml", *reversed(chain)])


ROWS = [
    Row(
        "`RateLimit-*` headers, 429 on PAT requests",
        lambda p: _yes(p.pat_rate_limit),
        lambda p: (
            "a PAT rate limit (`RateLimit-*`, 429)" if p.pat_rate_limit else "no PAT rate limit"
        ),
    ),
    Row(
        "DELETE of an id no PAT has",
        lambda p: (
            "200, empty"
            if p.unknown_delete is UnknownDelete.OK
            else '404 "No PAT found." (admin token too)'
        ),
        lambda p: (
            "unknown-id DELETE: 200"
            if p.unknown_delete is UnknownDelete.OK
            else "unknown-id DELETE: 404"
        ),
    ),
    Row(
        "DELETE of a non-integer id",
        lambda p: {
            IdCheck.SCHEMA: "schema 400 (`/params/id`)",
            IdCheck.NUMBER_MIDDLEWARE: 'service 400 "ID should be an integer"',
            IdCheck.NONE: '500 leaking SQL (mock: service 400 "ID should be an integer")',
        }[p.id_check],
        lambda p: {
            IdCheck.SCHEMA: "non-integer id: schema 400",
            IdCheck.NUMBER_MIDDLEWARE: "non-integer id: service 400",
            IdCheck.NONE: "non-integer id: 500 leaking SQL",
        }[p.id_check],
    ),
    Row(
        "`Authorization: Bearer <PAT>`",
        lambda p: "the PAT" if p.bearer else "an unknown token (401)",
        lambda p: "Bearer read" if p.bearer else "no Bearer (401)",
    ),
    Row(
        "PAT object keys",
        lambda p: ", ".join(k for k in p.pat_keys if k not in ("expiryWarning", "secret")),
        lambda p: "PAT keys: " + ", ".join(p.pat_keys[:4]) + ", …",
    ),
    Row(
        "admin API token on GET, POST",
        lambda p: (
            "403 `ForbiddenError`"
            if p.api_user_refused_early
            else "500 leaking SQL after the body's checks (mock: 403)"
        ),
        lambda p: "admin token refused: 403" if p.api_user_refused_early else "admin token: 500",
    ),
    Row(
        "validator",
        lambda p: "Ajv 8, ajv-formats" if p.ajv == 8 else 'Ajv 6 ("should", its own date-time)',
        lambda p: f"Ajv {p.ajv}",
    ),
    Row(
        "admin API token's `GET /api/admin/user` keys",
        lambda p: ", ".join(p.admin_token_keys),
        lambda p: "admin token user keys: " + ", ".join(p.admin_token_keys),
    ),
    Row(
        "a Viewer's permissions",
        lambda p: ", ".join(p.viewer_permissions) or "none",
        lambda p: "Viewer permissions: " + (", ".join(p.viewer_permissions) or "none"),
    ),
    Row(
        "an Editor's permissions (how many; the list: its release file)",
        lambda p: str(len(p.editor_permissions)),
        lambda p: f"{len(p.editor_permissions)} Editor permissions",
    ),
    Row(
        "requests that kill the process (never sent)",
        lambda p: ", ".join(sorted(c.value.replace("_", " ") for c in p.crashes)) or "none",
        lambda p: "dies on: " + (", ".join(sorted(c.value for c in p.crashes)) or "nothing"),
    ),
    Row(
        "`id` on error bodies",
        lambda p: (
            "every error" if p.errors.every_error_has_id else "401, 404 route, 415, schema 400"
        ),
        lambda p: "`id` on every error" if p.errors.every_error_has_id else "`id` on some errors",
    ),
    Row(
        "`description` beside each error detail",
        lambda p: _yes(p.errors.detail_descriptions),
        lambda p: (
            "`description` in error details"
            if p.errors.detail_descriptions
            else "no `description` in error details"
        ),
    ),
    Row(
        "schema errors name",
        lambda p: (
            "the property (`description`)"
            if p.errors.property_paths
            else "a pointer (`/body/description`)"
        ),
        lambda p: (
            "schema errors name the property"
            if p.errors.property_paths
            else "schema errors name a JSON pointer"
        ),
    ),
    Row(
        "session cookie and admin token together",
        lambda p: (
            "the cookie's user acts" if p.cookie_beats_admin_token else "the admin token acts"
        ),
        lambda p: (
            "cookie beats admin token" if p.cookie_beats_admin_token else "admin token beats cookie"
        ),
    ),
    Row(
        "sessions per user",
        lambda p: str(p.max_sessions_per_user or "unlimited"),
        lambda p: (
            f"{p.max_sessions_per_user} sessions per user"
            if p.max_sessions_per_user
            else "no session cap"
        ),
    ),
    Row(
        "Set-Cookie again on a session's first use",
        lambda p: _yes(p.resends_session_cookie),
        lambda p: (
            "Set-Cookie again on first use" if p.resends_session_cookie else "no second Set-Cookie"
        ),
    ),
    Row(
        "`POST /logout` (every session of the user ends) redirects to",
        lambda p: f"`{p.logout_redirect}`",
        lambda p: f"logout redirects to `{p.logout_redirect}`",
    ),
    Row(
        "`isAPI` on user objects",
        lambda p: _yes(p.user_is_api),
        lambda p: "`isAPI`" if p.user_is_api else "no `isAPI`",
    ),
    Row(
        "`application/json;` (a Content-Type whose parameters do not parse)",
        lambda p: (
            "415 `ContentTypeError`"
            if p.strict_content_type_check
            else "400: the body is not read (`description` is required)"
        ),
        lambda p: (
            "`application/json;`: 415"
            if p.strict_content_type_check
            else "`application/json;`: body unread"
        ),
    ),
    Row(
        "a PAT on `/api/client`, `/api/frontend`",
        lambda p: (
            '403 "invalid token: expected a different token type…"'
            if p.api_token_routes_refuse_user_tokens
            else "not mocked (real: the client API answers, the front-end API 401); mock: 404"
        ),
        lambda p: (
            "`/api/client` refuses PATs"
            if p.api_token_routes_refuse_user_tokens
            else "`/api/client` lets PATs through"
        ),
    ),
    Row(
        "a session's user keys after `createdAt`",
        lambda p: ", ".join(p.session_user_keys) or "none",
        lambda p: "session user keys: " + (", ".join(p.session_user_keys) or "none"),
    ),
    Row(
        "`expiryWarning` (`--token-expiry-notifications`)",
        lambda p: _yes(p.expiry_warnings),
        lambda p: "`expiryWarning`" if p.expiry_warnings else "no `expiryWarning`",
    ),
    Row(
        "`user:v2_…` secrets (`--secure-account-tokens`)",
        lambda p: _yes(p.secure_account_tokens),
        lambda p: "`user:v2_…` secrets" if p.secure_account_tokens else "no `user:v2_…` secrets",
    ),
    Row("contract (`/docs/openapi.json`)", contract_chain),
]


def _profiles() -> list[VersionProfile]:
    return list(versions.profiles().values())  # oldest first


def full_table() -> str:
    """docs/releases.md's table: one row per fact, one column per release."""
    profiles = _profiles()
    lines = [
        "| | " + " | ".join(p.version for p in profiles) + " |",
        "|---" * (len(profiles) + 1) + "|",
    ]
    lines += [
        f"| {row.label} | " + " | ".join(row.cell(p) for p in profiles) + " |" for row in ROWS
    ]
    return "\n".join(lines)


def _selected_by(profile: VersionProfile, profiles: list[VersionProfile]) -> str:
    major = profile.version.split(".")[0]
    newest_of_major = versions.resolve(major) is profile
    names = f"`{profile.version}`" + (f" or `{major}`" if newest_of_major else "")
    return names + (" (the default)" if profile is versions.default() else "")


def _apart(profile: VersionProfile, profiles: list[VersionProfile]) -> str:
    """What sets a release apart: against the release its file is based on, or, for the
    reference release, the facts no other release shares."""
    shown = [row for row in ROWS if row.phrase is not None]
    base = based_on(profile.version)
    if base is None:
        others = [p for p in profiles if p is not profile]
        unique = [
            row.phrase(profile)  # type: ignore[misc]
            for row in shown
            if all(row.cell(o) != row.cell(profile) for o in others)
        ]
        return "the reference release; only it has: " + "; ".join(unique)
    base_profile = versions.profiles()[base]
    changed = [
        row.phrase(profile)  # type: ignore[misc]
        for row in shown
        if row.cell(profile) != row.cell(base_profile)
    ]
    return f"as {base}, except: " + "; ".join(changed)


def short_table() -> str:
    """README.md's table: one row per release, newest first."""
    profiles = _profiles()
    lines = ["| release | `--unleash-version` | what sets it apart |", "|---|---|---|"]
    lines += [
        f"| {p.version} | {_selected_by(p, profiles)} | {_apart(p, profiles)} |"
        for p in reversed(profiles)
    ]
    return "\n".join(lines)


def _releases_of(entry: deliberate.Deliberate | known.Known, releases: list[str]) -> str:
    """The measured releases an entry holds for, as runs of consecutive ones ("5.6.0 to 5.11.3")."""
    held = [entry.holds_for(r) for r in releases]
    if all(held):
        return "all"
    runs, start = [], None
    for i, (release, holds) in enumerate(zip(releases, held, strict=True)):
        if holds and start is None:
            start = release
        if start is not None and (not holds or i == len(releases) - 1):
            end = release if holds else releases[i - 1]
            runs.append(start if end == start else f"{start} to {end}")
            start = None
    return ", ".join(runs)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def differences_table() -> str:
    """docs/differences.md's table: one row per entry of deliberate_differences.yaml."""
    releases = [p.version for p in _profiles()]
    lines = ["| scenario | releases | real Unleash | mock | why |", "|---|---|---|---|---|"]
    lines += [
        f"| `{e.scenario}` | {_releases_of(e, releases)} | {_cell(e.real)} | {_cell(e.mock)} "
        f"| {_cell(e.reason)} |"
        for e in deliberate.load()
    ]
    return "\n".join(lines)


def known_table() -> str:
    """docs/differences.md's table of what `unleash-pat diff` subtracts: one row per entry of
    contract_tests/diff/known_differences.yaml."""
    releases = [p.version for p in _profiles()]
    lines = ["| declared difference | releases | statuses (real/mock) | why |", "|---|---|---|---|"]
    for entry in known.load():
        held = _releases_of(entry, releases)
        status = {"*": "any", "": "the same"}.get(entry.status, f"`{entry.status}`")
        lines.append(f"| `{entry.name}` | {held} | {status} | {_cell(entry.reason)} |")
    return "\n".join(lines)


def known_rows() -> str:
    """The README's row for each entry diff subtracts; its reason is in docs/differences.md."""
    releases = [p.version for p in _profiles()]
    lines = ["| declared difference | releases | statuses (real/mock) |", "|---|---|---|"]
    for entry in known.load():
        status = {"*": "any", "": "the same"}.get(entry.status, f"`{entry.status}`")
        lines.append(f"| `{entry.name}` | {_releases_of(entry, releases)} | {status} |")
    return "\n".join(lines)


def rendered_in(path: Path, name: str) -> str:
    """The table between `name`'s markers in `path`."""
    start, end = markers(name)
    text = path.read_text(encoding="utf-8")
    assert start in text and end in text, f"{path.name} lacks the {name} markers"
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def replace_in(path: Path, name: str, table: str) -> None:
    start, end = markers(name)
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


TABLES = (
    (README, SHORT, short_table),
    (RELEASES_PAGE, FULL, full_table),
    (DIFFERENCES_PAGE, DIFFERENCES, differences_table),
    (DIFFERENCES_PAGE, KNOWN, known_table),
    (README, KNOWN_SHORT, known_rows),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the tables in the files")
    write = parser.parse_args().write
    for path, name, render in TABLES:
        if write:
            replace_in(path, name, render())
            print(f"{path.relative_to(ROOT)}: {name} written")
        else:
            print(f"{path.relative_to(ROOT)} ({name}):\n{render()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
