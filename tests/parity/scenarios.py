"""The scenarios: each drives one target through named steps; the suite compares the two runs.

Users: `alice` and `bob` authenticate with their long-lived bootstrap PATs; `fresh` is a user
created for the session (no PAT, authenticated by a session cookie), so that the 10-PAT limit and
the cookie paths start from a known state. "admin" is the admin API token. Sources: what was
measured on each release (docs/observations/); each section below cites 8.2.0's facts.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from mock_server.versions import Crash

from .targets import FAR, LOGIN, TOKENS, Run, SetupFailed, session_cookie

# A documentation address (RFC 5737), new per session, so its rate-limit bucket starts empty.
FORWARDED_FOR = f"192.0.2.{secrets.randbelow(254) + 1}, 198.51.100.{secrets.randbelow(254) + 1}"


@dataclass(frozen=True)
class Scenario:
    id: str
    run: Callable[[Run], None]

    @property
    def kills(self) -> frozenset[Crash]:
        """The crashes this scenario's requests cause where a release has them: it is never
        sent to such a release (docs/observations name each one)."""
        return KILLERS.get(self.id, frozenset())

    def __str__(self) -> str:
        return self.id


SCENARIOS: list[Scenario] = []


def scenario(id: str) -> Callable[[Callable[[Run], None]], Callable[[Run], None]]:
    def register(fn: Callable[[Run], None]) -> Callable[[Run], None]:
        assert all(s.id != id for s in SCENARIOS), f"duplicate scenario id {id}"
        SCENARIOS.append(Scenario(id, fn))
        return fn

    return register


def js_iso(moment: datetime) -> str:
    """Date#toISOString, which is also how Unleash echoes an expiry sent this way."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def from_now(run: Run, seconds: float, label: str) -> str:
    value = js_iso(run.target.clock.now() + timedelta(seconds=seconds))
    run.volatile[value] = label
    return value


def wait_past(run: Run, expires_at: str) -> None:
    clock = run.target.clock
    left = (datetime.fromisoformat(expires_at) - clock.now()).total_seconds()
    clock.sleep(max(0.0, left) + 0.5)


def pat_body(description: Any, expires_at: Any = FAR) -> dict[str, Any]:
    return {"description": description, "expiresAt": expires_at}


# -- authentication ----------------------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#auth-401, #bearer, #cookie-over-pat, #admin-token-refused
# docs/observations/unleash-8.2.0.md#cookie-and-admin-token
Headers = Callable[[Run], dict[str, str]]


def _auth(value: Callable[[Run], str]) -> Headers:
    return lambda r: {"Authorization": value(r)}


def _one_char_changed(pat: str) -> str:
    return pat[:-1] + ("0" if pat[-1] != "0" else "1")


def _deleted_pat(r: Run) -> dict[str, str]:
    doomed = r.create("setup-create-doomed", "alice", "parity-doomed")
    r.send("setup-delete-doomed", "DELETE", f"{TOKENS}/{doomed['id']}", as_="alice")
    return {"Authorization": doomed["secret"]}


def _cookie(r: Run) -> str:
    cookie = r.account("fresh").cookie
    assert cookie
    return cookie


def _basic(r: Run) -> str:
    account = r.account("alice")
    return "Basic " + base64.b64encode(f"{account.username}:{account.password}".encode()).decode()


# variant -> (headers, owner of the PAT the DELETE step aims at)
AUTH_VARIANTS: dict[str, tuple[Headers, str]] = {
    "none": (lambda r: {}, "alice"),
    "empty-authorization": (_auth(lambda r: ""), "alice"),
    "garbage": (_auth(lambda r: "garbage"), "alice"),
    "user-deadbeef": (_auth(lambda r: "user:deadbeef"), "alice"),
    "user-prefix-only": (_auth(lambda r: "user:"), "alice"),
    "pat-one-char-changed": (_auth(lambda r: _one_char_changed(r.pat("alice"))), "alice"),
    "pat-upper-cased": (_auth(lambda r: r.pat("alice").upper()), "alice"),
    "pat-hex-upper-cased": (_auth(lambda r: "user:" + r.pat("alice")[5:].upper()), "alice"),
    "pat-with-suffix": (_auth(lambda r: r.pat("alice") + "x"), "alice"),
    "token-prefix": (_auth(lambda r: f"Token {r.pat('alice')}"), "alice"),
    "basic-auth": (_auth(_basic), "alice"),
    "bearer-alone": (_auth(lambda r: "Bearer"), "alice"),
    "bearer-garbage": (_auth(lambda r: "Bearer garbage"), "alice"),
    "raw-pat": (_auth(lambda r: r.pat("alice")), "alice"),
    "bearer-pat": (_auth(lambda r: f"Bearer {r.pat('alice')}"), "alice"),
    "lowercase-bearer-pat": (_auth(lambda r: f"bearer {r.pat('alice')}"), "alice"),
    "bearer-two-spaces-pat": (_auth(lambda r: f"Bearer  {r.pat('alice')}"), "alice"),
    "deleted-pat": (_deleted_pat, "alice"),
    "other-users-pat": (_auth(lambda r: r.pat("bob")), "alice"),
    "admin-token": (_auth(lambda r: r.target.admin_token), "alice"),
    "bearer-admin-token": (_auth(lambda r: f"Bearer {r.target.admin_token}"), "alice"),
    "session-cookie": (lambda r: {"Cookie": _cookie(r)}, "fresh"),
    "bogus-session-cookie": (
        lambda r: {"Cookie": "unleash-session=s%3Abogus.c2lnbmF0dXJl"},
        "fresh",
    ),
    "cookie-and-other-users-pat": (
        lambda r: {"Cookie": _cookie(r), "Authorization": r.pat("alice")},
        "fresh",
    ),
    "cookie-and-invalid-pat": (
        lambda r: {"Cookie": _cookie(r), "Authorization": "user:deadbeef"},
        "fresh",
    ),
    "cookie-and-garbage": (lambda r: {"Cookie": _cookie(r), "Authorization": "garbage"}, "fresh"),
    "cookie-and-admin-token": (
        lambda r: {"Cookie": _cookie(r), "Authorization": r.target.admin_token},
        "fresh",
    ),
}


