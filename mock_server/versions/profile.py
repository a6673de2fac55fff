"""What one Unleash version does on the PAT API, as data. Behaviour code asks the profile; it
never compares version strings."""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mock_server.versions import contracts


class UnknownDelete(Enum):
    """What DELETE answers for an id no PAT has (missing, zero, already deleted). Another user's
    PAT exists, so it is never "unknown": every version answers 200 and deletes nothing."""

    OK = "200, nothing deleted"
    NOT_FOUND = "404 NotFoundError"


class IdCheck(Enum):
    """How DELETE's `{id}` is checked before the handler runs."""

    # Ajv against the contract's `type: integer` (coerced, bounded): a schema 400.
    SCHEMA = "schema 400 from the contract"
    # id-number-middleware (5.x): `Number.isInteger(Number(id))`, else a service-shaped 400.
    NUMBER_MIDDLEWARE = "service 400 'ID should be an integer'"


@dataclass(frozen=True)
class ErrorStyle:
    """How a version writes its JSON error bodies (the body parser's bare `{message}` aside)."""

    # Every error body carries an `id` (5.x, 6.x); else only middleware errors do.
    every_error_has_id: bool = False
    # Each `details` entry repeats its message under `description` (5.x).
    detail_descriptions: bool = False
    # Schema errors name the property relative to the body (`description`, and "" for the body
    # itself, whose value is then reported as `undefined`) instead of a JSON pointer
    # (`/body/description`), with the key order of 5.x's validator (5.x).
    property_paths: bool = False


def _frozen(**items: object) -> Mapping[str, object]:
    return MappingProxyType(items)


def _messages(**items: str) -> Mapping[str, str]:
    return MappingProxyType(items)


# The user keys a session (login, cookie) sees after `createdAt`, in the order 7.x and 8.x send.
SESSION_USER_KEYS_7 = (
    "scimId",
    "seatType",
    "companyRole",
    "productUpdatesEmailConsent",
    "deletedSessions",
    "activeSessions",
)
# /api/admin/ui-config's top-level keys the mock sends (a real-shaped subset), in 8.2.0's order.
UI_CONFIG_KEYS_8 = (
    "environment",
    "flags",
    "version",
    "emailEnabled",
    "unleashUrl",
    "baseUriPath",
    "authenticationType",
    "frontendApiOrigins",
    "versionInfo",
    "prometheusAPIAvailable",
    "disablePasswordAuth",
    "maintenanceMode",
    "maxSessionsCount",
)


@dataclass(frozen=True)
class VersionProfile:
    version: str  # "8.2.0"
    contract: Path  # the OpenAPI document of the reference version (openapi.yaml)
    # JSON merge patches (RFC 7396) applied to `contract` in order; see contracts/.
    contract_overlays: tuple[Path, ...] = ()
    pat_limit: int = 10
    errors: ErrorStyle = ErrorStyle()
    unknown_delete: UnknownDelete = UnknownDelete.OK
    id_check: IdCheck = IdCheck.SCHEMA
    # TOKEN_AUTHENTICATION_RATE_LIMIT: RateLimit-* headers and 429 on PAT-authenticated requests.
    pat_rate_limit: bool = True
    # The content-type check (type-is 1 before 7.x) wants the whole Content-Type to parse, so
    # `application/json;` is a 415 there; from 7.x only the media type counts (then a 400, as
    # express.json leaves such a body unread).
    strict_content_type_check: bool = False
    # The client and front-end APIs refuse a PAT or an admin token with 403 (8.2); before, a
    # PAT reached them (not mocked: the mock goes on to the admin guard, then 404).
    api_token_routes_refuse_user_tokens: bool = True
    # The tokenExpiryNotifications flag exists (expiryWarning in the list).
    expiry_warnings: bool = True
    # With a session cookie and an admin API token both sent, the cookie's user acts (5.x);
    # else the admin token wins.
    cookie_beats_admin_token: bool = False
    # express-session sends Set-Cookie again on a fresh session's first use (8.2).
    resends_session_cookie: bool = True
    max_sessions_per_user: int | None = 5  # None: no cap (5.x)
    session_seconds: int = 2 * 24 * 3600
    # User objects: `isAPI` first (false for a user, true for an admin token; 5.x, 6.x), and
    # the keys a session sees after `createdAt`.
    user_is_api: bool = False
    session_user_keys: tuple[str, ...] = SESSION_USER_KEYS_7
    ui_config_keys: tuple[str, ...] = UI_CONFIG_KEYS_8
    # UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN exists: new secrets may be `user:v2_…`.
    secure_account_tokens: bool = True
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
            not_an_integer="ID should be an integer",
        )
    )
    # Real defects, kept as data for a bug-compatible mode: the exact 500 messages (leaked SQL)
    # this version answers where the mock answers the 4xx that was meant. Unused by default;
    # `{value}` stands for the id or the expiresAt as sent.
    defects: Mapping[str, str] = field(default_factory=lambda: _frozen())

    @property
    def name(self) -> str:
        return f"Unleash {self.version}"

    def spec(self) -> dict[str, Any]:
        """This version's contract (cached, read-only)."""
        return contracts.load(self.contract, self.contract_overlays)

    def new_secret(self, *, secure: bool = False, rng: random.Random | None = None) -> str:
        """A new PAT secret: `user:<56 hex>`, or with secure account tokens 8.2.0's
        `user:v2_<selector>_<secret>` (16 and 32 random bytes, base64url without padding);
        drawn from `rng` where the mock is seeded, else from the OS."""

        def random_bytes(n: int) -> bytes:
            return rng.randbytes(n) if rng else secrets.token_bytes(n)

        if secure:
            selector, secret = (
                base64.urlsafe_b64encode(random_bytes(n)).rstrip(b"=").decode() for n in (16, 32)
            )
            return f"{self.secret_prefix}v2_{selector}_{secret}"
        return self.secret_prefix + random_bytes(self.secret_hex_chars // 2).hex()

    def message(self, kind: str) -> str:
        return self.messages[kind].format(limit=self.pat_limit)
