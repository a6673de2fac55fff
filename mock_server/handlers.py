"""Thin handlers: connexion routes the operations of openapi.yaml here by operationId.

Authentication, body parsing and validation happened before (auth.py, body_parser.py,
validation.py); the rules live in the store. A handler picks the caller, calls the store and
writes the answer in Unleash's format.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from mock_server import node_json
from mock_server._compat import request_scope
from mock_server.auth import PRINCIPAL_KEY, Principal, client_key
from mock_server.body_parser import BODY_KEY
from mock_server.errors import (
    BadDataError,
    Forbidden,
    NameExists,
    NotFound,
    OperationDenied,
    PasswordMismatch,
    SchemaError,
    TooManyRequests,
    UnleashError,
)
from mock_server.responses import EndResponse, json_response
from mock_server.store import Pat, StoreError, User
from mock_server.validation import check, js_number, parse_date_time
from mock_server.versions import IdCheck, UnknownDelete, VersionProfile

if TYPE_CHECKING:
    from mock_server.state import MockState

# What PostgreSQL reads as an int4: optional spaces, a sign, decimal digits (leading zeros
# aside, at most 10: int() stays cheap, and a longer number is out of range anyway).
_INT4_TEXT = re.compile(r"[ \t\n\r\f\v]*[+-]?0*[0-9]{1,10}[ \t\n\r\f\v]*")
_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1

_STORE_ERRORS: dict[str, type[UnleashError]] = {
    "limit": OperationDenied,
    "duplicate": NameExists,
}


def timestamp(moment: datetime) -> str:
    """JavaScript's Date#toISOString: UTC, milliseconds (truncated), `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def expiry_warning(pat: Pat, now: datetime, lead_days: tuple[int, ...]) -> str | None:
    """Unleash's getTokenExpiryWarning: calendar days in UTC."""
    if pat.expires_at <= now:
        return "expired"
    days_left = (pat.expires_at.date() - now.date()).days
    days_since = (now.date() - pat.created_at.date()).days
    if days_since < days_left:
        return None
    return "expires-soon" if any(days_left <= d for d in lead_days) else None


def pat_json(pat: Pat, *, secret: str | None = None, warning: str | None = None) -> dict:
    body = {
        "id": pat.id,
        "description": pat.description,
        "expiresAt": timestamp(pat.expires_at),
        "userId": pat.user_id,
        "createdAt": timestamp(pat.created_at),
        "seenAt": timestamp(pat.seen_at) if pat.seen_at else None,
    }
    if warning:
        body["expiryWarning"] = warning
    if secret:
        body["secret"] = secret
    return body


def image_url(user: User) -> str:
    """Unleash's generateImageUrl: the gravatar of the email, else the username (Unleash falls
    back on the id, but every user of the mock has a username), lower-cased and trimmed unless
    it starts with `@` (its `ident.indexOf('@')` test)."""
    ident = user.email or user.username
    ident = ident.strip() if ident.startswith("@") else ident.lower().strip()
    digest = hashlib.sha256(ident.encode()).hexdigest()
    return f"https://gravatar.com/avatar/{digest}?s=42&d=retro&r=g"


def user_json(
    user: User, *, session: bool, profile: VersionProfile, deleted_sessions: int = 0
) -> dict:
    """Unleash's user object; a session (login, cookie) adds keys that a PAT does not see (a
    login says how many old sessions it ended). An empty name or email is no key at all
    (Unleash reads it as `undefined`, which JSON drops)."""
    body: dict = {"isAPI": False} if profile.user_is_api else {}
    body |= {"accountType": "User", "id": user.id}
    body |= {"name": user.name} if user.name else {}
    body |= {"username": user.username}
    body |= {"email": user.email} if user.email else {}
    body |= {
        "imageUrl": image_url(user),
        "seenAt": None,
        "loginAttempts": 0,
        "createdAt": timestamp(user.created_at),
    }
    if session:
        values = {
            "scimId": None,
            "seatType": None,
            "companyRole": None,
            "productUpdatesEmailConsent": None,
            "deletedSessions": deleted_sessions,
            "activeSessions": profile.max_sessions_per_user,
        }
        body |= {key: values[key] for key in profile.session_user_keys}
    return body


_LOGIN_SCHEMA = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}