def _auth_scenario(make_headers: Headers, victim_owner: str) -> Callable[[Run], None]:
    def run(r: Run) -> None:
        victim = r.create("setup-victim", victim_owner, "parity-victim")
        headers = make_headers(r)
        r.send("get", "GET", TOKENS, headers=headers)
        r.send("post", "POST", TOKENS, headers=headers, json_body=pat_body("parity-auth"))
        r.send("delete", "DELETE", f"{TOKENS}/{victim['id']}", headers=headers)
        r.send("current-user", "GET", "/api/admin/user", headers=headers)
        # State: was the victim deleted (only by its owner), was a PAT created and for whom?
        r.send("list-victim-owner", "GET", TOKENS, as_=victim_owner)
        r.send("list-bob", "GET", TOKENS, as_="bob")

    return run


for _name, (_headers, _owner) in AUTH_VARIANTS.items():
    scenario(f"auth-{_name}")(_auth_scenario(_headers, _owner))


@scenario("auth-two-authorization-headers")
def two_authorization_headers(r: Run) -> None:
    """Node keeps the first of repeated Authorization headers
    (docs/observations/unleash-8.2.0.md#auth-401)."""
    pat = ("Authorization", r.pat("alice"))
    garbage = ("Authorization", "garbage")
    r.send("pat-then-garbage", "GET", TOKENS, headers=[pat, garbage])
    r.send("garbage-then-pat", "GET", TOKENS, headers=[garbage, pat])


@scenario("auth-expired-pat")
def expired_pat(r: Run) -> None:
    """A PAT that expires 3 s ahead works until then, then is 401 everywhere but stays listed,
    counts, and keeps its description taken."""
    expires = from_now(r, 3, "<now+3s>")
    short = r.create("create-short-lived", "alice", "parity-short-lived", expires)
    secret = {"Authorization": short["secret"]}
    r.send("get-before-expiry", "GET", TOKENS, headers=secret)
    wait_past(r, expires)
    r.send("get-after-expiry", "GET", TOKENS, headers=secret)
    r.send("post-after-expiry", "POST", TOKENS, headers=secret, json_body=pat_body("parity-x"))
    r.send("delete-after-expiry", "DELETE", f"{TOKENS}/{short['id']}", headers=secret)
    r.send("list", "GET", TOKENS, as_="alice")
    r.send(
        "reuse-description", "POST", TOKENS, as_="alice", json_body=pat_body("parity-short-lived")
    )


# -- creation: bodies --------------------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#pat-object, #timestamps, #coercion, #schema-400
# docs/observations/unleash-8.2.0.md#service-400, #body-not-object, #malformed-json
# docs/observations/unleash-8.2.0.md#content-type, #content-type-params, #json-errors
def _post_scenario(who: str = "alice", **send: Any) -> Callable[[Run], None]:
    def run(r: Run) -> None:
        r.send("post", "POST", TOKENS, as_=who, **send)
        r.send("list-after", "GET", TOKENS, as_=who)

    return run


def _raw(text: str | bytes) -> dict[str, Any]:
    return {"raw": text.encode() if isinstance(text, str) else text}


_VALID = '{"description":"parity-raw","expiresAt":"2099-06-30T12:00:00.000Z"}'
_HUGE = "x" * (101 * 1024)
LIMIT_BYTES = 100 * 1024


def _sized_body(size: int) -> str:
    """A valid create body of exactly `size` bytes, padded in the description."""
    empty = '{"description":"parity-","expiresAt":"' + FAR + '"}'
    return empty.replace("parity-", "parity-" + "y" * (size - len(empty)))


# Some creates (descriptions coerced from other types, whitespace only) are made by the fresh user,
# who authenticates by session cookie: creating through a session is compared too.
FRESH = "fresh"

