"""What one Unleash version does on the PAT API, as data. Behaviour code asks the profile; it
never compares version strings."""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType


class UnknownDelete(Enum):
    """What DELETE answers for an id the caller does not own (missing, deleted, another's)."""

    OK = "200, nothing deleted"
    NOT_FOUND = "404 NotFoundError"


def _messages(**items: str) -> Mapping[str, str]:
    return MappingProxyType(items)


@dataclass(frozen=True)
class VersionProfile:
    version: str  # "8.2.0"
    contract: Path  # the OpenAPI document this version's server is described by
    pat_limit: int = 10
    # Service errors (403, 409, a service 400, "PATs are disabled.") carry an `id` or not;
    # middleware errors (401, 404, 415, a schema 400) always do.
    service_error_ids: bool = False
    unknown_delete: UnknownDelete = UnknownDelete.OK
    # TOKEN_AUTHENTICATION_RATE_LIMIT: RateLimit-* headers and 429 on PAT-authenticated requests.
    pat_rate_limit: bool = True
    # The tokenExpiryNotifications flag exists (expiryWarning in the list).
    expiry_warnings: bool = True
    max_sessions_per_user: int = 5
    session_seconds: int = 2 * 24 * 3600
    secret_prefix: str = "user:"
    secret_hex_chars: int = 56  # crypto.randomBytes(28) in hex
    messages: Mapping[str, str] = field(
        default_factory=lambda: _messages(
            empty="PAT description cannot be empty.",
            past="The expiry date should be in future.",
            limit="Too many PATs ({limit}) already exist for this user.",
            duplicate="PAT description already exists.",
            # Unleash fails with a 500 leaking SQL here; this is the 400 it means.
            nul="PAT description cannot contain a NUL character.",
            disabled="PATs are disabled.",
            unknown_pat="No PAT found.",
            # Unleash answers DELETE with a 500 leaking SQL here; 403 is what it means.
            not_a_user="PATs require an authenticated user.",
        )
    )

    # Bug-compatible mode: the message of the 500 UnknownError (no id) this version answers for
    # a defect, by kind: "nul" (a NUL in a description), "delete_as_api_token" (DELETE with an
    # admin API token), "delete_id_out_of_range" and "delete_id_syntax" (an id PostgreSQL's int4
    # cannot hold; `{id}` is JavaScript's String() of it). A kind left out is answered corrected.
    defects: Mapping[str, str] = field(default_factory=_messages)

    @property
    def name(self) -> str:
        return f"Unleash {self.version}"

    def new_secret(self, rng: random.Random | None = None) -> str:
        """A new PAT secret; from `rng` where the mock is seeded, else from the OS."""
        size = self.secret_hex_chars // 2
        return self.secret_prefix + (rng.randbytes(size).hex() if rng else secrets.token_hex(size))

    def message(self, kind: str) -> str:
        return self.messages[kind].format(limit=self.pat_limit)
