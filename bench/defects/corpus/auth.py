"""Credentials: how Authorization is read, expiry, deleted and new PATs, admin API tokens,
session cookies and the login."""

from __future__ import annotations

import re
from email.utils import formatdate
from typing import Any, ClassVar

from bench.defects import internals
from bench.defects.base import defect
from bench.defects.probe import ADMIN_TOKEN, ALICE_LOGIN, ALICE_PAT, TOKENS, Probe
from bench.defects.proxy import (
    LOGIN,
    Exchange,
    Proxy,
    Reply,
    authentication_required,
    error_body,
    unauthorized,
)

CURRENT_USER = "/api/admin/user"
# A credential that is neither a PAT nor an admin token: the stock mock answers it 401
# UnauthorizedError, as Unleash does any Authorization it cannot read.
REFUSED = "refused:"


class _ReadsAuthorization(Proxy):
    """Unleash's auth middleware reads another credential from Authorization than 8.2.0: the
    request goes on to the stock mock with the credential the regression reads, sent raw."""

    def read(self, value: str) -> str | None:
        """The credential the regression reads, or None where it reads what 8.2.0 does."""
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        value = ex.header("authorization")
        if value is not None and ex.under("/api/admin"):
            read = self.read(value.strip(" \t"))
            if read is not None:
                ex.set_header("authorization", read)
        return await ex.forward()


@defect(
    "auth-bearer-case-sensitive",
    "auth",
    "`bearer <PAT>` (scheme not in that case) is refused 401; only `Bearer` is recognised",
    "the scheme regex `/^Bearer\\s+/i` lost its `i` flag when the PAT middleware was tidied up",
)
class BearerCaseSensitive(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        if re.match(r"bearer\s", value, re.I) and not value.startswith("Bearer"):
            return REFUSED + value
        return None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth="bearer " + ALICE_PAT).status_code


@defect(
    "auth-bearer-single-space",
    "auth",
    "`Bearer` followed by two spaces or a tab before the PAT is refused 401",
    "`header.replace('Bearer ', '')` replaced the whitespace-tolerant regex; the rest keeps a "
    "leading blank and no longer starts with `user:`",
)
class BearerSingleSpace(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        if re.match(r"Bearer\s", value, re.I) and not re.match(r"Bearer \S", value, re.I):
            return REFUSED + value
        return None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth="Bearer  " + ALICE_PAT).status_code


@defect(
    "auth-raw-pat-refused",
    "auth",
    "a PAT sent raw in Authorization (no scheme) is refused 401; only `Bearer <PAT>` works",
    "the PAT middleware was rewritten to RFC 6750's Bearer scheme only, forgetting that Unleash "
    "documents the raw form (and its admin UI shows it)",
)
class RawPatRefused(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        return REFUSED + value if value.startswith("user:") else None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=ALICE_PAT).status_code


@defect(
    "auth-pat-case-insensitive",
    "auth",
    "a PAT authenticates in any letter case (an upper-cased secret is accepted)",
    "the token is lower-cased before lookup to 'normalise' pasted secrets; hex looks "
    "case-insensitive to whoever added it",
)
class PatCaseInsensitive(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        secret = re.sub(r"^Bearer\s+", "", value, flags=re.I)
        if secret.lower().startswith("user:") and secret != secret.lower():
            return secret.lower()
        return None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=ALICE_PAT.upper()).status_code


@defect(
    "auth-pat-prefix-match",
    "auth",
    "a PAT followed by extra characters still authenticates (only the first 61 are read)",
    "the secret is cut to its expected length (`substring(0, 61)`) before the hash lookup, to "
    "tolerate a pasted newline",
)
class PatPrefixMatch(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        secret = re.sub(r"^Bearer\s+", "", value, flags=re.I)
        return secret[:61] if secret.startswith("user:") and len(secret) > 61 else None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=ALICE_PAT + "x").status_code


@defect(
    "auth-any-scheme-stripped",
    "auth",
    "any scheme word before the PAT is stripped (`Token <PAT>`, `Basic <PAT>` authenticate)",
    "the Bearer regex was generalised to `/^\\w+\\s+/` so that clients sending `Token` work",
)
class AnySchemeStripped(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        match = re.match(r"([A-Za-z]+)\s+(.*)", value)
        if match and match[1].lower() != "bearer":
            return match[2]
        return None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth="Token " + ALICE_PAT).status_code


@defect(
    "auth-empty-header-unauthorized",
    "auth",
    "an empty Authorization header is answered UnauthorizedError instead of "
    "AuthenticationRequired (the login hint)",
    "the 'was a header sent?' test became `'authorization' in req.headers` instead of a "
    "truthy value",
)
class EmptyHeaderUnauthorized(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.header("authorization") == "" and reply.error_name() == "AuthenticationRequired":
            reply.replace(401, unauthorized())
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth="").json()["name"]


