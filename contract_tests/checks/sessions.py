"""Layer 3: the password login and its session cookie, the contract's third way to authenticate
(`unleashSession`). A client that logs in with a password and then calls the PAT API with the
cookie must get what the user's PAT gets; a cookie the server did not sign is no credential; a
logout ends the user's sessions, not the PAT.

Unleash allows 10 logins a minute per client address, shared with every other run from it: a
run logs in three times as `--token`'s user (`Context.login`, shared by the checks, a second
session, and one that logs out; a fourth by e-mail where the user has an address), and tries
three refused logins and one without a password. A login is a POST that stores a session:
none of these run under --read-only."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit

import httpx

from contract_tests.api import LOGIN, LOGOUT, PATS
from contract_tests.context import (
    SESSION_COOKIE,
    Context,
    body_of,
    expect,
    expect_delete,
    expect_error,
    listed_pats,
    set_session,
)
from contract_tests.registry import Layer, Need, check

# express-session's cookie, as Unleash configures it (src/lib/middleware/session-db.ts).
COOKIE_ATTRIBUTES = ("HttpOnly", "SameSite=Lax")
# `s:` + the session id (uid-safe, 24 bytes) + `.` + its HMAC-SHA256 (cookie-signature: base64,
# no padding).
SIGNED_SESSION = re.compile(r"s:[A-Za-z0-9_-]{32}\.[A-Za-z0-9+/]{43}")


def _base_path(ctx: Context) -> str:
    """Unleash's baseUriPath: the path the suite's base URL ends in ("" at the root)."""
    return urlsplit(ctx.settings.base_url or "").path.rstrip("/")


def _set_cookie(response: httpx.Response) -> str:
    return next(
        (h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)), ""
    )


def _attributes(header: str) -> dict[str, str]:
    """A Set-Cookie header's attributes, each as written, by lower-case name."""
    return {a.strip().partition("=")[0].lower(): a.strip() for a in header.split(";")[1:]}


def _listed_ids(response: httpx.Response, check_name: str) -> set[object]:
    expect(response.status_code == 200, check_name, f"answered {response.status_code}", response)
    pats = body_of(response).get("pats")
    expect(isinstance(pats, list), check_name, "the list has no `pats` array", response)
    return {p.get("id") for p in pats if isinstance(p, dict)}


