"""Every version-specific fact the suite asserts, in one object per Unleash version.

Checks read these from `ctx.expect`; nothing else in the suite names a limit, an error name or a
status that could change between Unleash versions. Each version's facts were learnt from a
running server of that version (npm unleash-server, issue 12's report §4), not from the mock.

The contract document of an older version is openapi.yaml (8.2.0's) with the merge-patch
overlays of `mock_server/versions/contracts/` applied. The suite READS those YAML files and never
imports `mock_server` (the two packages stay independent, tests/test_architecture.py): they are
contract documents like openapi.yaml itself, which the suite also reads from the checkout or the
wheel, not the mock's code. Own copies were the alternative and would drift from the documents
the mock serves as `/docs/openapi.json`; both packages ship in one wheel, side by side in
site-packages, so the files sit at the same place relative to this module in a checkout and in an
installed wheel.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_PACKAGES = Path(__file__).resolve().parent.parent  # the checkout's root, or site-packages
OVERLAYS = _PACKAGES / "mock_server" / "versions" / "contracts"
HEX_SECRET = re.compile(r"^user:[0-9a-f]{56}$")
# 8.2.0 with UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN=true: a selector and a secret, base64url.
SECURE_SECRET = re.compile(r"^user:v2_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Error:
    """An error answer: its status and Unleash's error `name`."""

    status: int
    name: str


