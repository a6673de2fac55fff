"""Deliberately broken mocks, one defect each, to prove the contract suite catches it.

Built without touching mock_server: a unit whose backend is a broken subclass (a PatStore,
Accounts or Sessions), passed to `create_app(units=...)`, or a small ASGI middleware that alters
requests or responses of the correct mock.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import secrets
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import brotli
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import UNITS, Options, create_app
from mock_server.units import accounts, pats
from mock_server.units.accounts.models import (
    SESSION_COOKIE,
    Accounts,
    Session,
    Sessions,
    User,
    cookie_value,
)
from mock_server.units.pats.models import Pat, PatStore, Rule, StoreError, _digest, _UserPats
from tests.conftest import ADMIN_PAT


# -- broken stores ------------------------------------------------------------------------------
class _NeverContains(set):
    def __contains__(self, item: object) -> bool:
        return False


class _CountsZero(dict):
    def __len__(self) -> int:
        return 0


class DuplicatesAllowed(PatStore):
    def create(self, user_id: int, *args: Any, **kwargs: Any) -> tuple[Pat, str]:
        created = super().create(user_id, *args, **kwargs)
        self._pats[user_id].descriptions = _NeverContains()
        return created


class LimitNotEnforced(PatStore):
    def create(self, user_id: int, *args: Any, **kwargs: Any) -> tuple[Pat, str]:
        created = super().create(user_id, *args, **kwargs)
        self._pats[user_id].by_id = _CountsZero(self._pats[user_id].by_id)
        return created


class PastExpiryAllowed(PatStore):
    def create(self, *args: Any, **kwargs: Any) -> tuple[Pat, str]:
        return super().create(*args, **{**kwargs, "check_expiry": False})


class ExpiryRoundedToMilliseconds(PatStore):
    """A date bug: `.9995` kept as `1.000` where a JavaScript Date truncates to `.999`."""

    def create(self, user_id: int, description: str, expires_at: datetime, **kw: Any) -> Any:
        rounded = round(expires_at.microsecond / 1000) * 1000
        expires_at = expires_at.replace(microsecond=0) + timedelta(microseconds=rounded)
        return super().create(user_id, description, expires_at, **kw)


class ListsEveryonesPats(PatStore):
    def list(self, user_id: int) -> list[Pat]:
        return [pat for uid in self._pats for pat in PatStore.list(self, uid)]


class DeletesAnyonesPat(PatStore):
    def delete(self, user_id: int, pat_id: int) -> bool:
        owner = self._pat_owner.get(pat_id)
        return owner is not None and super().delete(owner, pat_id)


class DeleteDoesNothing(PatStore):
    def delete(self, user_id: int, pat_id: int) -> bool:
        return pat_id in self._pat_owner


class HidesNewPats(PatStore):
    def list(self, user_id: int) -> list[Pat]:
        return [pat for pat in super().list(user_id) if pat.id <= 2]  # only the fixtures' PATs


class ReusesIds(PatStore):
    def delete(self, user_id: int, pat_id: int) -> bool:
        deleted = super().delete(user_id, pat_id)
        if deleted:
            self._next_id = pat_id
        return deleted


class DeletedTokenAccepted(PatStore):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ghosts: dict[bytes, Pat] = {}

    def delete(self, user_id: int, pat_id: int) -> bool:
        digest = self._digest_of.get(pat_id)
        pat = self._pats.get(user_id, None) and self._pats[user_id].by_id.get(pat_id)
        deleted = super().delete(user_id, pat_id)
        if deleted and digest and pat:
            self._ghosts[digest] = pat
        return deleted

    def find(self, secret: str) -> Pat | None:
        return super().find(secret) or self._ghosts.get(_digest(secret))


class ExpiredTokenAccepted(PatStore):
    def find(self, secret: str) -> Pat | None:
        pat_id = self._by_digest.get(_digest(secret))
        if pat_id is None:
            return None
        return self._pats[self._pat_owner[pat_id]].by_id[pat_id]


class AnyTokenAccepted(PatStore):
    def find(self, secret: str) -> Pat | None:
        return super().find(secret) or super().find(ADMIN_PAT)


class DeleteOfUnknownIdFails(PatStore):
    def delete(self, user_id: int, pat_id: int) -> bool:
        if pat_id not in self._pat_owner:
            raise RuntimeError("no such PAT")  # the mock's ServerErrorMiddleware: a 500
        return super().delete(user_id, pat_id)


class PasswordsNotChecked(Accounts):
    def check_password(self, username: str, password: str) -> User | None:
        return self._usernames.get(username)


class RightPasswordRefused(Accounts):
    def check_password(self, username: str, password: str) -> User | None:
        return None


class TokensOfAnyCase(PatStore):
    """A PAT matched whatever the case of its secret (Unleash compares it exactly)."""

    def find(self, secret: str) -> Pat | None:
        prefix, _, rest = secret.partition(":")
        return super().find(secret) or super().find(f"{prefix}:{rest.lower()}")


class DuplicateCheckedBeforeTheLimit(PatStore):
    """At the limit, a duplicate description answers 409 (Unleash: the limit's 403 first)."""

    def create(self, user_id: int, description: str, *args: Any, **kwargs: Any) -> Any:
        owned = self._pats.get(user_id)
        if owned and description in owned.descriptions:
            raise StoreError(Rule.DUPLICATE_DESCRIPTION)
        return super().create(user_id, description, *args, **kwargs)


class PatIdTakenForItsOwner(PatStore):
    """A PAT made during a run acts as the user whose id is the PAT's id."""

    def find(self, secret: str) -> Pat | None:
        pat = super().find(secret)
        return replace(pat, user_id=pat.id) if pat and pat.id > 2 else pat


class EveryPatOfTheUserSeen(PatStore):
    """A use of one PAT marks all its owner's PATs as seen."""

    def record_use(self, pat: Pat) -> None:
        for mine in list(self._pats.get(pat.user_id, _UserPats()).by_id.values()):
            super().record_use(mine)


class UsernamesOfAnyCase(Accounts):
    """A login takes the username in any case (Unleash: exactly as stored)."""

    def check_password(self, username: str, password: str) -> User | None:
        same = (u.username for u in self._users.values() if u.username)
        exact = next((name for name in same if name.lower() == username.lower()), username)
        return super().check_password(exact, password)


# -- broken sessions ----------------------------------------------------------------------------
class UnsignedSessionsAccepted(Sessions):
    """Takes the session id from the cookie without checking its signature."""

    def lookup(self, cookie_header: str | None) -> Session | None:
        raw = cookie_value(cookie_header, SESSION_COOKIE) if cookie_header else None
        sid = raw[2:].rpartition(".")[0] if raw and raw.startswith("s:") else raw
        return self._by_id.get(sid or "")


class LastCookieWins(Sessions):
    """Reads the last `unleash-session` pair of the header, where the `cookie` package takes
    the first."""

    def lookup(self, cookie_header: str | None) -> Session | None:
        pairs = (cookie_header or "").split(";")
        return super().lookup(";".join(reversed(pairs)))


class OneSessionPerUser(Sessions):
    """A login ends the user's other sessions."""

    def create(self, user: User) -> tuple[str, int]:
        self.end_user_sessions(user.id)
        return super().create(user)


class LogoutEndsOnlyTheSessionSent(Sessions):
    """A logout ends the session it was sent with (the last one looked up), not the user's
    others."""

    _sent: Session | None = None

    def lookup(self, cookie_header: str | None) -> Session | None:
        self._sent = super().lookup(cookie_header)
        return self._sent

    def end_user_sessions(self, user_id: int) -> int:
        sent = [sid for sid, session in self._by_id.items() if session is self._sent]
        for sid in sent:
            self._end(sid)
        return len(sent)


class LogoutEndsNoSession(Sessions):
    def end_user_sessions(self, user_id: int) -> int:
        return 0


class SessionsIgnored(Sessions):
    def lookup(self, cookie_header: str | None) -> Session | None:
        return None


# -- broken responses ---------------------------------------------------------------------------
@dataclass
class Reply:
    method: str
    path: str
    status: int
    headers: MutableHeaders
    body: bytes

    def edit_json(self, edit: Callable[[Any], Any]) -> None:
        # Bodies of 1 kB and more (ui-config's) come compressed to a client that accepts it
        # (httpx asks for brotli where it is installed, as with the mock).
        coding = self.headers.get("content-encoding")
        decode, encode = _CODECS.get(coding or "", (bytes, bytes))
        body = json.dumps(edit(json.loads(decode(self.body))))
        self.body = encode(body.encode())


_CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gzip": (gzip.decompress, gzip.compress),
    "br": (brotli.decompress, brotli.compress),
}