@defect(
    "auth-invalid-token-login-hint",
    "auth",
    "an unknown or invalid token is answered AuthenticationRequired (the no-header body, with "
    "the login hint) instead of UnauthorizedError",
    "the 401 branch now tests only `req.user`, no longer whether an Authorization was sent",
)
class InvalidTokenLoginHint(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.status == 401 and reply.error_name() == "UnauthorizedError":
            reply.replace(401, authentication_required())
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth="user:deadbeef").json()["name"]


@defect(
    "auth-expired-pat-accepted",
    "auth",
    "an expired PAT still authenticates",
    "the expiry condition was dropped from the PAT lookup query when it was rewritten",
)
class ExpiredPatAccepted(Proxy):
    def install(self) -> None:
        def authenticate(original: Any, store: Any, secret: str) -> Any:
            return original(secret) or internals.find_pat(store, secret)

        internals.wrap_store(self.app, "authenticate", authenticate)

    @staticmethod
    def demo(p: Probe) -> Any:
        secret = p.create("short", p.later(60)).json()["secret"]
        p.clock.advance(120)
        return p.get(auth=secret).status_code


@defect(
    "auth-expiry-grace-hour",
    "auth",
    "a PAT keeps authenticating for an hour after its expiry",
    "expiry is compared with `now()` of a database session in local time (UTC+1) against "
    "UTC timestamps",
)
class ExpiryGraceHour(Proxy):
    def install(self) -> None:
        def authenticate(original: Any, store: Any, secret: str) -> Any:
            found = original(secret)
            if found is None:
                expired = internals.find_pat(store, secret)
                now = internals.now(self.app)
                if expired and expired[1].expires_at.timestamp() > now.timestamp() - 3600:
                    return expired
            return found

        internals.wrap_store(self.app, "authenticate", authenticate)

    @staticmethod
    def demo(p: Probe) -> Any:
        secret = p.create("short", p.later(60)).json()["secret"]
        p.clock.advance(120)
        return p.get(auth=secret).status_code


@defect(
    "auth-deleted-pat-cached",
    "auth",
    "a deleted PAT keeps authenticating for a minute",
    "a 60-second cache of PAT lookups was added for performance and is not invalidated by DELETE",
)
class DeletedPatCached(Proxy):
    def install(self) -> None:
        cache: dict[str, tuple[Any, float]] = {}

        def delete(original: Any, store: Any, user_id: int, pat_id: int) -> bool:
            found = internals.pat_by_id(store, pat_id)
            deleted = original(user_id, pat_id)
            if deleted and found:
                user, pat, secret = found
                cache[secret] = ((user, pat), internals.now(self.app).timestamp())
            return deleted

        def authenticate(original: Any, store: Any, secret: str) -> Any:
            found = original(secret)
            cached = cache.get(secret)
            fresh = cached and internals.now(self.app).timestamp() - cached[1] < 60
            return cached[0] if found is None and fresh else found

        internals.wrap_store(self.app, "delete", delete)
        internals.wrap_store(self.app, "authenticate", authenticate)

    @staticmethod
    def demo(p: Probe) -> Any:
        created = p.create("doomed").json()
        p.delete(created["id"])
        return p.get(auth=created["secret"]).status_code


@defect(
    "auth-new-pat-not-yet-valid",
    "auth",
    "a PAT created at runtime is refused 401 for its first 30 seconds (seeded ones work)",
    "PAT lookups moved to an in-memory table refreshed every 30 s, which a create does not update",
)
class NewPatNotYetValid(Proxy):
    def install(self) -> None:
        self.created: dict[str, float] = {}

    async def handle(self, ex: Exchange) -> Reply:
        at = self.created.get(ex.credential)
        now = self.app.state.clock.time()
        if at is not None and now - at < 30 and ex.under("/api") and not ex.session_cookie:
            return Reply.json_reply(unauthorized(), 401)
        reply = await ex.forward()
        if ex.is_route("POST", TOKENS) and reply.status == 201:
            self.created[reply.json()["secret"]] = now
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=p.create("new").json()["secret"]).status_code


# -- admin API tokens -------------------------------------------------------------------------
def _is_admin_refusal(reply: Reply) -> bool:
    body = reply.json() if reply.status == 403 and reply.is_json() else None
    return isinstance(body, dict) and body.get("name") == "ForbiddenError"


@defect(
    "admin-token-401",
    "admin-token",
    "an admin API token on the PAT routes is answered 401 UnauthorizedError instead of 403",
    "the PAT routes' guard now asks for a user before the admin middleware has run, so an API "
    "user looks like no one",
)
class AdminToken401(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if _is_admin_refusal(reply):
            reply.replace(401, unauthorized())
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=ADMIN_TOKEN).status_code