BODIES: dict[str, dict[str, Any]] = {
    "valid": {"json_body": pat_body("parity-valid")},
    "far-future-expiry": {"json_body": pat_body("parity-far", "9999-12-31T23:59:59.999Z")},
    "extra-fields-ignored": {
        "json_body": {
            **pat_body("parity-extra"),
            "id": 1,
            "secret": "user:" + "0" * 56,
            "userId": 1,
            "createdAt": "2000-01-01T00:00:00.000Z",
            "seenAt": "2000-01-01T00:00:00.000Z",
            "foo": "bar",
        }
    },
    "description-number-coerced": {"who": FRESH, "json_body": pat_body(123)},
    "description-true-coerced": {"who": FRESH, "json_body": pat_body(True)},
    "description-false-coerced": {"who": FRESH, "json_body": pat_body(False)},
    "description-zero-coerced": {"who": FRESH, "json_body": pat_body(0)},
    "description-float-coerced": {"who": FRESH, "json_body": pat_body(1.5)},
    "description-1e21-coerced": {"who": FRESH, "json_body": pat_body(1e21)},
    "description-null": {"json_body": pat_body(None)},
    "description-empty": {"json_body": pat_body("")},
    "description-whitespace-only": {"who": FRESH, "json_body": pat_body("   ")},
    "description-padded-not-trimmed": {"json_body": pat_body("  parity-padded  ")},
    "description-object": {"json_body": pat_body({"a": 1})},
    "description-array": {"json_body": pat_body(["a"])},
    "description-unicode": {"json_body": pat_body("parity-héllo 🚀 日本")},
    "description-escaped-unicode": {
        **_raw('{"description":"parity-esc \\u00e9 \\ud83d\\ude80","expiresAt":"' + FAR + '"}')
    },
    "description-lone-surrogate": {
        **_raw('{"description":"parity-\\ud800","expiresAt":"' + FAR + '"}')
    },
    "description-nul": {"json_body": pat_body("parity-nul\u0000")},
    "description-invalid-utf8": {
        **_raw(b'{"description":"parity-bad\xff\xfeutf8","expiresAt":"' + FAR.encode() + b'"}')
    },
    "description-10000-chars": {"json_body": pat_body("parity-" + "d" * 10_000)},
    "description-missing": {"json_body": {"expiresAt": FAR}},
    "expiry-missing": {"json_body": {"description": "parity-no-expiry"}},
    "both-missing": {"json_body": {}},
    "object-description-and-bad-expiry": {"json_body": pat_body({"a": 1}, "tomorrow")},
    "empty-description-and-past-expiry": {"json_body": pat_body("", "2020-01-01T00:00:00.000Z")},
    "duplicate-keys-last-wins": {
        **_raw(
            '{"description":"parity-dup-a","description":"parity-dup-b","expiresAt":"' + FAR + '"}'
        )
    },
    "utf8-bom": {**_raw(b"\xef\xbb\xbf" + _VALID.encode())},
    "body-array": {"json_body": [pat_body("parity-arr")]},
    "body-null": {"json_body": None},
    "body-string": {"json_body": "str"},
    "body-number": {"json_body": 5},
    "body-deeply-nested-array": {**_raw("[" * 50_000 + "]" * 50_000)},
    "body-empty": {**_raw(b"")},
    "malformed-json": {**_raw("{not json")},
    "malformed-json-truncated": {**_raw('{"description":')},
    "malformed-json-trailing-comma": {**_raw('{"description":"parity-tc",}')},
    "malformed-json-single-quotes": {**_raw("{'description':'x'}")},
    "body-over-100kb": {**_raw('{"description":"' + _HUGE + '","expiresAt":"' + FAR + '"}')},
    # body-parser's limit: 100 kB = 102 400 bytes, inclusive
    # (docs/observations/unleash-8.2.0.md#json-errors).
    "body-exactly-100kb": {**_raw(_sized_body(LIMIT_BYTES))},
    "body-100kb-plus-one-byte": {**_raw(_sized_body(LIMIT_BYTES + 1))},
    "no-content-type": {**_raw(_VALID), "content_type": None},
    "content-type-text-plain": {**_raw(_VALID), "content_type": "text/plain"},
    "content-type-form": {**_raw(_VALID), "content_type": "application/x-www-form-urlencoded"},
    "content-type-merge-patch": {**_raw(_VALID), "content_type": "application/merge-patch+json"},
    "content-type-vnd-api-json": {**_raw(_VALID), "content_type": "application/vnd.api+json"},
    "content-type-garbage": {**_raw(_VALID), "content_type": "garbage"},
    "content-type-text-json": {**_raw(_VALID), "content_type": "text/json"},
    "content-type-application-wildcard": {**_raw(_VALID), "content_type": "application/*"},
    "content-type-json-utf16": {**_raw(_VALID), "content_type": "application/json; charset=utf-16"},
    "content-type-json-charset-utf8": {
        **_raw(_VALID),
        "content_type": "application/json; charset=utf-8",
    },
    "content-type-json-upper-case": {**_raw(_VALID), "content_type": "APPLICATION/JSON"},
    "content-type-json-latin1": {
        **_raw(_VALID),
        "content_type": "application/json; charset=latin1",
    },
    # Unleash's content-type check reads the media type alone from 7.x, the whole header before
    # (415); express.json reads a body only when the whole header parses (else a 400: no body).
    "content-type-json-space-before-parameter": {
        **_raw(_VALID),
        "content_type": "application/json ;charset=utf-8",
    },
    "content-type-json-tab-before-parameter": {
        **_raw(_VALID),
        "content_type": "application/json\t;charset=utf-8",
    },
    "content-type-json-empty-parameter": {**_raw(_VALID), "content_type": "application/json;"},
    "content-type-json-parameter-without-value": {
        **_raw(_VALID),
        "content_type": "application/json; foo",
    },
    "content-type-json-list": {**_raw(_VALID), "content_type": "application/json , text/plain"},
    "content-encoding-gzip": {
        **_raw(gzip.compress(_VALID.encode(), mtime=0)),
        "headers": {"Content-Encoding": "gzip"},
    },
    "content-encoding-br": {**_raw(_VALID), "headers": {"Content-Encoding": "br"}},
}