class AlterResponses:
    """Buffers each response of the wrapped app and lets `edit` change it."""

    def __init__(self, app: ASGIApp, edit: Callable[[Reply], None]) -> None:
        self.app = app
        self.edit = edit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            reply = Reply(
                scope["method"], scope["path"], start["status"], headers, b"".join(chunks)
            )
            self.edit(reply)
            if "content-length" in reply.headers:
                reply.headers["content-length"] = str(len(reply.body))
            await send({**start, "status": reply.status, "headers": reply.headers.raw})
            await send({"type": "http.response.body", "body": reply.body})

        await self.app(scope, receive, capture)


class MissingTokenAccepted:
    """Requests without credentials are let in as the admin user."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers", [])
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in headers):
            scope = {**scope, "headers": [*headers, (b"authorization", ADMIN_PAT.encode())]}
        await self.app(scope, receive, send)


class DeepBodiesRefused:
    """A JSON parser that recurses: a body nested past its depth is refused as malformed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            json.loads(body)
        except RecursionError:
            await JSONResponse({"message": "Maximum nesting depth exceeded"}, 400)(
                scope, receive, send
            )
            return
        except ValueError:
            pass  # malformed: the mock's own parser answers

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class CharsetIgnored:
    """Every body is read as UTF-8, whatever charset its Content-Type names."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [
                (k, v.split(b";")[0] if k == b"content-type" else v) for k, v in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class CaseSensitivePaths:
    """A path with a capital letter is no route (Express matches paths in any case)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != scope["path"].lower():
            await JSONResponse({"name": "NotFoundError", "message": "Not found"}, 404)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