def _pat_ids(ctx: Context) -> set[object]:
    return {p.get("id") for p in listed_pats(ctx.api, ctx.token, "session_authenticates")[1]}


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def password_login(ctx: Context) -> None:
    """`POST /auth/simple/login` with the right password answers 200 with the user (the one
    `--token` belongs to, no password in sight, the keys /api/admin/user then shows for the
    session), counted by the login limiter (RateLimit-*), and sets the signed `unleash-session`
    cookie: HttpOnly, SameSite=Lax, for the base path, no other attribute (no Secure over
    http), expiring the release's session length after the answer's Date."""
    login = ctx.login()
    response = login.response
    why = f"the login answered {response.status_code}"
    expect(response.status_code == 200, "password_login", why, response)
    body = body_of(response)
    got = body.get("id") if isinstance(body, dict) else None
    user_id = ctx.callers[0].user_id
    message = f"the login answers user {got!r}; --token's user is {user_id} (the same user?)"
    expect(got == user_id, "password_login", message, response)
    password = ctx.password_login[1] if ctx.password_login else ""
    expect(password not in response.text, "password_login", "it echoes the password", response)
    sent = sorted(h.lower() for h in response.headers if h.lower().startswith("ratelimit-"))
    want = ["ratelimit-limit", "ratelimit-policy", "ratelimit-remaining", "ratelimit-reset"]
    message = f"the login limiter's RateLimit-* headers are missing, only {sent} sent"
    expect(sent == want, "login_rate_limited", message, response)
    header = _set_cookie(response)
    expect(login.cookie, "session_cookie_set", "no unleash-session cookie is set", response)
    assert login.cookie is not None
    signed = unquote(login.cookie)
    message = f"the session cookie {header!r} is not signed as express-session signs them"
    expect(SIGNED_SESSION.fullmatch(signed), "session_cookie_set", message, response)
    message = f"the session cookie {header!r} is not encoded as encodeURIComponent encodes"
    expect(login.cookie == quote(signed, safe="!*'()"), "session_cookie_set", message, response)
    attributes = _attributes(header)
    extra = set(attributes) - {"path", "expires", "httponly", "samesite"}
    message = f"the session cookie has attributes {sorted(extra)} besides its own"
    expect(not extra, "session_cookie_set", message, response)
    path = _base_path(ctx) or "/"
    for attribute in (*COOKIE_ATTRIBUTES, f"Path={path}"):
        name = attribute.partition("=")[0].lower()
        got_attribute = attributes.get(name)
        message = f"the session cookie has {got_attribute!r}, not {attribute!r}"
        expect(got_attribute == attribute, "session_cookie_set", message, response)
    # After the answer's Date (an ASGI app in-process sends none: then our clock's now).
    date = response.headers.get("date") or format_datetime(datetime.now(UTC), usegmt=True)
    expires = attributes.get("expires", "")
    lasts = ctx.expect.session_seconds
    message = f"the session cookie expires {expires!r}, not in GMT {lasts} s after {date!r}"
    try:
        ahead = parsedate_to_datetime(expires.partition("=")[2]) - parsedate_to_datetime(date)
        valid = expires.endswith(" GMT") and abs(ahead.total_seconds() - lasts) <= 60
    except (TypeError, ValueError):
        valid = False
    expect(valid, "session_cookie_set", message, response)
    # Here, not in a check that reuses the login: the mutation tool credits a mock function only
    # to the checks that call it, and only this one makes the login.
    cookie = f"{SESSION_COOKIE}={login.cookie}"
    me = ctx.api.request("GET", "/api/admin/user", token=None, cookie=cookie)
    session_user = body_of(me).get("user") if me.status_code == 200 else None
    session_user = session_user if isinstance(session_user, dict) else {}
    got = session_user.get("id")
    message = f"/api/admin/user names user {got!r} for the session, not {user_id}"
    expect(got == user_id, "password_login", message, me)
    message = f"the session's user has the keys {list(session_user)}, the login {list(body)}"
    expect(list(session_user) == list(body), "password_login", message, me)


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def session_authenticates(ctx: Context) -> None:
    """The session cookie alone lists, creates and deletes the user's PATs as its PAT does: the
    same list, a PAT of the user's that the PAT lists, a DELETE that removes it. It is no PAT
    request (no RateLimit-* headers), and it wins over an unknown PAT sent with it."""
    cookie = f"{SESSION_COOKIE}={ctx.session_cookie()}"
    name = "session_authenticates"
    response = ctx.api.request("GET", PATS, token=None, cookie=cookie)
    by_cookie = _listed_ids(response, name)
    by_pat = _pat_ids(ctx)
    message = f"the cookie lists {sorted(map(str, by_cookie))}, its PAT {sorted(map(str, by_pat))}"
    expect(by_cookie == by_pat, name, message, response)
    limits = [h for h in response.headers if h.lower().startswith("ratelimit-")]
    message = f"a session's request is counted as a PAT's: {limits}"
    expect(not limits, "session_not_pat_limited", message, response)
    stranger = "user:" + secrets.token_hex(28)
    response = ctx.api.request("GET", PATS, token=stranger, cookie=cookie)
    message = "with an unknown PAT beside it, the session cookie does not act"
    expect(_listed_ids(response, name) == by_pat, name, message, response)
    body = {"description": ctx.description(), "expiresAt": "2999-01-01T00:00:00.000Z"}
    response = ctx.api.request("POST", PATS, token=None, cookie=cookie, json=body)
    ctx.track(ctx.token, response)
    expect(response.status_code == 201, name, f"create answered {response.status_code}", response)
    pat = body_of(response)
    user_id = ctx.callers[0].user_id
    message = f"the cookie's PAT has userId {pat.get('userId')!r}, not {user_id}"
    expect(pat.get("userId") == user_id, name, message, response)
    ctx.redact.add(pat.get("secret"))
    expect(pat.get("id") in _pat_ids(ctx), name, "the user's PAT does not list it", response)
    response = ctx.api.request("DELETE", f"{PATS}/{pat['id']}", token=None, cookie=cookie)
    expect_delete(ctx, response, True, "DELETE of its own PAT with the session cookie")
    expect(pat["id"] not in _pat_ids(ctx), name, "still listed after its DELETE", response)