EXPIRIES: dict[str, Any] = {
    "empty": "",
    "words": "tomorrow",
    "date-only": "2031-05-06",
    "february-30": "2031-02-30T00:00:00.000Z",
    "hour-24": "2031-01-01T24:00:00Z",
    "six-digit-year": "+010000-01-01T00:00:00.000Z",
    "epoch-millis-number": 1893456000000,
    "null": None,
    "boolean": True,
    "dot-without-fraction": "2031-01-01T12:00:00.Z",
    "past-2020": "2020-01-01T00:00:00.000Z",
    "past-no-timezone": "2020-01-01T00:00:00",
    "past-year-zero": "0000-01-01T00:00:00Z",
    "past-hour-only-offset": "2020-01-01T00:00:00+02",
    "past-leap-second": "2020-12-31T23:59:60Z",
    "offset-converted": "2031-01-01T12:00:00+02:00",
    "offset-without-colon": "2031-01-01T12:00:00+0200",
    "offset-hour-only": "2031-01-01T12:00:00+02",
    "offset-minus-zero": "2031-01-01T12:00:00-00:00",
    "offset-plus-14": "2031-01-01T12:00:00+14:00",
    "offset-plus-16": "2031-01-01T12:00:00+16:00",
    "offset-plus-99": "2031-01-01T12:00:00+99:99",
    "no-timezone": "2031-01-01T12:00:00",
    "no-fraction": "2031-01-01T12:00:00Z",
    "microseconds-truncated": "2031-01-01T12:00:00.123456Z",
    "four-nines-truncated": "2031-01-01T12:00:00.9999Z",
    "lowercase-t-and-z": "2031-01-01t12:00:00z",
    "space-separator": "2031-01-01 12:00:00Z",
    "tab-separator": "2031-01-01\t12:00:00Z",
    "newline-separator": "2031-01-01\n12:00:00Z",
    "offset-plus-15-59": "2031-01-01T12:00:00+15:59",
    "nanoseconds-truncated": "2031-01-01T12:00:00.123456789Z",
    "past-year-one": "0001-01-01T00:00:00Z",
    "leap-second": "2031-06-30T23:59:60Z",
    "leap-second-with-offset": "2031-01-01T23:59:60+02:00",
}

# 7.4.1 and 7.5.1 die on a body nested 50,000 levels deep, and 6.10.1 on 2,000.
KILLERS = {
    "create-body-deeply-nested-array": frozenset({Crash.VERY_DEEP_BODIES, Crash.DEEP_BODIES})
}

for _name, _send in BODIES.items():
    scenario(f"create-{_name}")(_post_scenario(**_send))
for _name, _expiry in EXPIRIES.items():
    scenario(f"create-expiry-{_name}")(
        _post_scenario(json_body=pat_body(f"parity-exp-{_name}", _expiry))
    )


def _relative_expiry(description: str, seconds: float, label: str) -> Callable[[Run], None]:
    """A create whose expiry is relative to the target's clock (recorded under `label`)."""

    def run(r: Run) -> None:
        body = pat_body(description, from_now(r, seconds, label))
        r.send("post", "POST", TOKENS, as_="alice", json_body=body)

    return run


scenario("create-expiry-earlier-today")(_relative_expiry("parity-earlier", -3600, "<now-1h>"))
scenario("create-expiry-2s-ahead")(_relative_expiry("parity-soon", 2, "<now+2s>"))


@scenario("create-malformed-json-without-auth")
def malformed_json_without_auth(r: Run) -> None:
    """Express parses the body before authenticating
    (docs/observations/unleash-8.2.0.md#malformed-json)."""
    r.send("post", "POST", TOKENS, raw=b"{not json")
    r.send("post-oversized", "POST", TOKENS, raw=('{"d":"' + _HUGE + '"}').encode())
    r.send("post-text-plain", "POST", TOKENS, raw=_VALID.encode(), content_type="text/plain")
    r.send("get-malformed", "GET", TOKENS, raw=b"{bad")


@scenario("create-admin-token-invalid-body")
def admin_token_invalid_body(r: Run) -> None:
    """Schema and content type are checked before the admin-token 403
    (docs/observations/unleash-8.2.0.md#admin-token-refused)."""
    r.send("missing-expiry", "POST", TOKENS, as_="admin", json_body={"description": "x"})
    r.send("no-content-type", "POST", TOKENS, as_="admin", raw=_VALID.encode(), content_type=None)
    r.send("empty-description", "POST", TOKENS, as_="admin", json_body=pat_body(""))


# -- limits and duplicates ---------------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#limit, #duplicate, #list
@scenario("limit-ten-pats-per-user")
def ten_pat_limit(r: Run) -> None:
    """The first PAT expires while the others are created: expired PATs still count."""
    expires = from_now(r, 3, "<now+3s>")
    first = r.create("create-1-short-lived", "fresh", "parity-limit-1", expires)
    for i in range(2, 11):
        r.create(f"create-{i}", "fresh", f"parity-limit-{i}")
    wait_past(r, expires)
    r.send("create-11th", "POST", TOKENS, as_="fresh", json_body=pat_body("parity-limit-11"))
    # Order of the service checks: empty description, past expiry, then the limit, then 409.
    r.send(
        "create-11th-duplicate", "POST", TOKENS, as_="fresh", json_body=pat_body("parity-limit-1")
    )
    r.send("create-11th-empty", "POST", TOKENS, as_="fresh", json_body=pat_body(""))
    r.send(
        "create-11th-past",
        "POST",
        TOKENS,
        as_="fresh",
        json_body=pat_body("parity-limit-p", "2020-01-01T00:00:00.000Z"),
    )
    r.send("list-full", "GET", TOKENS, as_="fresh")
    r.send("delete-one", "DELETE", f"{TOKENS}/{first['id']}", as_="fresh")
    r.send(
        "create-after-delete", "POST", TOKENS, as_="fresh", json_body=pat_body("parity-limit-11")
    )
    r.send("list-after", "GET", TOKENS, as_="fresh")