class ContentTypeIgnored:
    """Every POST body is read as JSON, whatever its Content-Type (Unleash: 415)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


class DeleteIdsReadAsText:
    """`DELETE …/tokens/07` looks up the id "07", which no PAT has (Unleash reads 7)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head, _, last = scope.get("path", "").rpartition("/")
        if scope["type"] == "http" and scope["method"] == "DELETE" and last[:1] in ("0", "+"):
            path = f"{head}/2147483000"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def _listing(reply: Reply) -> bool:
    return reply.method == "GET" and reply.path == "/api/admin/user/tokens" and reply.status == 200


def _created(reply: Reply) -> bool:
    return reply.method == "POST" and reply.status == 201


def secret_in_list(reply: Reply) -> None:
    if _listing(reply):
        reply.edit_json(
            lambda b: {
                "pats": [{**p, "secret": "user:" + secrets.token_hex(28)} for p in b["pats"]]
            }
        )


def created_answers_200(reply: Reply) -> None:
    if _created(reply):
        reply.status = 200


def listed_without_created_at(reply: Reply) -> None:
    if _listing(reply):
        reply.edit_json(
            lambda b: {
                "pats": [{k: v for k, v in p.items() if k != "createdAt"} for p in b["pats"]]
            }
        )


def id_as_string(reply: Reply) -> None:
    if _created(reply):
        reply.edit_json(lambda b: {**b, "id": str(b["id"])})


def plain_text_401(reply: Reply) -> None:
    if reply.status == 401:
        reply.body = b"Unauthorized"
        reply.headers["content-type"] = "text/plain; charset=utf-8"


def sent_values_as_python_writes_them(reply: Reply) -> None:
    """The value a 400 says was sent, written by Python's json module instead of
    JSON.stringify (spaces after separators, non-ASCII escaped, 1e-07)."""

    def rewrite(body: Any) -> Any:
        for detail in body.get("details", []) if isinstance(body, dict) else []:
            head, said, sent = detail.get("message", "").rpartition(" You sent ")
            if said and sent.endswith("."):
                with suppress(ValueError):
                    detail["message"] = f"{head}{said}{json.dumps(json.loads(sent[:-1]))}."
        return body

    if reply.status == 400:
        reply.edit_json(rewrite)


