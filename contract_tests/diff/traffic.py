"""What diff sends: items of one or more requests, generated from the seed with hypothesis.

An item is one of four families:
- `http`: one request to one route, varied along one axis (two, now and then): method, path
  spelling and encoding, credentials and their spelling, Content-Type, Accept-Encoding,
  protocol version / Host / absolute-form, body and its encoding, extra headers;
- `sequence`: 2-8 operations of the contract and the account endpoints (PATs, login, logout,
  current user, ui-config, user-admin on the run's own users), from a model of the state;
- `burst`: requests sent at once (creates racing past the 10-PAT limit or a description,
  deletes of one PAT, reads), between sequential steps;
- `limiter`: the login limiter exhausted, then probed with other methods, paths and cases.

Requests are templates (`wire.Request`): credentials, ids and the host are placeholders that
each side fills in with its own values, so the same item runs on both. Every item is one
top-level draw (`draw.Draws`), so it is the same for the same seed whatever the answers.

Nothing here may harm the target beyond what `unleash-pat check` sends: no JSON nested deeper
than a few levels (a deep body kills 6.10.1's process), no lone surrogate anywhere (a lone
surrogate password kills 5.x and 6.x), bodies under the 100 kB limit, user-admin calls only on
the run's own users, no DELETE of a user but the run's deletable one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from contract_tests.diff.wire import Request

PATS = "/api/admin/user/tokens"
LOGIN = "/auth/simple/login"
LOGOUT = "/logout"
USER = "/api/admin/user"
UI_CONFIG = "/api/admin/ui-config"
USER_ADMIN = "/api/admin/user-admin"
HEALTH = "/health"
JSON_TYPE = "application/json"

# The run's users, by the label their placeholders carry. CAROL is the one sequences may
# delete (the run then creates her again), change the password or role of.
USERS = ("ALICE", "BOB", "CAROL")
DELETABLE = "CAROL"
FAR = "2099-01-01T00:00:00.000Z"
MAX_BODY = 90_000  # under express.json's 100 kB limit, with room for the JSON around it


def ph(name: str) -> str:
    return f"${{{name}}}"


@dataclass(frozen=True)
class Step:
    """One request and what to learn from its answers (each side learns its own value):
    `learn` maps a placeholder to "secret" or "id" (of the PAT a 201 created), "session" (the
    session cookie a login set) or "user-id" (of the user a 201 created). Consecutive steps
    with the same non-zero `burst` are sent at once."""

    request: Request
    operation: str
    learn: tuple[tuple[str, str], ...] = ()
    burst: int = 0

    @property
    def login(self) -> bool:
        """Whether Unleash's login limiter may count it: a request to the login route, however
        it is spelt or sent."""
        return LOGIN in self.operation.lower()

    @property
    def user_admin_post(self) -> bool:
        """Whether Unleash's create-user limit may count it (8.x counts every POST below
        /api/admin/user-admin; older releases the creations alone)."""
        return self.request.method == "POST" and self.request.target.startswith(USER_ADMIN)


@dataclass(frozen=True)
class Item:
    family: str
    variation: str
    steps: tuple[Step, ...]
    # Users whose account the item may change (user-admin PUT) or whose password: the run
    # restores them afterwards.
    changes: frozenset[str] = frozenset()
    passwords: frozenset[str] = frozenset()
    # An http item's request before it was varied, labelled with what was drawn in it: when
    # it differs alike, the difference is the route's, not the variation's.
    usual: Step | None = None

    @property
    def logins(self) -> int:
        return sum(step.login for step in self.steps)

    @property
    def user_admin_posts(self) -> int:
        return sum(step.user_admin_post for step in self.steps)

    def without(self, indexes: set[int]) -> Item:
        """The item without the steps at `indexes`, and without every later step that uses a
        placeholder one of them would have learnt."""
        lost = {name for i in indexes for name, _ in self.steps[i].learn}
        kept = []
        for i, step in enumerate(self.steps):
            if i in indexes or step.request.names() & lost:
                lost |= {name for name, _ in step.learn}
                continue
            kept.append(step)
        return replace(self, steps=tuple(kept))


@dataclass
class Allowance:
    """What the items still to come may do, counted as they are generated: deleting the
    deletable user and creating users cost user creations on the real server (20 a minute)."""

    deletions: int = 1
    creations: int = 2
    limiter_probes: int = 1


def request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: Any = None,
    *,
    content_type: str | None = JSON_TYPE,
) -> Request:
    """A well-formed HTTP/1.1 request: Host first, then `headers`, then a Content-Type for a
    body. `body` is bytes as they are, anything else compact JSON."""
    all_headers = [("Host", ph("HOST")), *(headers or [])]
    raw = b""
    if body is not None:
        if isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        if content_type:
            all_headers.append(("Content-Type", content_type))
    return Request(method, target, headers=tuple(all_headers), body=raw)


def pat_auth(user: str) -> list[tuple[str, str]]:
    return [("Authorization", ph(f"PAT_{user}"))]


def admin_auth() -> list[tuple[str, str]]:
    return [("Authorization", ph("ADMIN_TOKEN"))]


def login_body(user: str, password: str | None = None) -> dict[str, str]:
    return {"username": ph(f"USERNAME_{user}"), "password": password or ph(f"PASSWORD_{user}")}


# -- values ------------------------------------------------------------------------------------
# Text without surrogates (hypothesis' default alphabet has none) and without `$`, so that no
# drawn text reads as a placeholder.
_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="${}")
descriptions = st.one_of(
    st.sampled_from(["ci", "CI", " ci", "ci ", "deploy key", "é", "e\u0301", "a" * 200]),
    st.text(_TEXT, min_size=1, max_size=24),
    st.just(""),
    st.integers(1, 20_000).map(lambda n: "d" * n),
)
expiries = st.sampled_from(
    [
        *[FAR] * 4,  # mostly a PAT that is made, for the steps after it
        "2030-06-30T12:00:00Z",
        "2030-06-30T12:00:00.123456Z",
        "2030-06-30T14:00:00+02:00",
        "2030-06-30",
        "2020-01-01T00:00:00.000Z",
        "2031-01-01T12:00:00+16:00",
        "tomorrow",
        "",
    ]
)


@st.composite
def create_bodies(draw: Any, description: str | None = None) -> Any:
    """A create body: mostly valid, sometimes missing a member, with a member of another type,
    or an extra member."""
    body: dict[str, Any] = {
        "description": description if description is not None else draw(descriptions),
        "expiresAt": draw(expiries),
    }
    shape = draw(st.sampled_from(["valid"] * 6 + ["no-expiry", "number", "null", "extra"]))
    if shape == "no-expiry":
        del body["expiresAt"]
    elif shape == "number":
        body["description"] = draw(st.integers(-5, 10**6))
    elif shape == "null":
        body[draw(st.sampled_from(["description", "expiresAt"]))] = None
    elif shape == "extra":
        body[draw(st.sampled_from(["secret", "userId", "id", "x"]))] = draw(
            st.sampled_from(["user:0", 1, True, "x"])
        )
    return body


# -- credentials in every position ------------------------------------------------------------
def _spellings(value: str) -> st.SearchStrategy[tuple[str, list[tuple[str, str]]]]:
    """`Authorization` carrying `value` (a PAT or admin token placeholder), spelt many ways."""
    return st.sampled_from(
        [
            ("raw", [("Authorization", value)]),
            ("Bearer", [("Authorization", f"Bearer {value}")]),
            ("bearer", [("Authorization", f"bearer {value}")]),
            ("BEARER", [("Authorization", f"BEARER {value}")]),
            ("Bearer-two-spaces", [("Authorization", f"Bearer  {value}")]),
            ("Bearer-tab", [("Authorization", f"Bearer\t{value}")]),
            ("spaces-around", [("Authorization", f"  {value}  ")]),
            ("header-lowercase", [("authorization", value)]),
            ("header-uppercase", [("AUTHORIZATION", value)]),
            ("Basic", [("Authorization", f"Basic {value}")]),
            ("Token", [("Authorization", f"Token {value}")]),
            ("twice", [("Authorization", value), ("Authorization", value)]),
            ("bad-then-good", [("Authorization", "user:0"), ("Authorization", value)]),
            ("good-then-bad", [("Authorization", value), ("Authorization", "user:0")]),
            ("X-Api-Key", [("X-Api-Key", value)]),
        ]
    )


def _cookies(session: str) -> st.SearchStrategy[tuple[str, list[tuple[str, str]]]]:
    cookie = f"unleash-session={session}"
    return st.sampled_from(
        [
            ("cookie", [("Cookie", cookie)]),
            ("cookie-after-others", [("Cookie", f"a=1; {cookie}")]),
            ("cookie-quoted", [("Cookie", f'unleash-session="{session}"')]),
            ("cookie-spaces", [("Cookie", f"unleash-session = {session} ")]),
            ("cookie-twice", [("Cookie", f"{cookie}; unleash-session=x")]),
            ("cookie-second-wins?", [("Cookie", f"unleash-session=x; {cookie}")]),
            ("cookie-headers-two", [("Cookie", "a=1"), ("Cookie", cookie)]),
            ("cookie-name-case", [("Cookie", f"Unleash-Session={session}")]),
            ("cookie-unsigned", [("Cookie", "unleash-session=abc")]),
        ]
    )


@st.composite
def credentials(
    draw: Any, user: str, *, session: str | None = None, avoid: str | None = None
) -> tuple[str, list]:
    """`user`'s credentials in one of their positions: their PAT spelt some way, their
    session cookie, both, none, or someone else's (never `avoid`'s: the owner of the PAT a
    DELETE names, so that no item deletes the PAT the run needs)."""
    kinds = ["pat"] * 4 + ["none", "admin", "pat+cookie", "other-user"]
    kinds += ["cookie"] * 3 if session else []
    kind = draw(st.sampled_from(kinds))
    pat = ph(f"PAT_{user}")
    if kind == "pat":
        label, headers = draw(_spellings(pat))
        return f"pat:{label}", headers
    if kind == "cookie" and session:
        label, headers = draw(_cookies(session))
        return label, headers
    if kind == "pat+cookie" and session:
        return "pat+cookie", [("Authorization", pat), ("Cookie", f"unleash-session={session}")]
    if kind == "admin":
        label, headers = draw(_spellings(ph("ADMIN_TOKEN")))
        return f"admin:{label}", headers
    if kind == "other-user":
        other = next(u for u in USERS if u not in (user, avoid))
        return "other-user", pat_auth(other)
    return "none", []


# -- http: one request, one axis varied ------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """A route's usual request: `build(draw)` returns it and a label for what was drawn in it
    beyond the usual ("" when nothing was)."""

    name: str
    method: str
    target: str
    build: Callable[[Any], tuple[str, Request]]
    # Whether a method that may write (POST, PUT, PATCH, DELETE) may be sent to it instead:
    # not to user-admin (a DELETE there deletes the user) nor to routes where one could
    # change the server's settings.
    writable: bool = True


def _pats_get(draw: Any) -> tuple[str, Request]:
    return "", request("GET", PATS, pat_auth("ALICE"))


def _pats_post(draw: Any) -> tuple[str, Request]:
    body = draw(create_bodies())
    return _body_label(body), request("POST", PATS, pat_auth("ALICE"), body)


def _body_label(body: dict[str, Any]) -> str:
    """What is unusual in a create body: a description or expiry other than plain text and
    a far future, a member missing, null, of another type or extra."""
    labels = []
    description = body.get("description", "<missing>")
    if not isinstance(description, str) or not description.isalnum():
        labels.append(f"description:{_kind(description)}")
    expiry = body.get("expiresAt", "<missing>")
    if expiry != FAR:
        labels.append(f"expiresAt:{expiry if isinstance(expiry, str) else _kind(expiry)}")
    labels += [f"extra:{k}" for k in body if k not in ("description", "expiresAt")]
    return " ".join(labels)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        if not value:
            return "empty"
        if len(value) > 100:
            return "long"
        return "text" if value.isprintable() else "unprintable"
    return "null" if value is None else type(value).__name__


def _pat_delete(draw: Any) -> tuple[str, Request]:
    # Never the caller's own bootstrap PAT: the run needs it. Another user's id, ids no PAT has,
    # ids JavaScript's Number() reads oddly.
    target = draw(
        st.sampled_from(
            [ph("PAT_ID_BOB"), "2147483000", "0", "-1", "1e3", "0x10", "abc", "2147483648"]
        )
    )
    return f"id:{target}", request("DELETE", f"{PATS}/{target}", pat_auth("ALICE"))


def _login(draw: Any) -> tuple[str, Request]:
    # A wrong password or an unknown user mostly: a right one makes a session, which is fine too.
    how = draw(st.sampled_from(["right", "wrong", "empty", "unknown-user"]))
    password = {"right": None, "wrong": "wrong-Password-1!", "empty": ""}.get(how)
    body: dict[str, Any] = login_body("CAROL", password)
    if how == "unknown-user":
        body = {"username": ph("RUN_PREFIX") + "nobody", "password": "wrong-Password-1!"}
    return f"login:{how}", request("POST", LOGIN, [], body)


def _logout(draw: Any) -> tuple[str, Request]:
    return "", request("POST", LOGOUT, [("Cookie", "unleash-session=" + ph("SESSION_BOB"))])


def _user(draw: Any) -> tuple[str, Request]:
    return "", request("GET", USER, pat_auth("ALICE"))


def _ui_config(draw: Any) -> tuple[str, Request]:
    return "", request("GET", UI_CONFIG, pat_auth("BOB"))


def _user_admin_get(draw: Any) -> tuple[str, Request]:
    user = draw(st.sampled_from(USERS))
    return "", request("GET", f"{USER_ADMIN}/{ph(f'USER_ID_{user}')}", admin_auth())


def _validate_password(draw: Any) -> tuple[str, Request]:
    kind, password = draw(
        st.sampled_from(
            [
                ("short", "short"),
                ("valid", "Long-enough-Pw-1!"),
                ("no-upper-digit-symbol", "aaaaaaaaaaaaaaaa"),
                ("empty", ""),
            ]
        )
    )
    body = {"password": password}
    route = f"{USER_ADMIN}/validate-password"
    return f"password:{kind}", request("POST", route, admin_auth(), body)


def _health(draw: Any) -> tuple[str, Request]:
    return "", request("GET", HEALTH)


def _unknown(draw: Any) -> tuple[str, Request]:
    target = draw(
        st.sampled_from(["/api/admin/nothing", "/api/nothing", "/nothing", "/api", "/api/admin"])
    )
    return f"path:{target}", request("GET", target, pat_auth("ALICE"))


ROUTES = (
    Route("pats", "GET", PATS, _pats_get),
    Route("pats", "POST", PATS, _pats_post),
    Route("pat", "DELETE", f"{PATS}/{{id}}", _pat_delete),
    Route("login", "POST", LOGIN, _login),
    Route("logout", "POST", LOGOUT, _logout),
    Route("user", "GET", USER, _user, writable=False),
    Route("ui-config", "GET", UI_CONFIG, _ui_config, writable=False),
    Route("user-admin", "GET", f"{USER_ADMIN}/{{id}}", _user_admin_get, writable=False),
    Route(
        "validate-password",
        "POST",
        f"{USER_ADMIN}/validate-password",
        _validate_password,
        writable=False,
    ),
    Route("health", "GET", HEALTH, _health),
    Route("unknown", "GET", "/api/admin/nothing", _unknown),
)
_WEIGHTED_ROUTES = [r for r in ROUTES for _ in range(3 if r.target.startswith(PATS) else 1)]


def _split(target: str) -> tuple[str, str]:
    path, sep, query = target.partition("?")
    return path, sep + query


def _letters(path: str) -> list[int]:
    """Positions of letters outside placeholders."""
    out, depth = [], 0
    for i, c in enumerate(path):
        if c == "$" and path[i + 1 : i + 2] == "{":
            depth = 1
        elif c == "}" and depth:
            depth = 0
        elif not depth and c.isalpha():
            out.append(i)
    return out


@st.composite
def path_spelling(draw: Any, req: Request) -> tuple[str, Request]:
    path, query = _split(req.target)
    letters = _letters(path)
    slashes = [i for i, c in enumerate(path) if c == "/" and i > 0]
    kind = draw(
        st.sampled_from(
            [
                "upper",
                "upper-segment",
                "trailing-slash",
                "double-slash-start",
                "double-slash-inside",
                "%2F",
                "%2f",
                "%XX-letter",
                "%xx-letter",
                "%zz",
                "%-at-end",
                "%2-short",
                "dot-segment",
                "dotdot-segment",
                "%2e%2e-segment",
                "semicolon",
                "query-empty",
                "query",
                "query-malformed",
                "fragment",
                "utf8-byte",
                "backslash",
                "+",
            ]
        )
    )
    if kind == "upper":
        path = "".join(c.upper() if i in letters else c for i, c in enumerate(path))
    elif kind == "upper-segment" and letters:
        at = draw(st.sampled_from(letters))
        path = path[:at] + path[at].upper() + path[at + 1 :]
    elif kind == "trailing-slash":
        path += "/"
    elif kind == "double-slash-start":
        path = "/" + path
    elif kind == "double-slash-inside" and slashes:
        at = draw(st.sampled_from(slashes))
        path = path[:at] + "/" + path[at:]
    elif kind in ("%2F", "%2f") and slashes:
        at = draw(st.sampled_from(slashes))
        path = path[:at] + kind + path[at + 1 :]
    elif kind in ("%XX-letter", "%xx-letter") and letters:
        at = draw(st.sampled_from(letters))
        code = f"%{ord(path[at]):02X}" if kind == "%XX-letter" else f"%{ord(path[at]):02x}"
        path = path[:at] + code + path[at + 1 :]
    elif kind == "%zz":
        path += "%zz"
    elif kind == "%-at-end":
        path += "%"
    elif kind == "%2-short":
        path += "%2"
    elif kind == "dot-segment" and slashes:
        at = draw(st.sampled_from(slashes))
        path = path[:at] + "/." + path[at:]
    elif kind == "dotdot-segment" and slashes:
        at = draw(st.sampled_from(slashes))
        path = path[:at] + "/x/.." + path[at:]
    elif kind == "%2e%2e-segment" and slashes:
        at = draw(st.sampled_from(slashes))
        path = path[:at] + "/x/%2e%2e" + path[at:]
    elif kind == "semicolon":
        path += ";x=1"
    elif kind == "query-empty":
        query = query or "?"
    elif kind == "query":
        query = (query + "&" if query else "?") + "x=1"
    elif kind == "query-malformed":
        query = (query + "&" if query else "?") + "x=%zz"
    elif kind == "fragment":
        path += "#x"
    elif kind == "utf8-byte":
        path += "/\u00c3\u00a9"  # é as UTF-8, sent as its two raw bytes
    elif kind == "backslash":
        path = path.replace("/", "\\", 2).replace("\\", "/", 1)
    elif kind == "+":
        path += "+"
    return f"path:{kind}", replace(req, target=path + query)


METHODS = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "PROPFIND",
    "FOO",
    "get",
    "QUERY",
]


WRITING = ("POST", "PUT", "PATCH", "DELETE")


@st.composite
def method_variant(draw: Any, req: Request, *, writable: bool = True) -> tuple[str, Request]:
    allowed = [m for m in METHODS if m != req.method and (writable or m not in WRITING)]
    method = draw(st.sampled_from(allowed))
    return f"method:{method}", replace(req, method=method)


def _replace_auth(req: Request, headers: list[tuple[str, str]]) -> Request:
    kept = [(n, v) for n, v in req.headers if n.lower() not in ("authorization", "cookie")]
    return req.with_headers(kept[:1] + headers + kept[1:])


@st.composite
def auth_variant(draw: Any, req: Request, *, user: str = "ALICE") -> tuple[str, Request]:
    owner = next((u for u in USERS if ph(f"PAT_ID_{u}") in req.target), None)
    avoid = owner or ("ALICE" if user != "ALICE" else None)
    label, headers = draw(credentials(user, session=ph(f"SESSION_{user}"), avoid=avoid))
    return f"auth:{label}", _replace_auth(req, headers)


CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "application/JSON",
    "application/json; charset=latin1",
    "application/json; charset=utf-16",
    "application/json;",
    "application/json; boundary=x",
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/merge-patch+json",
    "application/vnd.api+json",
    "*/*",
    "application/*",
    "",
    None,
]


@st.composite
def content_type_variant(draw: Any, req: Request) -> tuple[str, Request]:
    value = draw(st.sampled_from(CONTENT_TYPES))
    headers = [(n, v) for n, v in req.headers if n.lower() != "content-type"]
    body = req.body or b'{"description":"ct","expiresAt":"2099-01-01T00:00:00.000Z"}'
    if value == "application/x-www-form-urlencoded" and req.target == LOGIN:
        body = b"username=" + ph("USERNAME_CAROL").encode() + b"&password=wrong"
    if value is not None:
        headers.append(("Content-Type", value))
    return f"content-type:{value!r}", replace(req.with_headers(headers), body=body)


ACCEPT_ENCODINGS = [
    "gzip",
    "br",
    "br, gzip",
    "gzip;q=0",
    "gzip;q=0, identity",
    "deflate",
    "identity",
    "*",
    "*;q=0",
    "x-gzip",
    "GZIP",
    "compress",
    "gzip, deflate, br, zstd",
]


@st.composite
def accept_encoding_variant(draw: Any, req: Request) -> tuple[str, Request]:
    value = draw(st.sampled_from(ACCEPT_ENCODINGS))
    return f"accept-encoding:{value}", req.with_headers([*req.headers, ("Accept-Encoding", value)])


@st.composite
def protocol_variant(draw: Any, req: Request) -> tuple[str, Request]:
    kind = draw(
        st.sampled_from(
            [
                "HTTP/1.0",
                "HTTP/1.0+Host",
                "HTTP/1.0+keep-alive",
                "no-Host",
                "empty-Host",
                "two-Hosts",
                "absolute-form",
                "absolute-form-other-host",
                "Connection:close",
                "HTTP/1.2",
                "HTTP/2.0",
                "lf-only",
            ]
        )
    )
    no_host = [(n, v) for n, v in req.headers if n.lower() != "host"]
    if kind == "HTTP/1.0":
        req = replace(req.with_headers(no_host), version="HTTP/1.0")
    elif kind == "HTTP/1.0+Host":
        req = replace(req, version="HTTP/1.0")
    elif kind == "HTTP/1.0+keep-alive":
        req = replace(
            req.with_headers([*req.headers, ("Connection", "keep-alive")]), version="HTTP/1.0"
        )
    elif kind == "no-Host":
        req = req.with_headers(no_host)
    elif kind == "empty-Host":
        req = req.with_headers([("Host", ""), *no_host])
    elif kind == "two-Hosts":
        req = req.with_headers([*req.headers, ("Host", "example.com")])
    elif kind == "absolute-form":
        req = replace(req, target=f"http://{ph('HOST')}{req.target}")
    elif kind == "absolute-form-other-host":
        req = replace(req, target=f"http://example.com{req.target}")
    elif kind == "Connection:close":
        req = req.with_headers([*req.headers, ("Connection", "close")])
    elif kind in ("HTTP/1.2", "HTTP/2.0"):
        req = replace(req, version=kind)
    elif kind == "lf-only":
        req = replace(req, line_end="\n")
    return f"protocol:{kind}", req


@st.composite
def body_variant(draw: Any, req: Request) -> tuple[str, Request]:
    kind = draw(
        st.sampled_from(
            [
                "malformed-brace",
                "malformed-trailing-comma",
                "malformed-single-quotes",
                "empty",
                "null",
                "array",
                "string",
                "number",
                "big",
                "gzip",
                "deflate",
                "content-encoding-br",
                "content-encoding-identity",
                "gzip-not-compressed",
                "chunked",
                "bom",
                "invalid-utf8",
                "nested",
                "duplicate-keys",
            ]
        )
    )
    body = req.body or b'{"description":"b","expiresAt":"2099-01-01T00:00:00.000Z"}'
    headers = list(req.headers)
    if not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", JSON_TYPE))
    encoding, length = None, "auto"
    if kind == "malformed-brace":
        body = b'{"description": "x"'
    elif kind == "malformed-trailing-comma":
        body = b'{"description":"x",}'
    elif kind == "malformed-single-quotes":
        body = b"{'description':'x'}"
    elif kind == "empty":
        body = b""
    elif kind == "null":
        body = b"null"
    elif kind == "array":
        body = b"[]"
    elif kind == "string":
        body = b'"x"'
    elif kind == "number":
        body = b"1"
    elif kind == "big":
        size = draw(st.integers(20_000, MAX_BODY))
        body = json.dumps({"description": "b" * size, "expiresAt": FAR}).encode()
    elif kind in ("gzip", "deflate"):
        encoding = kind
        headers.append(("Content-Encoding", kind))
    elif kind == "content-encoding-br":
        headers.append(("Content-Encoding", "br"))
    elif kind == "content-encoding-identity":
        headers.append(("Content-Encoding", "identity"))
    elif kind == "gzip-not-compressed":
        headers.append(("Content-Encoding", "gzip"))
    elif kind == "chunked":
        length = "chunked"
    elif kind == "bom":
        body = b"\xef\xbb\xbf" + body
    elif kind == "invalid-utf8":
        body = b'{"description":"\xff\xfe","expiresAt":"2099-01-01T00:00:00.000Z"}'
    elif kind == "nested":
        # A few levels only: a deep body kills Unleash 6.10.1's process.
        body = b'{"description":{"a":[[{"b":1}]]},"expiresAt":"2099-01-01T00:00:00.000Z"}'
    elif kind == "duplicate-keys":
        body = b'{"description":"a","description":"b","expiresAt":"2099-01-01T00:00:00.000Z"}'
    return f"body:{kind}", replace(
        req, headers=tuple(headers), body=body, body_encoding=encoding, length=length
    )


@st.composite
def extra_header_variant(draw: Any, req: Request, *, writable: bool = True) -> tuple[str, Request]:
    label, header = draw(
        st.sampled_from(
            [
                ("X-Forwarded-For", ("X-Forwarded-For", "203.0.113.7")),
                ("X-Forwarded-For-list", ("X-Forwarded-For", "203.0.113.7, 10.0.0.1")),
                ("Origin", ("Origin", "http://example.com")),
                ("Accept-html", ("Accept", "text/html")),
                ("Accept-json", ("Accept", "application/json")),
                ("Accept-xml", ("Accept", "application/xml")),
                ("If-None-Match-*", ("If-None-Match", "*")),
                ("If-None-Match-weak", ("If-None-Match", 'W/"1-abc"')),
                ("If-Modified-Since", ("If-Modified-Since", "Sun, 01 Jan 2090 00:00:00 GMT")),
                ("Range", ("Range", "bytes=0-9")),
                ("Expect-100", ("Expect", "100-continue")),
                ("Expect-other", ("Expect", "something")),
                ("X-HTTP-Method-Override", ("X-HTTP-Method-Override", "DELETE")),
                ("Upgrade-h2c", ("Upgrade", "h2c")),
                ("Cookie-unrelated", ("Cookie", "a=b")),
                ("Access-Control-Request-Method", ("Access-Control-Request-Method", "POST")),
                ("Content-Length-on-GET", ("Content-Length", "0")),
                ("TE-trailers", ("TE", "trailers")),
            ]
        ).filter(lambda pair: writable or pair[0] != "X-HTTP-Method-Override")
    )
    return f"header:{label}", req.with_headers([*req.headers, header])


AXES = {
    "method": method_variant,
    "path": path_spelling,
    "auth": auth_variant,
    "accept-encoding": accept_encoding_variant,
    "protocol": protocol_variant,
    "header": extra_header_variant,
    "content-type": content_type_variant,
    "body": body_variant,
}
_BODY_AXES = ("content-type", "body")


@st.composite
def http_items(draw: Any) -> Item:
    route = draw(st.sampled_from(_WEIGHTED_ROUTES))
    base_label, base = route.build(draw)
    has_body = route.method in ("POST", "PUT", "PATCH")
    axes = [a for a in AXES if has_body or a not in _BODY_AXES]
    count = draw(st.sampled_from([1] * 6 + [2]))
    chosen = draw(st.lists(st.sampled_from(axes), min_size=count, max_size=count, unique=True))
    labels, req = [], base
    for axis in chosen:
        if axis == "method":
            label, req = draw(method_variant(req, writable=route.writable))
        elif axis == "header":
            label, req = draw(extra_header_variant(req, writable=route.writable))
        elif axis == "auth" and route.name == "logout":
            # ALICE's first session serves every other http item, and a logout ends every
            # session of the user its credential names (8.2.0): a logout is BOB's.
            label, req = draw(auth_variant(req, user="BOB"))
        else:
            label, req = draw(AXES[axis](req))
        labels.append(label)
    operation = f"{route.method} {route.target}"
    usual = Step(base, f"{operation} {base_label}".rstrip())
    return Item("http", "+".join(labels), (Step(req, operation),), usual=usual)


# -- sequences: a model of the state, one operation at a time ----------------------------------
@dataclass
class _Model:
    """What a sequence has done so far, symbolically (the same on both sides)."""

    created: list[tuple[int, str, str]] = field(default_factory=list)  # (n, owner, description)
    sessions: dict[str, str] = field(default_factory=dict)  # user -> latest session placeholder
    new_users: list[str] = field(default_factory=list)  # placeholders of created users' ids
    changes: set[str] = field(default_factory=set)
    passwords: set[str] = field(default_factory=set)
    deleted: bool = False  # the deletable user
    count: int = 0

    def next(self) -> int:
        self.count += 1
        return self.count


def _op_create(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    label, headers = draw(credentials(user, session=m.sessions.get(user)))
    same = [d for _, owner, d in m.created if owner == user]
    description = draw(st.sampled_from(same)) if same and draw(st.booleans()) else None
    body = draw(create_bodies(description))
    n = m.next()
    if isinstance(body.get("description"), str):
        m.created.append((n, user, body["description"]))
    learn = ((f"NEW_PAT_{n}", "secret"), (f"NEW_PAT_ID_{n}", "id"))
    return Step(request("POST", PATS, headers, body), f"POST {PATS} [{label}]", learn)


def _op_list(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    label, headers = draw(credentials(user, session=m.sessions.get(user)))
    return Step(request("GET", PATS, headers), f"GET {PATS} [{label}]")


def _op_use_new(draw: Any, m: _Model, allowance: Allowance) -> Step:
    if not m.created:
        return _op_list(draw, m, allowance)
    n, _, _ = draw(st.sampled_from(m.created))
    target = draw(st.sampled_from([PATS, USER, UI_CONFIG]))
    return Step(
        request("GET", target, [("Authorization", ph(f"NEW_PAT_{n}"))]), f"GET {target} [new PAT]"
    )


def _op_delete(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    options = [ph(f"NEW_PAT_ID_{n}") for n, _, _ in m.created]
    options += [ph(f"PAT_ID_{u}") for u in USERS if u != user] + ["2147483000"]
    target = draw(st.sampled_from(options))
    owner = next((u for u in USERS if target == ph(f"PAT_ID_{u}")), None)
    label, headers = draw(credentials(user, session=m.sessions.get(user), avoid=owner))
    return Step(request("DELETE", f"{PATS}/{target}", headers), f"DELETE {PATS}/{{id}} [{label}]")


def _op_login(draw: Any, m: _Model, allowance: Allowance) -> Step:
    if m.sessions:  # one login a sequence: Unleash allows 10 a minute
        return _op_current_user(draw, m, allowance)
    # Never ALICE: http items use her first session, which later logins may end.
    user = draw(st.sampled_from(USERS[1:]))
    how = draw(
        st.sampled_from(["right"] * 3 + ["wrong", "email", "EMAIL", "USERNAME", "password2"])
    )
    username = ph(f"USERNAME_{user}")
    password = ph(f"PASSWORD_{user}")
    if how == "wrong":
        password = "Wrong-password-1!"
    elif how == "email":
        username = ph(f"EMAIL_{user}")
    elif how == "EMAIL":
        username = ph(f"EMAIL_UPPER_{user}")
    elif how == "USERNAME":
        username = ph(f"USERNAME_UPPER_{user}")
    elif how == "password2":
        password = ph(f"PASSWORD2_{user}")
    n = m.next()
    session = f"SESSION_{n}"
    m.sessions[user] = ph(session)
    body = {"username": username, "password": password}
    return Step(request("POST", LOGIN, [], body), f"POST {LOGIN} [{how}]", ((session, "session"),))


def _op_current_user(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    label, headers = draw(credentials(user, session=m.sessions.get(user)))
    return Step(request("GET", USER, headers), f"GET {USER} [{label}]")


def _op_logout(draw: Any, m: _Model, allowance: Allowance) -> Step:
    sessions = sorted(m.sessions.values())
    cookie = draw(st.sampled_from(sessions)) if sessions else ph("SESSION_BOB")
    method = draw(st.sampled_from(["POST", "POST", "GET"]))
    return Step(
        request(method, LOGOUT, [("Cookie", f"unleash-session={cookie}")]), f"{method} {LOGOUT}"
    )


def _op_ui_config(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    label, headers = draw(credentials(user, session=m.sessions.get(user)))
    return Step(request("GET", UI_CONFIG, headers), f"GET {UI_CONFIG} [{label}]")


def _op_admin_get(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    return Step(
        request("GET", f"{USER_ADMIN}/{ph(f'USER_ID_{user}')}", admin_auth()),
        f"GET {USER_ADMIN}/{{id}}",
    )


def _op_admin_update(draw: Any, m: _Model, allowance: Allowance) -> Step:
    user = draw(st.sampled_from(USERS))
    body = draw(
        st.sampled_from(
            [
                {"name": "Renamed"},
                {"rootRole": "Editor"},
                {"rootRole": "Viewer"},
                {"name": "Renamed", "rootRole": "Editor"},
                {"email": ph(f"EMAIL_{user}")},
            ]
        )
    )
    m.changes.add(user)
    return Step(
        request("PUT", f"{USER_ADMIN}/{ph(f'USER_ID_{user}')}", admin_auth(), body),
        f"PUT {USER_ADMIN}/{{id}}",
    )


def _op_change_password(draw: Any, m: _Model, allowance: Allowance) -> Step:
    m.passwords.add(DELETABLE)
    password = draw(st.sampled_from([ph(f"PASSWORD2_{DELETABLE}"), "short"]))
    target = f"{USER_ADMIN}/{ph(f'USER_ID_{DELETABLE}')}/change-password"
    return Step(
        request("POST", target, admin_auth(), {"password": password}),
        f"POST {USER_ADMIN}/{{id}}/change-password",
    )


def _op_delete_user(draw: Any, m: _Model, allowance: Allowance) -> Step:
    if allowance.deletions <= 0 or m.deleted:
        return _op_admin_get(draw, m, allowance)
    allowance.deletions -= 1
    m.deleted = True
    return Step(
        request("DELETE", f"{USER_ADMIN}/{ph(f'USER_ID_{DELETABLE}')}", admin_auth()),
        f"DELETE {USER_ADMIN}/{{id}}",
    )


def _op_create_user(draw: Any, m: _Model, allowance: Allowance) -> Step:
    if allowance.creations <= 0:
        return _op_admin_get(draw, m, allowance)
    allowance.creations -= 1
    n = m.next()
    name = ph("RUN_PREFIX") + f"new{n}"
    body: dict[str, Any] = {
        "username": name,
        "email": f"{name}@example.com",
        "rootRole": draw(st.sampled_from(["Viewer", "Editor"])),
        "sendEmail": False,
    }
    if draw(st.booleans()):
        body["password"] = ph("PASSWORD_ALICE")
    m.new_users.append(f"NEW_USER_ID_{n}")
    return Step(
        request("POST", USER_ADMIN, admin_auth(), body),
        f"POST {USER_ADMIN}",
        ((f"NEW_USER_ID_{n}", "user-id"),),
    )


_OPS: list[tuple[Callable[[Any, _Model, Allowance], Step], int]] = [
    (_op_create, 6),
    (_op_list, 3),
    (_op_use_new, 2),
    (_op_delete, 4),
    (_op_login, 2),
    (_op_current_user, 3),
    (_op_logout, 1),
    (_op_ui_config, 1),
    (_op_admin_get, 1),
    (_op_admin_update, 1),
    (_op_change_password, 1),
    (_op_delete_user, 1),
    (_op_create_user, 1),
]
_OP_CHOICES = [op for op, weight in _OPS for _ in range(weight)]


@st.composite
def sequence_items(draw: Any, allowance: Allowance) -> Item:
    model = _Model()
    length = draw(st.integers(2, 8))
    steps = [draw(st.sampled_from(_OP_CHOICES))(draw, model, allowance) for _ in range(length)]
    return Item(
        "sequence", "sequence", tuple(steps), frozenset(model.changes), frozenset(model.passwords)
    )


# -- bursts -------------------------------------------------------------------------------------
_BURST = 8


def _create(user: str, description: str, burst: int = 0) -> Step:
    body = {"description": description, "expiresAt": FAR}
    return Step(request("POST", PATS, pat_auth(user), body), f"POST {PATS}", burst=burst)


@st.composite
def burst_items(draw: Any) -> Item:
    kind = draw(
        st.sampled_from(["create-at-limit", "create-same-description", "delete-same", "reads"])
    )
    user = draw(st.sampled_from(USERS))
    steps: list[Step] = []
    if kind == "create-at-limit":
        free = draw(st.integers(1, 3))
        steps += [_create(user, f"fill-{i}") for i in range(10 - 1 - free)]
        steps += [_create(user, f"race-{i}", burst=1) for i in range(_BURST)]
    elif kind == "create-same-description":
        steps += [_create(user, "race", burst=1) for _ in range(_BURST)]
    elif kind == "delete-same":
        steps.append(
            Step(
                request(
                    "POST", PATS, pat_auth(user), {"description": "to-delete", "expiresAt": FAR}
                ),
                f"POST {PATS}",
                (("NEW_PAT_ID_1", "id"),),
            )
        )
        target = f"{PATS}/{ph('NEW_PAT_ID_1')}"
        steps += [
            Step(request("DELETE", target, pat_auth(user)), f"DELETE {PATS}/{{id}}", burst=1)
            for _ in range(_BURST)
        ]
    else:
        reads = [PATS, USER, UI_CONFIG]
        steps += [
            Step(request("GET", t, pat_auth(user)), f"GET {t}", burst=1)
            for t in draw(st.lists(st.sampled_from(reads), min_size=_BURST, max_size=_BURST))
        ]
    steps.append(Step(request("GET", PATS, pat_auth(user)), f"GET {PATS}"))
    return Item("burst", f"burst:{kind}", tuple(steps))


# -- the login limiter --------------------------------------------------------------------------
_PROBES = [
    ("POST", LOGIN),
    ("POST", LOGIN + "/"),
    ("POST", LOGIN.upper()),
    ("POST", "/auth/simple/Login"),
    ("POST", LOGIN + "?x=1"),
    ("POST", "/" + LOGIN),
    ("POST", "/auth/simple/%6Cogin"),
    ("GET", LOGIN),
    ("PUT", LOGIN),
    ("OPTIONS", LOGIN),
    ("HEAD", LOGIN),
]


def limiter_item() -> Item:
    """Eleven failed logins of a user nobody has (one over the limit of ten a minute), then
    the limit probed with other methods, paths and cases."""
    body = {"username": ph("RUN_PREFIX") + "nobody", "password": "Wrong-password-1!"}
    steps = [Step(request("POST", LOGIN, [], body), f"POST {LOGIN}") for _ in range(11)]
    steps += [
        Step(
            request(method, target, [], body if method in ("POST", "PUT") else None),
            f"{method} {target}",
        )
        for method, target in _PROBES
    ]
    return Item("limiter", "limiter:login", tuple(steps))


@st.composite
def items(draw: Any, allowance: Allowance) -> Item:
    family = draw(st.sampled_from(["http"] * 11 + ["sequence"] * 7 + ["burst"]))
    if family == "sequence":
        return draw(sequence_items(allowance))
    if family == "burst":
        return draw(burst_items())
    return draw(http_items())