@scenario("duplicate-descriptions")
def duplicates(r: Run) -> None:
    r.create("create", "alice", "parity-dup")
    r.send("same-user-again", "POST", TOKENS, as_="alice", json_body=pat_body("parity-dup"))
    r.send("other-user", "POST", TOKENS, as_="bob", json_body=pat_body("parity-dup"))
    r.send("same-user-other-case", "POST", TOKENS, as_="alice", json_body=pat_body("Parity-Dup"))
    r.send(
        "same-user-trailing-space", "POST", TOKENS, as_="alice", json_body=pat_body("parity-dup ")
    )
    r.send("list-alice", "GET", TOKENS, as_="alice")
    r.send("list-bob", "GET", TOKENS, as_="bob")


@scenario("isolation-between-users")
def isolation(r: Run) -> None:
    """Each user lists only their own PATs, a new PAT authenticates as its owner, and ids come
    from one global sequence."""
    alice = r.create("alice-creates", "alice", "parity-iso-a")
    r.create("bob-creates", "bob", "parity-iso-b")
    r.send("alice-lists", "GET", TOKENS, as_="alice")
    r.send("bob-lists", "GET", TOKENS, as_="bob")
    r.send("new-pat-lists", "GET", TOKENS, headers={"Authorization": alice["secret"]})
    r.send(
        "new-pat-current-user", "GET", "/api/admin/user", headers={"Authorization": alice["secret"]}
    )


# -- deletion ----------------------------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#unknown-delete, #delete-other, #delete-response
# docs/observations/unleash-8.2.0.md#delete-id-schema, #delete-id-range
@scenario("delete-own")
def delete_own(r: Run) -> None:
    pat = r.create("create", "alice", "parity-del")
    r.send("delete", "DELETE", f"{TOKENS}/{pat['id']}", as_="alice")
    r.send("list-after", "GET", TOKENS, as_="alice")
    r.send("delete-again", "DELETE", f"{TOKENS}/{pat['id']}", as_="alice")
    r.send("deleted-secret", "GET", TOKENS, headers={"Authorization": pat["secret"]})
    r.send(
        "recreate-same-description", "POST", TOKENS, as_="alice", json_body=pat_body("parity-del")
    )


@scenario("delete-other-users-pat")
def delete_other_users(r: Run) -> None:
    bobs = r.create("bob-creates", "bob", "parity-bobs")
    r.send("alice-deletes", "DELETE", f"{TOKENS}/{bobs['id']}", as_="alice")
    r.send("bob-lists", "GET", TOKENS, as_="bob")
    r.send("still-authenticates", "GET", TOKENS, headers={"Authorization": bobs["secret"]})


@scenario("delete-self")
def delete_self(r: Run) -> None:
    pat = r.create("create", "alice", "parity-self")
    own = {"Authorization": pat["secret"]}
    r.send("delete-itself", "DELETE", f"{TOKENS}/{pat['id']}", headers=own)
    r.send("get-with-it", "GET", TOKENS, headers=own)
    r.send("list", "GET", TOKENS, as_="alice")


def _delete_odd_id(path_id: str) -> Callable[[Run], None]:
    def run(r: Run) -> None:
        r.send("delete", "DELETE", f"{TOKENS}/{path_id}", as_="alice")
        r.send("list-after", "GET", TOKENS, as_="alice")

    return run


ODD_IDS = {
    "non-existent": "999999",
    "zero": "0",
    "minus-one": "-1",
    "int4-max": "2147483647",
    "int4-min": "-2147483648",
    "above-int4": "2147483648",
    "below-int4": "-2147483649",
    "letters": "abc",
    "fraction": "1.5",
    "exponent": "1e3",
    "hex": "0x10",
    "minus-zero": "-0",
    "nan": "NaN",
    "infinity": "Infinity",
    "huge": "9999999999999999999999",
    "space": "%20",
    "semicolon": "98;x",
    "malformed-escape": "abc%zz",
}
for _name, _id in ODD_IDS.items():
    scenario(f"delete-id-{_name}")(_delete_odd_id(_id))


def _delete_own_spelled(spell: Callable[[int], str]) -> Callable[[Run], None]:
    """The path id is coerced JS-style, so other spellings of an own id delete it."""

    def run(r: Run) -> None:
        pat = r.create("create", "alice", "parity-spelled")
        r.send("delete", "DELETE", f"{TOKENS}/{spell(pat['id'])}", as_="alice")
        r.send("list-after", "GET", TOKENS, as_="alice")

    return run


SPELLINGS: dict[str, Callable[[int], str]] = {
    "leading-zero": lambda i: f"0{i}",
    "plus-sign": lambda i: f"%2B{i}",
    "point-zero": lambda i: f"{i}.0",
    "exponent-zero": lambda i: f"{i}e0",
    "trailing-slash": lambda i: f"{i}/",
    "padded-space": lambda i: f"%20{i}",
}
for _name, _spell in SPELLINGS.items():
    scenario(f"delete-own-id-{_name}")(_delete_own_spelled(_spell))


@scenario("delete-with-body")
def delete_with_body(r: Run) -> None:
    """DELETE ignores its body, unless a JSON content type carries malformed JSON."""
    first = r.create("create-1", "alice", "parity-body-1")
    second = r.create("create-2", "alice", "parity-body-2")
    r.send(
        "text-body",
        "DELETE",
        f"{TOKENS}/{first['id']}",
        as_="alice",
        raw=b"hi",
        content_type="text/plain",
    )
    r.send("malformed-json-body", "DELETE", f"{TOKENS}/{second['id']}", as_="alice", raw=b"{bad")
    r.send("list-after", "GET", TOKENS, as_="alice")