def timestamps_without_millis(reply: Reply) -> None:
    if reply.status < 300:
        reply.body = re.sub(rb'(T\d\d:\d\d:\d\d)\.\d{3}Z"', rb'\1Z"', reply.body)


def session_cookie_not_http_only(reply: Reply) -> None:
    if reply.path == "/auth/simple/login" and "set-cookie" in reply.headers:
        reply.headers["set-cookie"] = reply.headers["set-cookie"].replace("; HttpOnly", "")


def _current_user(reply: Reply) -> bool:
    return reply.method == "GET" and reply.path == "/api/admin/user" and reply.status == 200


def gravatar_of_no_email(reply: Reply) -> None:
    """The mock's own former defect: a user without an email got the gravatar of "", where
    Unleash hashes the username (then the id)."""
    if _current_user(reply):
        empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256("")
        url = f"https://gravatar.com/avatar/{empty}?s=42&d=retro&r=g"
        reply.edit_json(lambda b: {**b, "user": {**b["user"], "imageUrl": url}})


def version_info_of_another_version(reply: Reply) -> None:
    if reply.method == "GET" and reply.path == "/api/admin/ui-config":
        reply.edit_json(
            lambda b: {**b, "versionInfo": {**b["versionInfo"], "current": {"oss": "8.1.0"}}}
        )


def expiry_warning_without_the_flag(reply: Reply) -> None:
    if _listing(reply):
        reply.edit_json(
            lambda b: {"pats": [{**p, "expiryWarning": "expires-soon"} for p in b["pats"]]}
        )


def expired_never_warned(reply: Reply) -> None:
    if _listing(reply):
        reply.edit_json(
            lambda b: {"pats": [{k: v for k, v in p.items() if v != "expired"} for p in b["pats"]]}
        )


def json_without_charset(reply: Reply) -> None:
    if reply.headers.get("content-type", "").startswith("application/json"):
        reply.headers["content-type"] = "application/json"


def rate_limit_never_counts_down(reply: Reply) -> None:
    if "ratelimit-limit" in reply.headers:
        reply.headers["ratelimit-remaining"] = reply.headers["ratelimit-limit"]


def session_cookie_secure_over_http(reply: Reply) -> None:
    if reply.path == "/auth/simple/login" and "set-cookie" in reply.headers:
        reply.headers["set-cookie"] += "; Secure"


def session_lasting_a_day_more(reply: Reply) -> None:
    cookie = reply.headers.get("set-cookie", "")
    if reply.path == "/auth/simple/login" and "Expires=" in cookie:
        head, _, rest = cookie.partition("Expires=")
        when, sep, tail = rest.partition(";")
        later = parsedate_to_datetime(when) + timedelta(days=1)
        reply.headers["set-cookie"] = (
            f"{head}Expires={format_datetime(later, usegmt=True)}{sep}{tail}"
        )


def logout_to_the_root(reply: Reply) -> None:
    """Redirects to `/`, as releases before 7.6 do, where 8.2.0 sends the browser to its
    /signed-out page."""
    if reply.path == "/logout" and "location" in reply.headers:
        reply.headers["location"] = "/"


# -- the catalogue ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    name: str
    build: Callable[[], ASGIApp]
    caught_by: frozenset[str]  # the suite must report at least one of these findings
    runs: str  # the registry check that reports it (the quick test runs only this one)


def _mock(units: list[Any] = UNITS) -> ASGIApp:
    """The mock as the suite's own runs start it (PAT uses written every second)."""
    return create_app(units=units, options=Options(seen_at_flush_seconds=1.0))


def _with(unit_name: str, **classes: type) -> Callable[[], ASGIApp]:
    """The mock whose `unit_name` unit builds its backends from these broken classes."""

    def build() -> ASGIApp:
        units = [
            replace(u, build=functools.partial(u.build, **classes)) if u.name == unit_name else u
            for u in UNITS
        ]
        return _mock(units)

    return build


def store_variant(cls: type[PatStore]) -> Callable[[], ASGIApp]:
    return _with(pats.UNIT.name, store_class=cls)


def _accounts(cls: type[Accounts]) -> Callable[[], ASGIApp]:
    return _with(accounts.UNIT.name, accounts_class=cls)


