"""Every version-specific fact the suite asserts, in one object per Unleash version.

Checks read these from `ctx.expect`; nothing else in the suite names a limit, an error name or a
status that could change between Unleash versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    delete_status: int  # own, another user's, repeated or unknown id alike
    statuses_without_json: frozenset[int]  # bodies that are not Unleash's JSON errors
    # Bodies that are no JSON, and the 400 `{"message": ...}` express.json answers (V8's
    # JSON.parse messages, so they follow the Node.js version the Unleash image ships).
    json_syntax_errors: tuple[tuple[str, str], ...]
    # schemathesis' built-in checks this version contradicts on purpose, with the reason.
    disabled_schemathesis_checks: dict[str, str] = field(default_factory=dict)

    def contract_path(self) -> Path:
        """The contract document: at the checkout's root, else inside the installed package
        (`contract_tests/openapi.yaml` is a symlink to the root's, which the wheel stores as a
        file: hatch's force-include cannot map the one source file to two places)."""
        here = Path(__file__).parent
        for candidate in (here.parent / self.contract_document, here / self.contract_document):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"the contract document {self.contract_document} is missing")


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
    statuses_without_json=frozenset({429}),  # express-rate-limit's plain text answer
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
    ),
    disabled_schemathesis_checks={
        "unsupported_method": "Unleash answers an unrouted method with 404 NotFoundError, not 405",
    },
)

VERSIONS = {e.version: e for e in (UNLEASH_8_2_0,)}