# -- other methods and paths -------------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#unrouted, #front-end-page, #client-api, #list, #rate-limit
# docs/observations/unleash-8.2.0.md#http-details
METHODS: dict[str, tuple[str, str, str | None]] = {
    "put-collection": ("PUT", TOKENS, "alice"),
    "patch-collection": ("PATCH", TOKENS, "alice"),
    "delete-collection": ("DELETE", TOKENS, "alice"),
    "get-item": ("GET", f"{TOKENS}/1", "alice"),
    "put-item": ("PUT", f"{TOKENS}/1", "alice"),
    "patch-item": ("PATCH", f"{TOKENS}/1", "alice"),
    "post-item": ("POST", f"{TOKENS}/1", "alice"),
    "delete-empty-id": ("DELETE", f"{TOKENS}/", "alice"),
    "put-collection-unauthenticated": ("PUT", TOKENS, None),
    "get-item-unauthenticated": ("GET", f"{TOKENS}/1", None),
    "unknown-path": ("GET", "/api/admin/user/tokenz", "alice"),
    "unknown-path-unauthenticated": ("GET", "/api/admin/user/tokenz", None),
    "json-suffix": ("GET", f"{TOKENS}.json", "alice"),
    # Unleash's authorization guards all of /api; the client and front-end APIs want an API
    # token first (8.2 refuses a PAT there with 403; before, a POST falls through to 404). The
    # front-end API's CORS headers (8.x) are not mocked.
    "api-unknown-path": ("GET", "/api/foo", "alice"),
    "api-unknown-path-unauthenticated": ("GET", "/api/foo", None),
    "api-root-unauthenticated": ("POST", "/api", None),
    "api-upper-case-unauthenticated": ("GET", "/API/foo", None),
    "client-api-unauthenticated": ("GET", "/api/client/features", None),
    "proxy-api-unauthenticated": ("POST", "/api/proxy/x", None),
    "client-api-post-as-pat": ("POST", "/api/client/features", "alice"),
    "proxy-api-as-pat": ("GET", "/api/proxy/x", "alice"),
    "head-collection": ("HEAD", TOKENS, "alice"),
    "head-collection-unauthenticated": ("HEAD", TOKENS, None),
    "head-item": ("HEAD", f"{TOKENS}/1", "alice"),
    "options-collection": ("OPTIONS", TOKENS, "alice"),
    "options-item": ("OPTIONS", f"{TOKENS}/1", "alice"),
    "options-unauthenticated": ("OPTIONS", TOKENS, None),
    "upper-case-path": ("GET", TOKENS.upper(), "alice"),
    "upper-case-path-unauthenticated": ("GET", TOKENS.upper(), None),
    "put-upper-case-path": ("PUT", TOKENS.upper(), "alice"),
    "mixed-case-last-segment": ("GET", "/api/admin/user/Tokens", "alice"),
    "trailing-slash": ("GET", f"{TOKENS}/", "alice"),
    "doubled-slashes": ("GET", "//api//admin//user/tokens", "alice"),
    "query-string-ignored": ("GET", f"{TOKENS}?foo=bar&id=1", "alice"),
    # Outside /api Unleash's web front end answers: its page for GET, Express's 404 otherwise.
    # The control API's prefix (off in the parity mock, as `serve --no-control`) is such a path.
    "front-end-page": ("GET", "/some/page", None),
    "front-end-post": ("POST", "/some/page?x=1", None),
    "control-prefix-off-get": ("GET", "/_unleash-pat/state", "alice"),
    "control-prefix-off-post": ("POST", "/_unleash-pat/reset", None),
}


def _method_scenario(method: str, path: str, who: str | None) -> Callable[[Run], None]:
    def run(r: Run) -> None:
        r.send("request", method, path, as_=who, content_type=None)

    return run


for _name, (_method, _path, _who) in METHODS.items():
    scenario(f"route-{_name}")(_method_scenario(_method, _path, _who))


@scenario("route-accept-ignored")
def accept_ignored(r: Run) -> None:
    r.send("html", "GET", TOKENS, as_="alice", headers={"Accept": "text/html"})
    r.send("xml", "GET", TOKENS, as_="alice", headers={"Accept": "application/xml"})


@scenario("route-post-trailing-slash")
def post_trailing_slash(r: Run) -> None:
    r.send("post", "POST", f"{TOKENS}/", as_="alice", json_body=pat_body("parity-slash"))


@scenario("ratelimit-bucket-per-forwarded-ip")
def ratelimit_bucket(r: Run) -> None:
    """The PAT limiter keys on req.ip with `trust proxy` on, so X-Forwarded-For picks the bucket
    (docs/observations/unleash-8.2.0.md#rate-limit): a new address starts a full window, every
    request counts."""
    address = {"X-Forwarded-For": FORWARDED_FOR}
    for step in ("first", "second"):
        response = r.send(step, "GET", TOKENS, as_="alice", headers=address)
        reset = int(response.headers.get("ratelimit-reset", "-1"))
        r.record(
            f"{step}-counters",
            {
                "remaining": response.headers.get("ratelimit-remaining"),
                "limit": response.headers.get("ratelimit-limit"),
                "reset-within-window": 0 < reset <= 60,
            },
        )


@scenario("list-if-none-match")
def if_none_match(r: Run) -> None:
    etag = r.send("get", "GET", TOKENS, as_="alice").headers.get("etag", "")
    r.send("matching", "GET", TOKENS, as_="alice", headers={"If-None-Match": etag})
    r.send("star", "GET", TOKENS, as_="alice", headers={"If-None-Match": "*"})
    r.send("other", "GET", TOKENS, as_="alice", headers={"If-None-Match": 'W/"1-x"'})


# -- login, current user, documents ------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#login, #sessions, #user-keys, #admin-whoami, #contract
# docs/observations/unleash-8.2.0.md#http-details
@scenario("login-good")
def login_good(r: Run) -> None:
    """Recorded when the session logged in the fresh user (login is limited to 10/min)."""
    for step, observation in r.target.session_records.items():
        r.record(step, observation)


