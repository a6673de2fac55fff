"""Thin handlers: connexion routes the operations of openapi.yaml here by operationId.

Authentication, body parsing and validation happened before (auth.py, body_parser.py,
validation.py); the rules live in the store. A handler picks the caller, calls the store and
writes the answer in Unleash's format.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from connexion.context import scope as request_scope
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from mock_server import node_json
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
from mock_server.validation import check, parse_date_time
from mock_server.versions import UnknownDelete

if TYPE_CHECKING:
    from mock_server.state import MockState

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


def user_json(user: User, *, session: bool, max_sessions: int) -> dict:
    """Unleash's user object; a session (login, cookie) adds six keys that a PAT does not see."""
    email = user.email or ""
    body = {
        "accountType": "User",
        "id": user.id,
        "name": user.name or user.username,
        "username": user.username,
        "email": user.email,
        "imageUrl": f"https://gravatar.com/avatar/{hashlib.sha256(email.encode()).hexdigest()}"
        "?s=42&d=retro&r=g",
        "seenAt": None,
        "loginAttempts": 0,
        "createdAt": timestamp(user.created_at),
    }
    if session:
        body |= {
            "scimId": None,
            "seatType": None,
            "companyRole": None,
            "productUpdatesEmailConsent": None,
            "deletedSessions": 0,
            "activeSessions": max_sessions,
        }
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
        """A service error in the version's words, with or without an `id` as it sends them."""
        profile = self.state.profile
        return error(profile.message(kind), with_id=profile.service_error_ids)

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
        if principal.user is None:
            return self._defect("delete_as_api_token")
        shown = node_json.number_to_string(pat_id)
        kind = "delete_id_out_of_range" if shown.lstrip("-").isdigit() else "delete_id_syntax"
        return self._defect(kind, id=shown)

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
            raise (self._defect(exc.kind) or error) from None
        return json_response(pat_json(pat, secret=secret), 201)

    async def deletePat(self, id: int) -> Response:
        principal: Principal = request_scope[PRINCIPAL_KEY]
        if principal.user is None and (defect := self._defect("delete_as_api_token")):
            raise defect
        user = self._caller(kill_switch=False)  # Unleash's kill switch spares DELETE
        deleted = self.state.store.delete(user.id, id)
        if not deleted and self.state.profile.unknown_delete is UnknownDelete.NOT_FOUND:
            raise self._service_error("unknown_pat", NotFound)
        return EndResponse(200)

    # -- the bootstrap routes real clients use, outside the contract ----------------------
    async def login(self, request: Request) -> Response:
        limit_headers, retry_after = self.state.login_limiter.hit(client_key(request.scope))
        response = self._login(request, retry_after)
        response.headers.update({k.decode(): v.decode() for k, v in limit_headers})
        return response

    def _login(self, request: Request, retry_after: int | None) -> Response:
        if retry_after is not None:
            return TooManyRequests(retry_after).response()
        body, error = check(_LOGIN_SCHEMA, request.scope.get(BODY_KEY, {}), "/body")
        if error:
            return SchemaError([error]).response()
        user = self.state.store.check_password(body["username"], body["password"])
        if user is None:
            return PasswordMismatch().response()
        return json_response(
            user_json(user, session=True, max_sessions=self.state.profile.max_sessions_per_user),
            headers={"Set-Cookie": self.state.sessions.create(user)},
        )

    async def current_user(self, request: Request) -> Response:
        principal: Principal = request.scope[PRINCIPAL_KEY]
        if principal.user is None:
            # Unleash describes the admin API token here, secret included; the mock leaves
            # the secret out.
            user: dict = {
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
                principal.user,
                session=principal.via == "session",
                max_sessions=self.state.profile.max_sessions_per_user,
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


def spec_document(spec: dict) -> Response:
    return json_response(spec)