@defect(
    "admin-token-empty-list",
    "admin-token",
    "an admin API token listing PATs gets 200 with an empty list instead of 403",
    "the list handler was made 'safe' for API users (no user id: no PATs) instead of refusing",
)
class AdminTokenEmptyList(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS) and _is_admin_refusal(reply):
            reply.replace(200, {"pats": []})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=ADMIN_TOKEN).status_code


@defect(
    "admin-token-bearer-unrecognised",
    "admin-token",
    "`Bearer <admin token>` is not recognised as the admin token (401 instead of 403)",
    "the API-token middleware compares the raw header, before the PAT middleware's Bearer "
    "stripping, after a reordering",
)
class AdminBearerUnrecognised(_ReadsAuthorization):
    def read(self, value: str) -> str | None:
        secret = re.sub(r"^Bearer\s+", "", value, flags=re.I)
        if secret != value and not secret.startswith("user:"):
            return REFUSED + value
        return None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth="Bearer " + ADMIN_TOKEN).status_code


# -- sessions ----------------------------------------------------------------------------------
def _session_cookie(set_cookie: str) -> bool:
    return set_cookie.startswith("unleash-session=")


class _RewritesSetCookie(Proxy):
    def rewrite(self, cookie: str) -> str:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        cookies = [v.decode("latin-1") for k, v in reply.headers if k == b"set-cookie"]
        if any(_session_cookie(c) for c in cookies):
            reply.set_header("set-cookie", None)
            for cookie in cookies:
                reply.add_header("set-cookie", self.rewrite(cookie))
        return reply