@scenario("login-bad-password")
def login_bad_password(r: Run) -> None:
    bob = r.account("bob")
    r.send(
        "login",
        "POST",
        "/auth/simple/login",
        json_body={"username": bob.username, "password": bob.password + "-wrong"},
    )


@scenario("login-missing-password")
def login_missing_password(r: Run) -> None:
    r.send(
        "login", "POST", "/auth/simple/login", json_body={"username": r.account("alice").username}
    )


# -- logout -----------------------------------------------------------------------------------
# docs/observations/unleash-8.2.0.md#logout, and the `logout` section of each release's page.
# A logout ends every session of its user: only `leaving` is logged out, never a user whose
# session another scenario or the clean-up needs. Each login is limited (10/min): few are made.
ME = "/api/admin/user"


def _leaving_session(r: Run) -> dict[str, str]:
    """A new session of the leaving user (its login is no step: login-good compares one)."""
    account = r.account("leaving")
    login = r.target.request(
        "POST", LOGIN, json={"username": account.username, "password": account.password}
    )
    if login.status_code != 200:
        raise SetupFailed(f"the leaving user's login: {login.status_code} {login.text[:300]}")
    return {"Cookie": session_cookie(login)}


def _leaving_pat(r: Run, session: dict[str, str]) -> dict[str, str]:
    """A PAT of the leaving user, made with its session. It is then the user's credential, so
    the run's clean-up deletes the PAT with itself once the sessions are gone."""
    created = r.send(
        "setup-create-pat", "POST", TOKENS, headers=session, json_body=pat_body("parity-leaving")
    )
    if created.status_code != 201:
        raise SetupFailed(f"setup-create-pat: {created.status_code} {created.text[:300]}")
    r.account("leaving").pat = created.json()["secret"]
    return {"Authorization": created.json()["secret"]}


@scenario("logout-session-cookie")
def logout_session_cookie(r: Run) -> None:
    """Every session of the user ends, the one sent and another; the PAT and other users'
    sessions stay; the ended cookie no longer logs out."""
    first, second = _leaving_session(r), _leaving_session(r)
    pat = _leaving_pat(r, first)
    r.send("logout", "POST", "/logout", headers=first)
    r.send("same-session-after", "GET", ME, headers=first)
    r.send("other-session-after", "GET", ME, headers=second)
    r.send("pat-after", "GET", ME, headers=pat)
    r.send("other-users-session-after", "GET", ME, as_="fresh")
    r.send("logout-again", "POST", "/logout", headers=first)


@scenario("logout-pat")
def logout_pat(r: Run) -> None:
    """A PAT logs its user out of every session too, and stays valid; the redirect's body is in
    the type Accept asks for (none for a type it does not offer)."""
    session = _leaving_session(r)
    pat = _leaving_pat(r, session)
    r.send("logout", "POST", "/logout", headers=pat)
    r.send("session-after", "GET", ME, headers=session)
    r.send("pat-after", "GET", ME, headers=pat)
    r.send("html", "POST", "/logout", headers={**pat, "Accept": "text/html"})
    r.send("json", "POST", "/logout", headers={**pat, "Accept": "application/json"})


@scenario("logout-cookie-and-admin-token")
def logout_cookie_and_admin_token(r: Run) -> None:
    """The API user has no session to end; a cookie sent beside the admin token has its user's
    ended, whichever of the two the release lets act."""
    session = _leaving_session(r)
    r.send("admin-token", "POST", "/logout", as_="admin")
    r.send("session-after-admin-token", "GET", ME, headers=session)
    r.send("both", "POST", "/logout", as_="admin", headers=session)
    r.send("session-after-both", "GET", ME, headers=session)


@scenario("logout-refused")
def logout_refused(r: Run) -> None:
    """/logout is authenticated as /api is, every method; `Bearer ` is read under /api only;
    /api/admin/logout is no route."""
    r.send("none", "POST", "/logout")
    r.send("get-none", "GET", "/logout")
    r.send("unknown-pat", "POST", "/logout", headers={"Authorization": "user:deadbeef"})
    r.send("bearer-pat", "POST", "/logout", headers={"Authorization": f"Bearer {r.pat('alice')}"})
    r.send("alices-pat-after-bearer", "GET", ME, as_="alice")
    r.send("api-admin-logout-none", "POST", "/api/admin/logout")
    r.send("api-admin-logout", "POST", "/api/admin/logout", as_="admin")


@scenario("logout-other-methods")
def logout_other_methods(r: Run) -> None:
    """POST is its only route: GET is the front end's page, OPTIONS lists POST, PUT is
    Express's 404; the path is routed case-insensitively, with or without a trailing slash."""
    r.send("get", "GET", "/logout", as_="admin")
    r.send("options", "OPTIONS", "/logout", as_="admin")
    r.send("put", "PUT", "/logout", as_="admin")
    r.send("upper-case-slash", "POST", "/LOGOUT/", as_="admin")


def _openapi_view(body: Any) -> Any:
    """Only availability is compared here; the document itself is test_spec_drift's."""
    if not isinstance(body, dict):
        return body
    paths = body.get("paths", {})
    return {
        "openapi": body.get("openapi"),
        "has-pat-paths": "/api/admin/user/tokens" in paths
        and "/api/admin/user/tokens/{id}" in paths,
    }


@scenario("openapi-document-without-auth")
def openapi_document(r: Run) -> None:
    r.send("get", "GET", "/docs/openapi.json", view=_openapi_view)