@dataclass(frozen=True)
class Expectations:
    version: str
    contract_document: str  # file name, bundled in the package or at the checkout's root
    pat_limit: int
    # PAT ids are PostgreSQL int4: the largest is never reached, the next ones are out of range.
    max_id: int
    missing_token: Error
    unknown_token: Error  # also an expired, deleted or altered PAT
    bad_data: Error  # schema and service validation, an out-of-range id
    duplicate_description: Error
    too_many_pats: Error
    not_a_user: Error  # an admin API token on GET or POST
    delete_status: int  # own or another user's id (the latter changes nothing)
    # DELETE of an id no PAT has (missing, zero, already deleted): None answers `delete_status`.
    unknown_id: Error | None
    rate_limit_headers: bool  # RateLimit-* on PAT-authenticated answers, 429 past the limit
    statuses_without_json: frozenset[int]  # bodies that are not Unleash's JSON errors
    # Bodies that are no JSON, and the 400 `{"message": ...}` express.json answers (V8's
    # JSON.parse messages, so they follow the Node.js version the Unleash image ships).
    json_syntax_errors: tuple[tuple[str, str], ...]
    # GET /api/admin/user for a PAT: the user object's keys in order (`name` and `email` are
    # absent for a user without one).
    user_keys: tuple[str, ...]
    # GET /api/admin/ui-config: keys every server of the version sends (among others), in order,
    # and the PAT feature flags among its `flags` (booleans).
    ui_config_keys: tuple[str, ...]
    ui_config_flags: tuple[str, ...]
    # A valid body nested 2,000 levels deep is answered like any other (6.10.1's process exits
    # without answering a deeply nested body: issue 12's report, mock_server/versions/defects.py).
    deep_bodies_answered: bool = True
    # Secret formats of a new PAT this version can issue (8.2.0's v2 is behind a server flag).
    secret_formats: tuple[re.Pattern[str], ...] = (HEX_SECRET,)
    # Overlays applied to openapi.yaml in order, newest first: the contract chain to this version.
    overlays: tuple[str, ...] = ()
    # schemathesis' built-in checks this version contradicts on purpose, with the reason.
    disabled_schemathesis_checks: dict[str, str] = field(default_factory=dict)
    # A login with a wrong password or an unknown username (5.12.8 to 8.2.0 alike: their
    # UserService.loginUser), `{base}` being the server's base path.
    password_mismatch: Error = Error(401, "PasswordMismatch")
    password_mismatch_message: str = (
        "The combination of password and username you provided is invalid. If you have "
        "forgotten your password, visit {base}/forgotten-password or get in touch with your "
        "instance administrator."
    )
    # A login whose password holds a lone surrogate is answered (7.x, 8.x: 401). 5.12.8 and
    # 6.10.1 die on it (V8 "Fatal JavaScript invalid size error"): the suite never sends one.
    lone_surrogate_password_answered: bool = True

    def contract_path(self) -> Path:
        """The contract document: at the checkout's root, else inside the installed package
        (`contract_tests/openapi.yaml` is a symlink to the root's, which the wheel stores as a
        file: hatch's force-include cannot map the one source file to two places)."""
        here = Path(__file__).parent
        for candidate in (here.parent / self.contract_document, here / self.contract_document):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"the contract document {self.contract_document} is missing")

    def contract(self) -> dict[str, Any]:
        """This version's contract: openapi.yaml with `overlays` applied (see the docstring of
        the module for why the suite reads the mock's overlay files)."""
        document = yaml.safe_load(self.contract_path().read_text(encoding="utf-8"))
        for version in self.overlays:
            path = OVERLAYS / f"unleash-{version}.yaml"
            document = _merge_patch(document, yaml.safe_load(path.read_text(encoding="utf-8")))
        return document

    def is_secret(self, value: object) -> bool:
        return isinstance(value, str) and any(f.match(value) for f in self.secret_formats)


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, `null` removes a key, anything else
    replaces. (The mock has the same ten lines; the packages share no code by design.)"""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


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
_UI_CONFIG_KEYS_6 = (
    "environment",
    "flags",
    "version",
    "emailEnabled",
    "unleashUrl",
    "baseUriPath",
    "authenticationType",
    "segmentValuesLimit",
    "strategySegmentsLimit",
    "frontendApiOrigins",
    "versionInfo",
    "prometheusAPIAvailable",
    "disablePasswordAuth",
    "maintenanceMode",
    "maxSessionsCount",
)

UNLEASH_8_2_0 = Expectations(
    version="8.2.0",
    contract_document="openapi.yaml",
    pat_limit=10,
    max_id=2_147_483_647,
    missing_token=Error(401, "AuthenticationRequired"),
    unknown_token=Error(401, "UnauthorizedError"),
    bad_data=Error(400, "BadDataError"),
    duplicate_description=Error(409, "NameExistsError"),
    too_many_pats=Error(403, "OperationDeniedError"),
    not_a_user=Error(403, "ForbiddenError"),
    delete_status=200,
    unknown_id=None,
    rate_limit_headers=True,
    statuses_without_json=frozenset({429}),  # express-rate-limit's plain text answer
    secret_formats=(HEX_SECRET, SECURE_SECRET),
    json_syntax_errors=(  # learned from the running 8.2.0 (its Node.js V8)
        ('{"description":"x",}', "Expected double-quoted property name in JSON at position 19"),
        ('{"description":"x"', "Expected ',' or '}' after property value in JSON at position 18"),
        ("[1,2", "Expected ',' or ']' after array element in JSON at position 4"),
        ('{"a":1e}', "Exponent part is missing a number in JSON at position 7"),
        ('"\\u12"', "Bad Unicode escape in JSON at position 5"),
        ('{"a":tru}', 'Unexpected token \'}\', "{"a":tru}" is not valid JSON'),
        ('{"a":nul}', 'Unexpected token \'}\', "{"a":nul}" is not valid JSON'),
        ('{"a":-}', "No number after minus sign in JSON at position 6"),
        ('{"a":01}', "Unexpected number in JSON at position 6"),
        ('{"a":1.}', "Unterminated fractional number in JSON at position 7"),
        ('{"a":"\\x"}', "Bad escaped character in JSON at position 7"),
        ('{"a":"b', "Unterminated string in JSON at position 7"),
        ("{a:1}", "Expected property name or '}' in JSON at position 1"),
        ('{"a" 1}', "Expected ':' after property name in JSON at position 5"),
        ('{"a":1}}', "Unexpected non-whitespace character after JSON at position 7"),
        ('{"a":"\t"}', "Bad control character in string literal in JSON at position 6"),
        ('{"a":[}', 'Unexpected token \'}\', "{"a":[}" is not valid JSON'),
        ('{"a":.5}', 'Unexpected token \'.\', "{"a":.5}" is not valid JSON'),
        ('{"a":+1}', 'Unexpected token \'+\', "{"a":+1}" is not valid JSON'),
        ('{"a":falsy}', 'Unexpected token \'y\', "{"a":falsy}" is not valid JSON'),
        # Where V8's scanner names the token, and how: a number (`-`, a digit), a string, the
        # end; a whole source it knows by name; escapes it reads as Latin-1 (up to U+00FF).
        ("NaN", '"NaN" is not valid JSON'),
        ('[t"]', "Unexpected string in JSON at position 2"),
        ("[t-]", "Unexpected number in JSON at position 2"),
        ("[00]", "Unexpected number in JSON at position 2"),
        ("[09]", "Unexpected number in JSON at position 2"),
        ('"abc\\', "Unexpected end of JSON input"),
        ('"\\X"', "Bad escaped character in JSON at position 2"),
        ('"\\\xff"', "Bad escaped character in JSON at position 2"),
        ('"\\\u1234"', 'Unexpected token \'\u1234\', ""\\\u1234"" is not valid JSON'),
        ('"ab\\u00e9\\/\\b\\f\\n\\r\\t\\"\\\\\\q"', "Bad escaped character in JSON at position 26"),
        # Numbers that only V8's own scan reads to the end before it fails.
        ("1e+", "Exponent part is missing a number in JSON at position 3"),
        ("1E-x", "Exponent part is missing a number in JSON at position 3"),
        ("[0E]", "Exponent part is missing a number in JSON at position 3"),
        ("[9.]", "Unterminated fractional number in JSON at position 3"),
        ("[1.5.]", "Expected ',' or ']' after array element in JSON at position 4"),
        ("[1e5.]", "Expected ',' or ']' after array element in JSON at position 4"),
        # Positions count UTF-16 code units (an astral character is two).
        ('"\U0001f600\\uqqqq"', "Bad Unicode escape in JSON at position 5"),
        (
            "\U0001f600" * 15 + " x " + "\U0001f600" * 11,
            "Unexpected token '\ud83d', \"" + "\U0001f600" * 5 + '"... is not valid JSON',
        ),
        # The quoted context: the whole source below 21 units, else 10 units either side.
        (
            "[1,2,3,4,5,6,7,8,x9]",
            "Unexpected token 'x', \"[1,2,3,4,5,6,7,8,x9]\" is not valid JSON",
        ),
        ("[1,2,3,4,5,6,7,8,x90]", "Unexpected token 'x', ...\"4,5,6,7,8,x90]\" is not valid JSON"),
        (
            "[11,2,3,4,x,6,7,8,9,10,11,12]",
            "Unexpected token 'x', ...\"[11,2,3,4,x,6,7,8,9,\"... is not valid JSON",
        ),
        (
            "[1,2,3,4,5,6,7,8,9,10,11,x,4,5,6,7]",
            "Unexpected token 'x', ...\"8,9,10,11,x,4,5,6,7]\" is not valid JSON",
        ),
        # Brackets: where a mismatched or missing one is named, also past 1,000 levels.
        ("[[[[1]]],2}", "Expected ',' or ']' after array element in JSON at position 10"),
        ("[[1],[2],,]", "Unexpected token ',', \"[[1],[2],,]\" is not valid JSON"),
        ("[ ]]", "Unexpected non-whitespace character after JSON at position 3"),
        ('{"a":1]', "Expected ',' or '}' after property value in JSON at position 6"),
        ('[[{"a":[1]]}]]', "Expected ',' or '}' after property value in JSON at position 10"),
        ('{"a":{"b":{}},}', "Expected double-quoted property name in JSON at position 14"),
        ('{"a" :1,"b"}', 'Unexpected token \'}\', "{"a" :1,"b"}" is not valid JSON'),
        (
            '{"d":"x","a":' + "[" * 1200 + "1" + "]" * 1200 + ',"b":1,}',
            "Expected double-quoted property name in JSON at position 2421",
        ),
        (
            "[" + "[" * 1200 + "]" * 1200 + ',1,2,"x",x]',
            'Unexpected token \'x\', ..."],1,2,"x",x]" is not valid JSON',
        ),
    ),
    disabled_schemathesis_checks={
        "unsupported_method": "Unleash answers an unrouted method with 404 NotFoundError, not 405",
    },
    user_keys=_USER_KEYS,
    ui_config_keys=tuple(
        k for k in _UI_CONFIG_KEYS_6 if k not in ("segmentValuesLimit", "strategySegmentsLimit")
    ),
    # tokenExpiryNotifications came in 8.1 (UNLEASH_EXPERIMENTAL_TOKEN_EXPIRY_NOTIFICATIONS).
    ui_config_flags=("personalAccessTokensKillSwitch", "tokenExpiryNotifications"),
)

# Before 8.2: no PAT rate limit (R1, R2), and DELETE of an id no PAT has answers 404
# NotFoundError "No PAT found." (R4); the errors, limits and ids are otherwise 8.2.0's.
UNLEASH_7_6_5 = dataclasses.replace(
    UNLEASH_8_2_0,
    version="7.6.5",
    unknown_id=Error(404, "NotFoundError"),
    rate_limit_headers=False,
    statuses_without_json=frozenset(),
    secret_formats=(HEX_SECRET,),
    overlays=("7.6.5",),
    ui_config_flags=("personalAccessTokensKillSwitch",),
)
# 6.x and 5.x: `isAPI` first on user objects, the segment limits as ui-config keys of their own.
UNLEASH_6_10_1 = dataclasses.replace(
    UNLEASH_7_6_5,
    version="6.10.1",
    overlays=("7.6.5", "6.10.1"),
    user_keys=("isAPI", *_USER_KEYS),
    ui_config_keys=_UI_CONFIG_KEYS_6,
    deep_bodies_answered=False,
    lone_surrogate_password_answered=False,
)
# 5.x: no prometheusAPIAvailable, no maxSessionsCount (sessions are not capped).
UNLEASH_5_12_8 = dataclasses.replace(
    UNLEASH_6_10_1,
    version="5.12.8",
    overlays=("7.6.5", "6.10.1", "5.12.8"),
    ui_config_keys=tuple(
        k for k in _UI_CONFIG_KEYS_6 if k not in ("prometheusAPIAvailable", "maxSessionsCount")
    ),
    deep_bodies_answered=True,
)

VERSIONS = {e.version: e for e in (UNLEASH_5_12_8, UNLEASH_6_10_1, UNLEASH_7_6_5, UNLEASH_8_2_0)}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def resolve(version: str) -> Expectations | None:
    """A known version's expectations; a major (`7`) or an unknown release of a known major
    (`7.3.0`) gets the newest known of that major; None when the major is unknown."""
    if version in VERSIONS:
        return VERSIONS[version]
    major = version.split(".")[0]
    same = [v for v in VERSIONS if v.split(".")[0] == major]
    return VERSIONS[max(same, key=_key)] if same else None