def _cookie_forms(value: str) -> tuple[list[str], list[str]]:
    """Cookie headers the `cookie` package (as express-session parses) reads as the session
    `value`, and headers that carry no session: unsigned, forged, unreadable or misnamed (sent
    as Latin-1, as HTTP carries bytes beyond ASCII)."""
    signed = unquote(value)
    sid, _, mac = signed[2:].rpartition(".")
    altered = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    other_sid = sid[:-1] + ("A" if sid[-1] != "A" else "B")
    name = SESSION_COOKIE
    accepted = [
        f"{name}={signed}",  # not percent-encoded
        f'theme=dark; {name}="{value}"; lang=en',  # quoted, among other pairs
        f"flag; \t{name} \t= \t{value}\t ;z=1",  # a pair without `=`; spaces and tabs trimmed
        f"{name}={value}; {name}=s%3Ajunk.junk",  # the first pair of a name wins
    ]
    refused = [
        f"{name}=s%3Ajunk.junk; {name}={value}",
        f"{name}={quote(f's:{sid}.{altered}', safe='')}",  # its signature altered
        f"{name}={quote(f's:{other_sid}.{mac}', safe='')}",  # another id, its signature
        f"{name}={sid}",  # unsigned
        f"{name}={quote(f's:{sid}', safe='')}",  # no signature
        f"{name}={quote(f's:{sid}.', safe='')}",  # an empty signature
        f"{name}=%FF{value}",  # no UTF-8 once decoded: kept as sent
        f"{name}=junk=junk; {name}={value}",  # the first `=` ends the name
        f"{name.title()}={value}",  # names are case-sensitive
        f"X{name}={value}",
        f"{name}=X{value}X",
        f"\xa0{name}={value}",  # only spaces and tabs are trimmed, not U+00A0
        f"{name}={value}\xa0; lang=en",
    ]
    return accepted, refused


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def session_cookie_forms(ctx: Context) -> None:
    """The Cookie header is read as the `cookie` package reads it (quotes, white space, other
    pairs, the first of a name, percent-decoding), and a cookie that is not the server's signed
    session is refused like no credential at all (8.2.0: 401 AuthenticationRequired), and then
    a PAT sent with it acts."""
    value = ctx.session_cookie()
    accepted, refused = _cookie_forms(value)
    by_pat = _pat_ids(ctx)
    for cookie in accepted:
        response = ctx.api.request("GET", PATS, token=None, cookie=cookie)
        read = _listed_ids(response, "session_cookie_forms") == by_pat
        message = f"Cookie {cookie!r} is the session, but is not read as such"
        expect(read, "session_cookie_forms", message, response)
    for cookie in refused:
        response = ctx.api.request("GET", PATS, token=None, cookie=cookie)
        why = f"Cookie {cookie!r} (no session)"
        expect_error(response, ctx.expect.missing_token, "forged_session_refused", why)
    response = ctx.api.request("GET", PATS, token=ctx.token, cookie=refused[1])
    acted = _listed_ids(response, "forged_session_refused") == by_pat
    message = "with a forged session cookie beside it, the PAT does not act"
    expect(acted, "forged_session_refused", message, response)


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def wrong_password_refused(ctx: Context) -> None:
    """A login with a wrong password, or as a user that does not exist, is refused alike
    (8.2.0: 401 PasswordMismatch, the same message for both, pointing at the base path's
    /forgotten-password) and sets no session cookie."""
    assert ctx.password_login is not None
    username, password = ctx.password_login
    error = ctx.expect.password_mismatch
    message = ctx.expect.password_mismatch_message.format(base=_base_path(ctx))
    name = "wrong_password_refused"
    # A lone surrogate (valid in a JSON escape) must mismatch like any other character, where
    # sending one does not kill the server.
    wrong = password + ("\ud800" if ctx.expect.lone_surrogate_password_answered else "x")
    attempts = (
        ("a wrong password", username, wrong),
        ("an unknown user", f"{ctx.prefix}nobody", password),
    )
    for who, user, given in attempts:
        response = ctx.api.login(user, given)
        expect_error(response, error, name, who)
        body = body_of(response)
        details = body.get("details")
        detail = details[0].get("message") if isinstance(details, list) and details else None
        got = (body.get("message"), detail)
        why = f"{who}: message and detail {got!r}, not {message!r}"
        expect(got == (message, message), name, why, response)
        expect(not _set_cookie(response), name, f"{who} sets a session cookie", response)


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def second_login_keeps_the_first(ctx: Context) -> None:
    """Logging in again starts another session, with its own id and signature, and the first
    one goes on working (Unleash drops a user's oldest sessions only beyond 5; 5.x never)."""
    first = ctx.session_cookie()
    assert ctx.password_login is not None
    response = ctx.api.login(*ctx.password_login)
    name = "second_login_keeps_the_first"
    expect(response.status_code == 200, name, f"answered {response.status_code}", response)
    second = set_session(response)
    ctx.redact.add(second)
    expect(second, name, "the second login sets no session cookie", response)
    assert second is not None
    sid, _, mac = unquote(second)[2:].rpartition(".")
    first_sid, _, first_mac = unquote(first)[2:].rpartition(".")
    message = "the second session shares the first one's id or signature"
    expect(sid != first_sid and mac != first_mac, name, message, response)
    by_pat = _pat_ids(ctx)
    for which, value in (("first", first), ("second", second)):
        response = ctx.api.request("GET", PATS, token=None, cookie=f"{SESSION_COOKIE}={value}")
        message = f"the {which} session does not list the user's PATs"
        expect(_listed_ids(response, name) == by_pat, name, message, response)


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def login_reads_the_username_exactly(ctx: Context) -> None:
    """A login names its user exactly (the username in another case is no user: 401
    PasswordMismatch) or by e-mail address in any case (where the user has one: 200); a body
    without a password is a 400 BadDataError, before any password is compared. After the other
    session checks but the logout: a login here may end the user's oldest session."""
    assert ctx.password_login is not None
    username, password = ctx.password_login
    name = "login_reads_the_username_exactly"
    swapped = username.swapcase()
    if swapped != username and "@" not in username:
        response = ctx.api.login(swapped, password)
        expect_error(response, ctx.expect.password_mismatch, name, f"username {swapped!r}")
    body = json.dumps({"username": username}).encode()
    headers = {"Content-Type": "application/json"}
    response = ctx.api.request("POST", LOGIN, token=None, content=body, headers=headers)
    expect_error(response, ctx.expect.bad_data, name, "a login without a password")
    me = ctx.api.request("GET", "/api/admin/user", token=ctx.token)
    user = body_of(me).get("user") if me.status_code == 200 else None
    email = user.get("email") if isinstance(user, dict) else None
    if isinstance(email, str) and email != email.upper():
        response = ctx.api.login(email.upper(), password)
        message = f"the login by e-mail {email.upper()!r} answered {response.status_code}"
        expect(response.status_code == 200, name, message, response)
        ctx.redact.add(set_session(response), "UNLEASH_SESSION")


