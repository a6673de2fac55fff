"""What one Unleash release does on the PAT API, as typed data. Behaviour code asks the profile;
it never compares version strings. Profiles are built from the release files (releases.py)."""

from __future__ import annotations

import base64
import functools
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple


class UnknownDelete(Enum):
    """What DELETE answers for an id no PAT has (missing, zero, already deleted). Another user's
    PAT exists, so it is never "unknown": every release answers 200 and deletes nothing."""

    OK = "ok"  # 200, nothing deleted
    NOT_FOUND = "not_found"  # 404 NotFoundError


class IdCheck(Enum):
    """How DELETE's `{id}` is checked before the handler runs."""

    # Ajv against the contract's `type: integer` (coerced, bounded): a schema 400.
    SCHEMA = "schema"
    # id-number-middleware (5.12, 6.3, 6.4): `Number.isInteger(Number(id))`, else a service 400.
    NUMBER_MIDDLEWARE = "number_middleware"
    # No check (5.11 and older): PostgreSQL reads the id as sent, a 500 leaking SQL where it
    # cannot; the mock answers the service 400 the next release brought.
    NONE = "none"


class Crash(Enum):
    """Requests that kill a release's process: never sent to it by the suite or the parity
    suite; the mock answers what the release would have answered had it lived."""

    DEEP_BODIES = "deep_bodies"  # a valid body nested 2,000 levels deep
    VERY_DEEP_BODIES = "very_deep_bodies"  # a body nested 50,000 levels deep, echoed in a 400
    LONE_SURROGATE_PASSWORD = "lone_surrogate_password"  # "\ud800" in a login password


class ErrorKind(Enum):
    """Each kind of error answer; the release gives its status and `name`."""

    MISSING_TOKEN = "missing_token"
    UNKNOWN_TOKEN = "unknown_token"
    BAD_DATA = "bad_data"
    DUPLICATE_DESCRIPTION = "duplicate_description"
    TOO_MANY_PATS = "too_many_pats"
    NOT_A_USER = "not_a_user"
    NOT_FOUND = "not_found"
    CONTENT_TYPE = "content_type"
    PASSWORD_MISMATCH = "password_mismatch"
    UNKNOWN = "unknown"
    PERMISSION = "permission"
    PASSWORD_UNDEFINED = "password_undefined"
    WEAK_PASSWORD = "weak_password"


class Message(Enum):
    """Each text the release writes; `{name}` fields are filled where it is written."""

    EMPTY_DESCRIPTION = "empty_description"
    PAST_EXPIRY = "past_expiry"
    TOO_MANY_PATS = "too_many_pats"
    DUPLICATE_DESCRIPTION = "duplicate_description"
    PATS_DISABLED = "pats_disabled"
    UNKNOWN_PAT = "unknown_pat"
    NOT_AN_INTEGER = "not_an_integer"
    NUL_DESCRIPTION = "nul_description"
    NOT_A_USER = "not_a_user"
    SCHEMA_INVALID = "schema_invalid"
    SERVICE_INVALID = "service_invalid"
    PROPERTY_REQUIRED = "property_required"
    PROPERTY_INVALID = "property_invalid"
    LOGIN_REQUIRED = "login_required"
    UNAUTHORIZED = "unauthorized"
    PASSWORD_MISMATCH = "password_mismatch"
    PATH_NOT_FOUND = "path_not_found"
    CONTENT_TYPE = "content_type"
    CONTENT_TYPE_MISSING = "content_type_missing"
    TOO_MANY_REQUESTS = "too_many_requests"
    WRONG_TOKEN_TYPE = "wrong_token_type"
    API_TOKEN_REQUIRED = "api_token_required"
    PERMISSION_DENIED = "permission_denied"
    NO_USER_FOUND = "no_user_found"
    PASSWORD_UNDEFINED = "password_undefined"
    UNKNOWN_ROOT_ROLE = "unknown_root_role"
    NAME_OR_EMAIL_REQUIRED = "name_or_email_required"
    USER_EXISTS = "user_exists"
    USER_ID_NOT_AN_INTEGER = "user_id_not_an_integer"
    ADDITIONAL_PROPERTY = "additional_property"


class RateLimitedPosts(Enum):
    """Which POSTs under /api/admin/user-admin the create-user rate limit counts."""

    CREATE = "create"  # only the creation of a user (the limiter sits on that route)
    ALL = "all"  # every POST below the path (8.x's path-prefix rule, after authentication)


class Defect(Enum):
    """Real Unleash's 500s that leak SQL, answered as such only in bug-compatible mode."""

    NUL_DESCRIPTION = "nul_description"
    EXPIRY_OFFSET_OUT_OF_RANGE = "expiry_offset_out_of_range"
    DELETE_ID_OUT_OF_RANGE = "delete_id_out_of_range"
    DELETE_ID_NOT_INT4_SYNTAX = "delete_id_not_int4_syntax"
    ADMIN_TOKEN_DELETE = "admin_token_delete"
    ADMIN_TOKEN_LIST = "admin_token_list"
    ADMIN_TOKEN_CREATE = "admin_token_create"
    EXPIRY_MISSING = "expiry_missing"
    EXPIRY_OUT_OF_RANGE = "expiry_out_of_range"