class PatHandlers:
    def __init__(self, state: MockState) -> None:
        self.state = state

    def _service_error(self, kind: str, error: type[UnleashError] = BadDataError) -> UnleashError:
        """A service error in the version's words."""
        return error(self.state.profile.message(kind))

    def _defect(self, kind: str, **values: object) -> UnleashError | None:
        """Bug-compatible mode: the version's defect as it answers it (a 500 leaking SQL), from
        the profile; None where the mode is off or the version has no such defect."""
        message = self.state.profile.defects.get(kind)
        if message is None or not self.state.options.bug_compatible:
            return None
        return UnleashError(message.format(**values))

    def defect_of(self, scope: Scope, exc: UnleashError) -> UnleashError | None:
        """Bug-compatible mode, for a DELETE the mock's schema refuses: Unleash declares no
        bound on the id, so one beyond PostgreSQL's int4 fails in its query instead."""
        principal: Principal | None = scope.get(PRINCIPAL_KEY)
        if not isinstance(exc, SchemaError) or scope.get("method") != "DELETE" or not principal:
            return None
        # The id as Ajv coerces it (the scope here holds the raw path segment); Ajv refuses
        # what is no integer at all.
        pat_id, error = check({"type": "integer"}, scope.get("path_params", {}).get("id"), "")
        if error or -(2**31) <= pat_id < 2**31:
            return None
        # 8.x compiles its DELETE first (an admin token has no user id to bind); earlier
        # versions look the PAT up first, and that query fails on the id.
        if principal.user is None and self.state.profile.unknown_delete is UnknownDelete.OK:
            return self._defect("admin_token_delete")
        return self._id_defect(node_json.number_to_string(pat_id))

    def _id_defect(self, shown: str) -> UnleashError | None:
        """PostgreSQL's refusal of an id int4 cannot hold, `shown` as Unleash sent it."""
        digits = shown.removeprefix("-").isdigit()
        kind = "delete_id_out_of_range" if digits else "delete_id_not_int4_syntax"
        return self._defect(kind, value=shown)

    def _caller(self, *, kill_switch: bool = True) -> User:
        principal: Principal = request_scope[PRINCIPAL_KEY]
        if kill_switch and self.state.options.pats_kill_switch:
            raise self._service_error("disabled", NotFound)
        if principal.user is None:
            raise self._service_error("not_a_user", Forbidden)
        return principal.user

    # -- operations of openapi.yaml -------------------------------------------------------
    async def getPats(self) -> Response:
        user = self._caller()
        options, now = self.state.options, self.state.clock.now()
        notify = options.token_expiry_notifications and self.state.profile.expiry_warnings
        days = options.token_expiry_notification_days
        pats = [
            pat_json(pat, warning=expiry_warning(pat, now, days) if notify else None)
            for pat in self.state.store.list(user.id)
        ]
        return json_response(
            {"pats": pats}, if_none_match=Headers(scope=request_scope).get("if-none-match")
        )

    async def createPat(self) -> Response:
        user = self._caller()
        body = request_scope[BODY_KEY]
        try:
            # Validation guarantees a storable instant. Unleash skips its past-expiry check
            # for strings JavaScript's Date cannot parse; the mock always checks.
            expires_at = parse_date_time(body["expiresAt"])
            assert expires_at is not None
            pat, secret = self.state.store.create(user.id, body["description"], expires_at)
        except StoreError as exc:
            error = self._service_error(exc.kind, _STORE_ERRORS.get(exc.kind, BadDataError))
            defect = self._defect("nul_description") if exc.kind == "nul" else None
            raise (defect or error) from None
        return json_response(pat_json(pat, secret=secret), 201)

    async def deletePat(self, id: int | str) -> Response:
        pat_id = self._pat_id(id)
        # Where the version looks the PAT up first, an id no PAT has is a 404 for any caller,
        # an admin API token included; another user's PAT exists, and is answered 200.
        profile, store = self.state.profile, self.state.store
        if profile.unknown_delete is UnknownDelete.NOT_FOUND and not store.exists(pat_id):
            raise self._service_error("unknown_pat", NotFound)
        principal: Principal = request_scope[PRINCIPAL_KEY]
        if principal.user is None and (defect := self._defect("admin_token_delete")):
            raise defect
        user = self._caller(kill_switch=False)  # Unleash's kill switch spares DELETE
        store.delete(user.id, pat_id)
        return EndResponse(200)

    def _pat_id(self, raw: int | str) -> int:
        """The id as the contract's validator left it, or (5.x, where the contract says string)
        as id-number-middleware checks it: `Number.isInteger(Number(id))`."""
        if self.state.profile.id_check is IdCheck.SCHEMA:
            assert isinstance(raw, int)
            return raw
        text = str(raw)
        number = js_number(text)
        if not (math.isfinite(number) and number % 1 == 0):
            raise self._service_error("not_an_integer")
        # Real 5.x then hands the text itself to PostgreSQL: `1e3`, `0x10`, `107.0` or a value
        # beyond int4 fail there with a 500 leaking SQL, and nothing is deleted. The mock
        # answers the 400 that was meant.
        if not _INT4_TEXT.fullmatch(text) or not _INT4_MIN <= int(text) <= _INT4_MAX:
            raise self._id_defect(text) or self._service_error("not_an_integer")
        return int(text)

    # -- the bootstrap routes real clients use, outside the contract ----------------------
    async def login(self, request: Request) -> Response:
        limit_headers, retry_after = self.state.login_limiter.hit(client_key(request.scope))
        response = self._login(request, retry_after)
        response.headers.update({k.decode(): v.decode() for k, v in limit_headers})
        return response

    def _login(self, request: Request, retry_after: int | None) -> Response:
        if retry_after is not None:
            return TooManyRequests(retry_after).response()
        style = self.state.profile.errors
        body, error = check(_LOGIN_SCHEMA, request.scope.get(BODY_KEY, {}), "/body")
        if error:
            return SchemaError(error).response(style)
        user = self.state.store.check_password(body["username"], body["password"])
        if user is None:
            return PasswordMismatch().response(style)
        cookie, ended = self.state.sessions.create(user)
        return json_response(
            user_json(user, session=True, profile=self.state.profile, deleted_sessions=ended),
            headers={"Set-Cookie": cookie},
        )

    async def current_user(self, request: Request) -> Response:
        principal: Principal = request.scope[PRINCIPAL_KEY]
        if principal.user is None:
            # Unleash describes the admin API token here, secret included; the mock leaves
            # the secret out.
            user: dict = {"isAPI": True} if self.state.profile.user_is_api else {}
            user |= {
                "username": "admin-api-token",
                "permissions": ["ADMIN"],
                "environment": "*",
                "type": "admin",
                "projects": ["*"],
                "internalAdminTokenUserId": -42,
            }
            admin = True
        else:
            user = user_json(
                principal.user, session=principal.via == "session", profile=self.state.profile
            )
            admin = principal.user.admin
        body = {
            "user": user,
            "permissions": [{"permission": "ADMIN"}] if admin else [],
            "feedback": [],
            "splash": {},
        }
        return json_response(
            body,
            headers={"cache-control": "no-store"},
            if_none_match=request.headers.get("if-none-match"),
        )

    async def ui_config(self, request: Request) -> Response:
        """The part of Unleash's UI configuration a client reads (the version above all), in
        the version's key order."""
        profile, options = self.state.profile, self.state.options
        flags = {"personalAccessTokensKillSwitch": options.pats_kill_switch}
        if profile.expiry_warnings:
            flags["tokenExpiryNotifications"] = options.token_expiry_notifications
        values = {
            "environment": "Open Source",
            "flags": flags,
            "version": profile.version,
            "emailEnabled": False,
            "unleashUrl": str(request.base_url).rstrip("/"),
            "baseUriPath": "",
            "authenticationType": "open-source",
            "segmentValuesLimit": 1000,
            "strategySegmentsLimit": 5,
            "frontendApiOrigins": ["*"],
            "versionInfo": {
                "current": {"oss": profile.version, "enterprise": ""},
                "latest": {},
                "isLatest": True,
                "instanceId": self.state.instance_id,
            },
            "prometheusAPIAvailable": False,
            "disablePasswordAuth": False,
            "maintenanceMode": False,
            "maxSessionsCount": 0,
        }
        return json_response(
            {key: values[key] for key in profile.ui_config_keys},
            if_none_match=request.headers.get("if-none-match"),
        )


def spec_document(spec: dict) -> Response:
    return json_response(spec)