@check(Layer.PROPERTY, Need.PASSWORD, Need.WRITE)
def logout_ends_the_users_sessions(ctx: Context) -> None:
    """`POST /logout` with one session of the user ends every session of the user, the one sent
    and the run's own (8.2.0 and every release measured), but not the user's PAT; it answers
    302 to the release's page below the base path (8.2.0: `/signed-out`; before 7.6: `/`) and
    clears the session cookie. After every other check: it ends the run's session (a check run
    after it logs in again)."""
    own = ctx.session_cookie()
    assert ctx.password_login is not None
    response = ctx.api.login(*ctx.password_login)
    name = "logout_ends_the_users_sessions"
    expect(response.status_code == 200, name, f"a login answered {response.status_code}", response)
    leaving = set_session(response)
    ctx.redact.add(leaving)
    expect(leaving, name, "the login sets no session cookie", response)
    response = ctx.api.request("POST", LOGOUT, token=None, cookie=f"{SESSION_COOKIE}={leaving}")
    ctx.logged_out()
    page = _base_path(ctx) + ctx.expect.logout_redirect
    why = f"the logout answered {response.status_code}, not a 302 to {page!r}"
    expect(response.status_code == 302, "logout_redirects", why, response)
    location = response.headers.get("location")
    why = f"the logout redirects to {location!r}, not to {page!r}"
    expect(location == page, "logout_redirects", why, response)
    # Express's res.clearCookie: no value, expired long ago. (Its Clear-Site-Data is a setting
    # of the deployment, SESSION_CLEAR_SITE_DATA_ON_LOGOUT, so it is not asked for.)
    header = _set_cookie(response)
    expires = _attributes(header).get("expires", "").partition("=")[2]
    try:
        gone = parsedate_to_datetime(expires) < datetime.now(UTC)
    except (TypeError, ValueError):
        gone = False
    why = f"the logout sets {header!r}, not an empty, expired `{SESSION_COOKIE}` cookie"
    expect(header.startswith(f"{SESSION_COOKIE}=;") and gone, "logout_redirects", why, response)
    for which, cookie in (("it was sent with", leaving), ("of the run, an older one", own)):
        response = ctx.api.request(
            "GET", "/api/admin/user", token=None, cookie=f"{SESSION_COOKIE}={cookie}"
        )
        expect_error(
            response, ctx.expect.missing_token, name, f"after a logout, the session {which}"
        )
    response = ctx.api.request("GET", "/api/admin/user", token=ctx.token)
    why = f"after a logout, the user's PAT answers {response.status_code}"
    expect(response.status_code == 200, "logout_keeps_the_pat", why, response)