class UiValue(Enum):
    """A value of GET /api/admin/ui-config that depends on the instance, the mock's options or
    the caller: written `"${<value>}"` in the release's recording (releases/ui-config/), where
    the mock computes it."""

    VERSION = "version"  # the release, also versionInfo.current.oss
    UNLEASH_URL = "unleashUrl"
    BASE_URI_PATH = "baseUriPath"
    AUTHENTICATION_TYPE = "authenticationType"
    INSTANCE_ID = "instanceId"
    UNLEASH_CONTEXT = "unleashContext"  # the caller's: see UnleashContext
    PATS_KILL_SWITCH = "personalAccessTokensKillSwitch"
    TOKEN_EXPIRY_NOTIFICATIONS = "tokenExpiryNotifications"
    SECURE_ACCOUNT_TOKEN_STORAGE = "secureAccountTokenStorage"


class UnleashContext(Enum):
    """ui-config's `unleashContext`, the caller's flag context (an admin API token's is `{}`)."""

    NONE = "none"  # no such key
    PLAIN = "plain"  # the user's email and id
    # sha256 of the email, the id, and sha256 of the session id when a session asks.
    HASHED = "hashed"


class Answer(NamedTuple):
    status: int
    name: str


@dataclass(frozen=True)
class ErrorStyle:
    """How a release writes its JSON error bodies (the body parser's bare `{message}` aside)."""

    # Every error body carries an `id` (5.x, 6.x); else only middleware errors do.
    every_error_has_id: bool = False
    # Each `details` entry repeats its message under `description` (5.x).
    detail_descriptions: bool = False
    # Schema errors name the property relative to the body (`description`, and "" for the body
    # itself, whose value is then reported as `undefined`) instead of a JSON pointer
    # (`/body/description`), with the key order of 5.x's validator (5.x).
    property_paths: bool = False


@dataclass(frozen=True, eq=False)
class VersionProfile:
    """One release's facts; the field comments are in releases/unleash-8.2.0.yaml."""

    version: str  # "8.2.0"
    pat_limit: int
    max_pat_id: int
    secret_prefix: str
    secret_hex_chars: int
    secure_account_tokens: bool
    unknown_delete: UnknownDelete
    id_check: IdCheck
    pat_keys: tuple[str, ...]
    api_user_refused_early: bool
    pat_rate_limit: bool
    expiry_warnings: bool
    api_token_routes_refuse_user_tokens: bool
    cookie_beats_admin_token: bool
    bearer: bool
    strict_content_type_check: bool
    ajv: int
    max_sessions_per_user: int | None
    session_seconds: int
    resends_session_cookie: bool
    logout_redirect: str
    login_limit_case_sensitive: bool
    login_limit_before_body: bool
    user_is_api: bool
    session_user_keys: tuple[str, ...]
    admin_token_keys: tuple[str, ...]
    viewer_permissions: tuple[str, ...]
    # Each as Unleash lists it: {"project", "environment", "permission"}, the scope keys first.
    editor_permissions: tuple[Mapping[str, str], ...]
    unleash_context: UnleashContext
    user_admin_rate_limited_posts: RateLimitedPosts
    invite_token_prefix: str
    user_id_checked_by_schema: bool
    password_of_unknown_user_ok: bool
    created_role_after_invite: bool
    system_users: tuple[tuple[int, str, str, str | None], ...]  # id, username, name, email
    errors: ErrorStyle
    answers: Mapping[ErrorKind, Answer]
    messages: Mapping[Message, str]
    defects: Mapping[Defect, str]
    crashes: frozenset[Crash]
    # The contract: openapi.yaml with these merge patches applied in order (see contract()).
    contract_patches: tuple[Mapping[str, Any], ...] = ()
    # Where the contract's base document is read from; set by the loader.
    reference: Any = None
    # Reads the release's recorded ui-config, placeholders as UiValues; set by the loader.
    ui_config_recording: Any = None

    @property
    def name(self) -> str:
        return f"Unleash {self.version}"

    @functools.cached_property
    def _contract(self) -> dict[str, Any]:
        import copy

        import json_merge_patch

        document = copy.deepcopy(self.reference())
        for patch in self.contract_patches:
            document = json_merge_patch.merge(document, copy.deepcopy(patch))
        return document

    def ui_config(self) -> Mapping[str, Any]:
        """GET /api/admin/ui-config as the release answers on a default install, each value
        that varies as its UiValue (read once; treat it as read-only)."""
        return self.ui_config_recording()

    def spec(self) -> dict[str, Any]:
        """This release's contract (cached; treat it as read-only)."""
        return self._contract

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

    def message(self, kind: Message, **values: object) -> str:
        return self.messages[kind].format(limit=self.pat_limit, base="", **values)

    def answer(self, kind: ErrorKind) -> Answer:
        return self.answers[kind]