def _responses(edit: Callable[[Reply], None]) -> Callable[[], ASGIApp]:
    return lambda: AlterResponses(_mock(), edit)


def _v(name: str, build: Callable[[], ASGIApp], runs: str, *checks: str) -> Variant:
    return Variant(name, build, frozenset(checks), runs)


VARIANTS = [
    _v(
        "secret in the list",
        _responses(secret_in_list),
        "expiry_warnings_as_flagged",
        "secret_placement",
        "secret_never_listed",
    ),
    _v(
        "duplicates allowed",
        store_variant(DuplicatesAllowed),
        "service_rules_enforced",
        "duplicate_description_rejected",
    ),
    _v(
        "past expiry allowed",
        store_variant(PastExpiryAllowed),
        "service_rules_enforced",
        "past_expiry_rejected",
    ),
    _v(
        "limit not enforced",
        store_variant(LimitNotEnforced),
        "pat_limit_enforced",
        "pat_limit_enforced",
    ),
    _v(
        "expiry rounded, not truncated",
        store_variant(ExpiryRoundedToMilliseconds),
        "expiry_forms_stored",
        "expiry_forms_stored",
    ),
    _v(
        "another user's PATs listed",
        store_variant(ListsEveryonesPats),
        "cross_user_isolation",
        "other_users_pats_hidden",
    ),
    _v(
        "another user's PAT deleted",
        store_variant(DeletesAnyonesPat),
        "cross_user_isolation",
        "cross_user_delete_ignored",
    ),
    _v(
        "deleted token accepted",
        store_variant(DeletedTokenAccepted),
        "deleted_token_rejected",
        "deleted_token_rejected",
    ),
    _v(
        "expired token accepted",
        store_variant(ExpiredTokenAccepted),
        "expired_token_rejected",
        "expired_token_rejected",
    ),
    _v(
        "any token accepted",
        store_variant(AnyTokenAccepted),
        "bad_tokens_rejected",
        "unknown_token_rejected",
    ),
    _v(
        "missing token accepted",
        lambda: MissingTokenAccepted(_mock()),
        "bad_tokens_rejected",
        "missing_token_rejected",
        "ignored_auth",
    ),
    _v(
        "delete does not delete",
        store_variant(DeleteDoesNothing),
        "pat_limit_enforced",
        "delete_removes",
        "deleted_token_rejected",
    ),
    _v(
        "create missing from the list",
        store_variant(HidesNewPats),
        "descriptions_echoed",
        "create_listed",
    ),
    _v(
        "ids reused",
        store_variant(ReusesIds),
        "created_listed_and_ids_never_reused",
        "ids_increase",
    ),
    _v(
        "wrong status (200 for a create)",
        _responses(created_answers_200),
        "openapi_conformance",
        "status_code_conformance",
    ),
    _v(
        "missing field",
        _responses(listed_without_created_at),
        "openapi_conformance",
        "response_schema_conformance",
    ),
    _v(
        "mistyped field",
        _responses(id_as_string),
        "openapi_conformance",
        "response_schema_conformance",
    ),
    _v("non-JSON error", _responses(plain_text_401), "bad_tokens_rejected", "unleash_error_shape"),
    _v("a 500", store_variant(DeleteOfUnknownIdFails), "openapi_conformance", "not_a_server_error"),
    _v(
        "timestamps without milliseconds",
        _responses(timestamps_without_millis),
        "openapi_conformance",
        "timestamp_format",
    ),
    _v(
        "imageUrl of no email",
        _responses(gravatar_of_no_email),
        "current_user_described",
        "current_user_described",
    ),
    _v(
        "versionInfo of another version",
        _responses(version_info_of_another_version),
        "ui_config_describes_the_server",
        "ui_config_describes_the_server",
    ),
    _v(
        "expiryWarning without the flag",
        _responses(expiry_warning_without_the_flag),
        "expiry_warnings_as_flagged",
        "expiry_warnings_as_flagged",
    ),
    _v(
        "sent values written by Python's json",
        _responses(sent_values_as_python_writes_them),
        "json_values_read_as_javascript",
        "json_values_read_as_javascript",
    ),
    _v(
        "charset ignored",
        lambda: CharsetIgnored(_mock()),
        "bodies_decoded_as_express",
        "bodies_decoded_as_express",
    ),
    _v(
        "deeply nested bodies refused",
        lambda: DeepBodiesRefused(_mock()),
        "json_values_read_as_javascript",
        "json_values_read_as_javascript",
    ),
    _v(
        "PATs matched in any case",
        store_variant(TokensOfAnyCase),
        "credentials_read_exactly",
        "credentials_read_exactly",
    ),
    _v(
        "paths matched case-sensitively",
        lambda: CaseSensitivePaths(_mock()),
        "routes_as_express",
        "routes_as_express",
    ),
    _v(
        "JSON without its charset",
        _responses(json_without_charset),
        "answers_as_express",
        "answers_as_express",
    ),
    _v(
        "RateLimit-Remaining never counts down",
        _responses(rate_limit_never_counts_down),
        "rate_limit_values",
        "rate_limit_values",
    ),
    _v(
        "Content-Type of a create ignored",
        lambda: ContentTypeIgnored(_mock()),
        "create_bodies_read_as_unleash_reads_them",
        "create_bodies_read_as_unleash_reads_them",
    ),
    _v(
        "duplicate checked before the limit",
        store_variant(DuplicateCheckedBeforeTheLimit),
        "limit_counts_every_pat_first",
        "limit_counts_every_pat_first",
    ),
    _v(
        "a new PAT acts as another user",
        store_variant(PatIdTakenForItsOwner),
        "new_pats_act_as_their_owner",
        "new_pats_act_as_their_owner",
    ),
    _v(
        "DELETE ids read as text",
        lambda: DeleteIdsReadAsText(_mock()),
        "delete_ids_read_as_numbers",
        "delete_ids_read_as_numbers",
    ),
    _v(
        "one use marks every PAT seen",
        store_variant(EveryPatOfTheUserSeen),
        "seen_at_written_after_use",
        "seen_at_written_after_use",
    ),
]