@defect(
    "session-pat-beats-cookie",
    "session",
    "with both a session cookie and a PAT, the PAT's user acts (8.2.0: the cookie's)",
    "the auth middlewares were reordered so that the PAT middleware runs before the session's",
)
class PatBeatsCookie(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if ex.credential.startswith("user:") and ex.session_cookie:
            kept = [
                c for c in (ex.header("cookie") or "").split(";") if "unleash-session=" not in c
            ]
            ex.set_header("cookie", ";".join(kept) or None)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        cookie = p.login()
        return p.get(CURRENT_USER, auth=ALICE_PAT, cookie=cookie).json()["user"]["id"]


@defect(
    "session-no-set-cookie-resend",
    "session",
    "a session's first use no longer sends Set-Cookie again",
    "express-session was configured `resave: false` with `rolling` dropped in an upgrade",
)
class NoSetCookieResend(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if not ex.is_route("POST", LOGIN) and reply.header("set-cookie") is not None:
            reply.set_header("set-cookie", None)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "set-cookie" in p.get(auth=None, cookie=p.login()).headers


@defect(
    "session-cookie-not-httponly",
    "session",
    "the session cookie is set without HttpOnly",
    "the cookie options object was rebuilt from environment settings and `httpOnly` defaulted "
    "to false",
)
class CookieNotHttpOnly(_RewritesSetCookie):
    def rewrite(self, cookie: str) -> str:
        return cookie.replace("; HttpOnly", "")

    @staticmethod
    def demo(p: Probe) -> Any:
        return "HttpOnly" in p.post(LOGIN, auth=None, json=_admin_login()).headers["set-cookie"]


@defect(
    "session-cookie-secure-on-http",
    "session",
    "the session cookie is marked Secure although Unleash is served over plain HTTP",
    "`secureCookies` now defaults to true (meant for production behind TLS); clients over "
    "http drop the cookie",
)
class CookieSecureOnHttp(_RewritesSetCookie):
    def rewrite(self, cookie: str) -> str:
        return cookie + "; Secure"

    @staticmethod
    def demo(p: Probe) -> Any:
        return "Secure" in p.post(LOGIN, auth=None, json=_admin_login()).headers["set-cookie"]


@defect(
    "session-cookie-expires-ms-confusion",
    "session",
    "the session cookie's Expires is under 3 minutes ahead instead of 2 days",
    "maxAge passed in seconds (172800) where express-session expects milliseconds",
)
class CookieExpiresMs(_RewritesSetCookie):
    def rewrite(self, cookie: str) -> str:
        expires = formatdate(self.app.state.clock.time() + 172.8, usegmt=True)
        return re.sub(r"Expires=[^;]+", f"Expires={expires}", cookie)

    @staticmethod
    def demo(p: Probe) -> Any:
        cookie = p.post(LOGIN, auth=None, json=_admin_login()).headers["set-cookie"]
        return re.search(r"Expires=[^;]+", cookie)[0]  # type: ignore[index]


@defect(
    "session-cap-not-enforced",
    "session",
    "a user keeps every session: the 6th login does not end the oldest (8.2.0 keeps 5)",
    "the per-user session cap query lost its `LIMIT`/ordering when sessions moved tables",
)
class SessionCapNotEnforced(Proxy):
    def install(self) -> None:
        internals.set_session_cap(self.app, None)

    @staticmethod
    def demo(p: Probe) -> Any:
        first = p.login()
        for _ in range(5):
            p.login()
        return p.get(CURRENT_USER, auth=None, cookie=first).status_code


@defect(
    "session-single-session",
    "session",
    "a login ends every other session of the user (a second login logs the first out)",
    "the cap setting `maxSessionsCount` is read as 1 when unset (0 meant 'default 5')",
)
class SingleSession(Proxy):
    def install(self) -> None:
        internals.set_session_cap(self.app, 1)

    @staticmethod
    def demo(p: Probe) -> Any:
        first = p.login()
        p.login()
        return p.get(CURRENT_USER, auth=None, cookie=first).status_code


@defect(
    "session-signature-unchecked",
    "session",
    "a session cookie with a forged signature is accepted if its session id exists",
    "cookie-signature verification skipped when the session secret is rotated (a fallback "
    "that accepts any signature)",
)
class SignatureUnchecked(Proxy):
    def install(self) -> None:
        internals.accept_any_session_signature(self.app)

    @staticmethod
    def demo(p: Probe) -> Any:
        cookie = p.login()
        forged = cookie.rpartition(".")[0] + ".Zm9yZ2Vk"
        return p.get(CURRENT_USER, auth=None, cookie=forged).status_code


# -- login -------------------------------------------------------------------------------------
def _admin_login() -> dict[str, str]:
    return {"username": "admin", "password": "unleash4all"}


@defect(
    "login-username-case-insensitive",
    "login",
    "the login accepts a username in another letter case (`ADMIN`)",
    "usernames are looked up with `ILIKE`/lower() like e-mail addresses after a refactor that "
    "merged both paths",
)
class LoginUsernameCaseInsensitive(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", LOGIN) else None
        name = body.get("username") if isinstance(body, dict) else None
        if isinstance(name, str) and "@" not in name:
            state = await self.control_state()
            match = [u["username"] for u in state["users"] if u["username"].lower() == name.lower()]
            if match and name not in match:
                await ex.set_json_body({**body, "username": match[0]})
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(
            LOGIN, auth=None, json={"username": "ADMIN", "password": "unleash4all"}
        ).status_code


@defect(
    "login-email-case-sensitive",
    "login",
    "logging in by e-mail address only works in the stored (lower) case",
    "the e-mail branch of the login lookup lost its lower-casing when both lookups were merged",
)
class LoginEmailCaseSensitive(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", LOGIN) else None
        name = body.get("username") if isinstance(body, dict) else None
        if isinstance(name, str) and "@" in name and name != name.lower():
            await ex.set_json_body({**body, "password": "\u0000mismatch"})
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        sent = {"username": "Alice@Example.com", "password": ALICE_LOGIN[1]}
        return p.post(LOGIN, auth=None, json=sent).status_code


@defect(
    "login-bad-password-400",
    "login",
    "a wrong password is answered 400 (the PasswordMismatch body) instead of 401",
    "PasswordMismatch was made a subclass of the BadDataError family, which maps to 400",
)
class BadPassword400(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", LOGIN) and reply.error_name() == "PasswordMismatch":
            reply.status = 400
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(LOGIN, auth=None, json={"username": "admin", "password": "x"}).status_code


@defect(
    "login-missing-password-500",
    "login",
    "a login body without a password (or not a string) is a 500 instead of a schema 400",
    "the login route's request schema was dropped; bcrypt.compare then throws on undefined",
)
class MissingPassword500(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", LOGIN) and reply.status == 400 and reply.error_name():
            message = "Illegal arguments: undefined, string"
            reply.replace(500, error_body("UnknownError", message, with_id=False))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(LOGIN, auth=None, json={"username": "admin"}).status_code


@defect(
    "login-rate-limit-missing",
    "login",
    "the login is no longer rate-limited (no 429 after 10 attempts a minute, no RateLimit-*)",
    "the SIMPLE_LOGIN_LIMIT_PER_MINUTE limiter was left out when the auth routes were remounted",
)
class LoginRateLimitMissing(Proxy):
    options: ClassVar[dict[str, Any]] = {"login_rate_limit_per_minute": 1_000_000_000}

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", LOGIN):
            for name in ("policy", "limit", "remaining", "reset"):
                reply.set_header(f"ratelimit-{name}", None)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        statuses = [
            p.post(LOGIN, auth=None, json={"username": "admin", "password": "x"}).status_code
            for _ in range(11)
        ]
        return statuses[-1]