@scenario("compression-of-large-bodies")
def compression(r: Run) -> None:
    """Express's compression(): a body of 1 kB or more is gzipped for a client that accepts it."""
    r.send(
        "gzip", "GET", "/docs/openapi.json", headers={"Accept-Encoding": "gzip"}, view=_openapi_view
    )
    r.send("small-body", "GET", TOKENS, as_="alice", headers={"Accept-Encoding": "gzip"})


USER_ADMIN = "/api/admin/user-admin"
# A password the OWASP test passes (docs/observations/unleash-8.2.0.md#user-admin).
STRONG_PASSWORD = "Long-enough-Pw-1!"
NO_SUCH_USER = "2147483647"


@scenario("user-admin-read")
def user_admin_read(r: Run) -> None:
    alice = r.account("alice").user_id
    r.send("get", "GET", f"{USER_ADMIN}/{alice}", as_="admin")
    r.send("get-unknown", "GET", f"{USER_ADMIN}/{NO_SUCH_USER}", as_="admin")
    r.send("get-letters", "GET", f"{USER_ADMIN}/abc", as_="admin")
    r.send("viewer-get", "GET", f"{USER_ADMIN}/{alice}", as_="alice")
    r.send("viewer-put", "PUT", f"{USER_ADMIN}/{alice}", as_="alice", json_body={"name": "x"})


@scenario("user-admin-id-above-int4")
def user_admin_id_above_int4(r: Run) -> None:
    r.send("get", "GET", f"{USER_ADMIN}/99999999999", as_="admin")


@scenario("user-admin-validate-password")
def user_admin_validate_password(r: Run) -> None:
    """Any user may ask (a Viewer here); 8.x counts it against the create-user limit."""
    for step, password in (
        ("empty", ""),
        ("short", "short"),
        ("repeated", "Aaaaaaaa1!"),
        ("strong", STRONG_PASSWORD),
    ):
        r.send(
            step,
            "POST",
            f"{USER_ADMIN}/validate-password",
            as_="alice",
            json_body={"password": password},
        )
    r.send("no-password", "POST", f"{USER_ADMIN}/validate-password", as_="alice", json_body={})


@scenario("user-admin-change-password-unknown-user")
def user_admin_change_password_unknown_user(r: Run) -> None:
    r.send(
        "change",
        "POST",
        f"{USER_ADMIN}/{NO_SUCH_USER}/change-password",
        as_="admin",
        json_body={"password": STRONG_PASSWORD},
    )


@scenario("root-role-permissions")
def root_role_permissions(r: Run) -> None:
    """`GET /api/admin/user` lists the permissions of the user's root role as it is at each
    request (docs/observations/unleash-8.2.0.md#root-role-permissions): the leaving user's
    session, made Editor, then Viewer again."""
    session = _leaving_session(r)
    leaving = r.account("leaving").user_id
    for role in ("Editor", "Viewer"):
        path = f"{USER_ADMIN}/{leaving}"
        r.send(f"make-{role}", "PUT", path, as_="admin", json_body={"rootRole": role})
        r.send(f"as-{role}", "GET", ME, headers=session)


def _by_name(users: Any) -> Any:
    """Users in a stable order. Unleash sends its table's order: on a fresh table a written row
    goes last (the mock's rule), but once PostgreSQL reuses the space of old rows an update may
    land anywhere, so a long run cannot compare it."""
    if not isinstance(users, list):
        return users
    return sorted(users, key=lambda u: str(u.get("username") or u.get("email")))


def _parity_users(prefix: str) -> Callable[[Any], Any]:
    """The access list's entries of this run's users (the real server holds others too)."""

    def view(body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("users"), list):
            return body
        ours = [u for u in body["users"] if str(u.get("username", "")).startswith(prefix)]
        return {**body, "users": _by_name(ours)}

    return view


@scenario("user-admin-search-and-access")
def user_admin_search_and_access(r: Run) -> None:
    """Any user may search and list users (docs/observations/unleash-8.2.0.md#user-search)."""
    prefix = r.account("alice").username.rsplit("-", 1)[0]  # this run's users: parity-<run>
    for step, q in (
        ("prefix", prefix),
        ("inside-a-name", prefix[3:] + "-b"),
        ("upper-case", prefix.upper()),
        ("wildcard", prefix[:6] + "_" + prefix[7:]),
        ("one-character", "p"),
        ("system-users", "unleash_"),
    ):
        path = f"{USER_ADMIN}/search?q={quote(q)}"
        r.send(f"search-{step}", "GET", path, as_="alice", view=_by_name)
    r.send("search-no-q", "GET", f"{USER_ADMIN}/search", as_="alice")
    r.send("search-repeated-q", "GET", f"{USER_ADMIN}/search?q=ab&q=cd", as_="admin")
    r.send("access", "GET", f"{USER_ADMIN}/access", as_="bob", view=_parity_users(prefix))


@scenario("user-admin-too-long")
def user_admin_too_long(r: Run) -> None:
    """A name beyond the users table's varchar(255); one of 255 is stored. The update sets the
    role first (here: unchanged)."""
    alice = r.account("alice")
    path = f"{USER_ADMIN}/{alice.user_id}"
    r.send("update-256", "PUT", path, as_="admin", json_body={"name": "n" * 256})
    r.send("update-255", "PUT", path, as_="admin", json_body={"name": "n" * 255})
    r.send("restore", "PUT", path, as_="admin", json_body={"name": alice.username})
    r.send(
        "create-256",
        "POST",
        USER_ADMIN,
        as_="admin",
        json_body={"email": "too-long@example.com", "name": "n" * 256, "rootRole": "Viewer"},
    )