def _sessions(cls: type[Sessions]) -> Callable[[], ASGIApp]:
    return _with(accounts.UNIT.name, sessions_class=cls)


# Defects of the password login and the session cookie, caught by the checks of
# contract_tests/checks/sessions.py alone.
SESSION_VARIANTS = [
    _v(
        "right password refused",
        _accounts(RightPasswordRefused),
        "password_login",
        "password_login",
    ),
    _v(
        "any password accepted",
        _accounts(PasswordsNotChecked),
        "wrong_password_refused",
        "wrong_password_refused",
    ),
    _v(
        "session cookie ignored",
        _sessions(SessionsIgnored),
        "session_authenticates",
        "session_authenticates",
    ),
    _v(
        "unsigned session accepted",
        _sessions(UnsignedSessionsAccepted),
        "session_cookie_forms",
        "forged_session_refused",
    ),
    _v(
        "last session cookie wins",
        _sessions(LastCookieWins),
        "session_cookie_forms",
        "session_cookie_forms",
        "forged_session_refused",
    ),
    _v(
        "a login ends the other sessions",
        _sessions(OneSessionPerUser),
        "second_login_keeps_the_first",
        "second_login_keeps_the_first",
    ),
    _v(
        "session cookie readable by scripts",
        _responses(session_cookie_not_http_only),
        "password_login",
        "session_cookie_set",
    ),
    _v(
        "session cookie Secure over http",
        _responses(session_cookie_secure_over_http),
        "password_login",
        "session_cookie_set",
    ),
    _v(
        "session lasting a day more",
        _responses(session_lasting_a_day_more),
        "password_login",
        "session_cookie_set",
    ),
    _v(
        "usernames of any case",
        _accounts(UsernamesOfAnyCase),
        "login_reads_the_username_exactly",
        "login_reads_the_username_exactly",
    ),
    _v(
        "a logout ends only the session sent",
        _sessions(LogoutEndsOnlyTheSessionSent),
        "logout_ends_the_users_sessions",
        "logout_ends_the_users_sessions",
    ),
    _v(
        "a logout ends no session",
        _sessions(LogoutEndsNoSession),
        "logout_ends_the_users_sessions",
        "logout_ends_the_users_sessions",
    ),
    _v(
        "a logout redirecting to the root",
        _responses(logout_to_the_root),
        "logout_ends_the_users_sessions",
        "logout_redirects",
    ),
]
