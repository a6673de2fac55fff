"""The stand-in's plumbing: an ASGI proxy around the stock mock, through which a defect reads and
rewrites whole requests and answers.

Everything here is written against HTTP, not against the mock's modules: a defect sees what a
client or a reverse proxy would see (method, path, headers, bodies), plus the public control API
(`/_unleash-pat/state`) when it must know who owns what. Where the proxy changes an answer's body
it rewrites what Express would have derived from it (ETag, Content-Length, compression, the 304
of a matching If-None-Match), so that a defect changes only what it means to change.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.node.compression import compress, decompress, negotiate

TOKENS = "/api/admin/user/tokens"
LOGIN = "/auth/simple/login"
CURRENT_USER = "/api/admin/user"
UI_CONFIG = "/api/admin/ui-config"
JSON_UTF8 = "application/json; charset=utf-8"
SESSION_COOKIE = "unleash-session"
COMPRESS_THRESHOLD = 1024  # compression's "1kb"
SCHEMA_400 = (
    "Request validation failed: your request body or params contain invalid data. "
    "Refer to the `details` list for more information."
)
SERVICE_400 = "Request validation failed: your request body or params contain invalid data: "
LOGIN_HINT = (
    "You must log in to use Unleash. Your request had no authorization header, so we could not "
    "authorize you. Try logging in at /auth/simple/login"
)
# A create body that passes auth, content type and schema, and fails at the service's first
# rule with no side effect: the way to let a request run Unleash's pipeline up to the service.
REJECTED_CREATE = b'{"description":"","expiresAt":"2099-01-01T00:00:00.000Z"}'
EMPTY_DESCRIPTION = SERVICE_400 + "PAT description cannot be empty."
_BEARER = re.compile(r"^Bearer\s+", re.I)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# -- what Express derives from a body -----------------------------------------------------------
def weak_etag(body: bytes) -> str:
    """The `etag` package's weak tag (Express's default)."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def fresh(if_none_match: str, etag: str) -> bool:
    """The `fresh` package: `*`, or a listed tag equal to ours, W/ ignored."""
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag.removeprefix("W/") in tags


def js_json(value: Any) -> bytes:
    """JSON.stringify: compact, non-ASCII as is, lone surrogates escaped (well-formed)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("a number JSON.stringify cannot write back")
    return value


def parse_json(raw: bytes) -> Any:
    """The body as JSON, or None where it is not (a defect then leaves it alone)."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        return None


def credential(authorization: str | None) -> str:
    """The Authorization value as Unleash's auth middleware reads it: trimmed, `Bearer ` gone."""
    return _BEARER.sub("", (authorization or "").strip(" \t"))


def cookie_value(header: str | None, name: str) -> str | None:
    for pair in (header or "").split(";"):
        key, eq, value = pair.partition("=")
        if eq and key.strip(" \t") == name:
            return value.strip(" \t")
    return None


# -- Unleash's error bodies ------------------------------------------------------------------
def error_body(
    name: str, message: str, *, with_id: bool, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    head: dict[str, Any] = {"id": str(uuid.uuid4())} if with_id else {}
    return head | {"name": name, "message": message, "details": details or [{"message": message}]}


def service_400(text: str) -> dict[str, Any]:
    return error_body(
        "BadDataError", SERVICE_400 + text, with_id=False, details=[{"message": text}]
    )


def schema_400(pointer: str, predicate: str, sent: Any) -> dict[str, Any]:
    text = f"The `{pointer}` property {predicate}. You sent {js_json(sent).decode()}."
    return error_body(
        "BadDataError", SCHEMA_400, with_id=True, details=[{"message": text, "path": pointer}]
    )


def unauthorized() -> dict[str, Any]:
    return error_body("UnauthorizedError", "You must log in to use Unleash.", with_id=True)


def authentication_required() -> dict[str, Any]:
    return error_body("AuthenticationRequired", LOGIN_HINT, with_id=True) | {
        "path": LOGIN,
        "type": "password",
        "defaultHidden": False,
    }


def path_not_found(path: str) -> dict[str, Any]:
    message = f"The path you were looking for ({path}) is not available."
    return error_body("NotFoundError", message, with_id=True)


# -- the exchange ----------------------------------------------------------------------------
class Reply:
    """An answer of the stock mock (or one a defect makes), held whole. `body` is decoded (no
    Content-Encoding). A reply nobody changed is sent exactly as the mock sent it."""

    def __init__(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        original: list[Message] | None = None,
        coding: str | None = None,
    ) -> None:
        self._status = status
        self.headers = list(headers)
        self._body = body
        self.original = original
        self.coding = coding
        self.modified = original is None
        self.body_modified = original is None
        self._json: Any = None

    @classmethod
    def json_reply(
        cls, content: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Reply:
        """`res.json()`: compact JSON with a weak ETag and Vary, as the mock writes it."""
        body = js_json(content)
        raw = [
            (b"content-type", JSON_UTF8.encode()),
            (b"etag", weak_etag(body).encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        return cls(status, raw, body)

    # status and headers
    @property
    def status(self) -> int:
        return self._status

    @status.setter
    def status(self, value: int) -> None:
        self._status, self.modified = value, True

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == key), None)

    def header_names(self) -> set[str]:
        return {k.decode("latin-1").lower() for k, _ in self.headers}

    def set_header(self, name: str, value: str | None) -> None:
        """Replace every header of this name; None removes them."""
        key = name.lower().encode()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != key]
        if value is not None:
            self.headers.append((key, value.encode("latin-1")))
        self.modified = True

    def add_header(self, name: str, value: str) -> None:
        self.headers.append((name.lower().encode(), value.encode("latin-1")))
        self.modified = True

    def take_headers(self, other: Reply, *names: str) -> None:
        """Copy `names` (e.g. RateLimit-*) from another reply, as the real pipeline would have
        added them to this one."""
        for name in names:
            value = other.header(name)
            self.set_header(name, value)

    # body
    @property
    def body(self) -> bytes:
        return self._body

    @body.setter
    def body(self, value: bytes) -> None:
        self._body, self._json = value, None
        self.modified = self.body_modified = True

    def json(self) -> Any:
        if self._json is None:
            self._json = parse_json(self._body)
        return self._json

    def set_json(self, value: Any) -> None:
        self.body = js_json(value)
        self._json = value

    def is_json(self) -> bool:
        return (self.header("content-type") or "").startswith("application/json")

    def error_name(self) -> str | None:
        body = self.json() if self.is_json() else None
        return body.get("name") if isinstance(body, dict) else None

    def replace(self, status: int, content: Any) -> None:
        """Another JSON answer in this one's place, its pipeline headers (RateLimit-*,
        Set-Cookie …) kept."""
        self.status = status
        self.set_json(content)
        self.set_header("content-type", JSON_UTF8)
        if self.header("etag") is None:
            self.set_header("etag", "")  # recomputed on send
        if self.header("vary") is None:
            self.set_header("vary", "Accept-Encoding")

    # sending
    async def send(self, ex: Exchange, send: Send) -> None:
        if_none_match = ex.if_none_match
        etag = self.header("etag")
        if self.body_modified and etag is not None:
            etag = weak_etag(self._body)
            self.set_header("etag", etag)
        is_fresh = (
            if_none_match is not None
            and etag is not None
            and 200 <= self._status < 300
            and fresh(if_none_match, etag)
        )
        if not self.modified and not is_fresh and self.original is not None:
            for message in self.original:
                await send(message)
            return
        headers, body = self.headers, self._body
        if is_fresh:
            # Express's 304: the headers of the 200 without those that describe a body.
            dropped = {b"content-length", b"content-type", b"vary", b"content-encoding"}
            dropped.add(b"transfer-encoding")
            headers = [(k, v) for k, v in headers if k.lower() not in dropped]
            status, body = 304, b""
        else:
            status = self._status
            if self.body_modified:
                headers, body = self._framed(ex)
            elif self.coding:
                body = self.original_body()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def original_body(self) -> bytes:
        assert self.original is not None
        return b"".join(m.get("body", b"") for m in self.original[1:])

    def _framed(self, ex: Exchange) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """Content-Length, or compression with chunked framing, as Express writes them."""
        framing = {b"content-length", b"content-encoding", b"transfer-encoding"}
        headers = [(k, v) for k, v in self.headers if k.lower() not in framing]
        body = self._body
        if self._status < 200 or self._status in (204, 304):
            return headers, b""
        coding = ex.method != "HEAD" and negotiate(ex.header("accept-encoding"))
        kind = self.header("content-type") or ""
        if (
            coding
            and len(body) >= COMPRESS_THRESHOLD
            and kind.startswith(("application/json", "text/"))
            and "no-transform" not in (self.header("cache-control") or "")
        ):
            headers += [(b"content-encoding", coding.encode()), (b"transfer-encoding", b"chunked")]
            return headers, compress(body, coding)
        headers.append((b"content-length", str(len(body)).encode()))
        return headers, body


class Exchange:
    """One request on its way through a defect: readable and rewritable before it is forwarded
    to the stock mock (`forward`), whose whole answer comes back as a Reply."""

    def __init__(self, app: ASGIApp, scope: Scope, receive: Receive) -> None:
        self.app = app
        self.scope: Scope = dict(scope)
        self.scope["headers"] = list(scope.get("headers", []))
        self._receive = receive
        self._body: bytes | None = None
        self.if_none_match: str | None = None
        self.original_headers = Headers(raw=list(self.scope["headers"]))

    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def path(self) -> str:
        return self.scope["path"]

    def set_path(self, path: str) -> None:
        self.scope["path"] = path
        self.scope["raw_path"] = path.encode("utf-8", "surrogateescape")

    def set_method(self, method: str) -> None:
        self.scope["method"] = method

    def header(self, name: str) -> str | None:
        return Headers(raw=self.scope["headers"]).get(name)

    def set_header(self, name: str, value: str | None) -> None:
        key = name.lower().encode()
        headers = [(k, v) for k, v in self.scope["headers"] if k.lower() != key]
        if value is not None:
            headers.append((key, value.encode("latin-1")))
        self.scope["headers"] = headers

    @property
    def credential(self) -> str:
        return credential(self.header("authorization"))

    @property
    def session_cookie(self) -> str | None:
        return cookie_value(self.header("cookie"), SESSION_COOKIE)

    def under(self, prefix: str) -> bool:
        """Whether the path, as Express routes it (any case, doubled or trailing slashes),
        is `prefix` or below it."""
        path = self.routed_path()
        return path == prefix or path.startswith(prefix + "/")

    def routed_path(self) -> str:
        """The path as Express matches it: any case, doubled and trailing slashes ignored."""
        path = re.sub("/{2,}", "/", self.path).lower()
        return path.rstrip("/") or "/" if len(path) > 1 else path

    def is_route(self, method: str, route: str) -> bool:
        """Whether this request is `method route` as Express routes it."""
        path = self.routed_path()
        if route.endswith("/{id}"):
            head, _, tail = path.rpartition("/")
            return self.method == method and head == route[:-5] and tail != ""
        return self.method == method and path == route

    def path_id(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]

    async def body(self) -> bytes:
        if self._body is None:
            chunks, more = [], True
            while more:
                message = await self._receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            self._body = b"".join(chunks)
        return self._body

    async def json_body(self) -> Any:
        if self.header("content-encoding") not in (None, "identity"):
            return None
        return parse_json(await self.body())

    def set_body(self, body: bytes) -> None:
        self._body = body
        if self.header("content-length") is not None:
            self.set_header("content-length", str(len(body)))

    async def set_json_body(self, value: Any) -> None:
        await self.body()
        self.set_body(js_json(value))

    async def forward(self, *, body: bytes | None = None) -> Reply:
        """The stock mock's answer to this request (or to it with `body` instead). A GET's
        If-None-Match is answered here, over the body the client will get."""
        scope = dict(self.scope)
        # The mock answers If-None-Match on these GETs only; the proxy answers it for them, over
        # the body it sends (which a defect may have changed).
        if (
            self.method in ("GET", "HEAD")
            and self.routed_path() in (TOKENS, CURRENT_USER, UI_CONFIG)
            and self.if_none_match is None
        ):
            self.if_none_match = self.header("if-none-match")
        if self.if_none_match is not None:
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"if-none-match"]
        if body is not None:
            await self.body()
            scope["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k not in (b"content-length", b"content-encoding", b"content-type")
            ] + [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        receive = self._replay(body if body is not None else self._body)
        messages: list[Message] = []

        async def collect(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, collect)
        start = messages[0]
        raw = b"".join(m.get("body", b"") for m in messages[1:])
        coding = Headers(raw=start.get("headers", [])).get("content-encoding")
        return Reply(
            start["status"],
            start.get("headers", []),
            decompress(raw, coding),
            original=messages,
            coding=coding,
        )

    async def forward_rejected(self) -> Reply:
        """The request run up to the service with a create body its first rule refuses: the
        answer has every header the pipeline adds, and nothing was created. `is_rejected`
        tells whether it got that far."""
        return await self.forward(body=REJECTED_CREATE)

    def _replay(self, body: bytes | None) -> Receive:
        if body is None:
            return self._receive
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await self._receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def is_rejected(reply: Reply) -> bool:
    """Whether a `forward_rejected` request reached the service (auth and checks passed)."""
    body = reply.json() if reply.status == 400 else None
    return isinstance(body, dict) and body.get("message") == EMPTY_DESCRIPTION


Handler = Callable[[Exchange], Awaitable[Reply]]


class Proxy:
    """A defective Unleash: the stock mock behind `handle`, which by default forwards.

    `options` are fields of mock_server.Options for the stock app (public settings only);
    `install` runs once on the stock app (for the few defects that need internals.py)."""

    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, app: Any) -> None:
        self.app = app  # the stock MockApp: .state.clock and the control API are public
        self.install()

    def install(self) -> None:
        """Hooks into the stock app, through internals.py only."""

    async def handle(self, ex: Exchange) -> Reply:
        return await ex.forward()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ex = Exchange(self.app, scope, receive)
        reply = await self.handle(ex)
        await reply.send(ex, send)

    # -- who owns what, from the public control API ----------------------------------------
    async def control_state(self) -> dict[str, Any]:
        """`GET /_unleash-pat/state`: users, their PATs with secrets, admin tokens."""
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/_unleash-pat/state",
            "raw_path": b"/_unleash-pat/state",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 80),
        }
        chunks: list[bytes] = []
        status = 0

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def collect(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, collect)
        if status != 200:
            raise RuntimeError(f"the control API answered {status}: is it on?")
        return json.loads(b"".join(chunks))

    async def pat_owners(self) -> dict[int, int]:
        """PAT id -> user id, for every PAT."""
        state = await self.control_state()
        return {pat["id"]: user["id"] for user in state["users"] for pat in user["pats"]}

    async def secrets(self) -> dict[str, tuple[int, int]]:
        """PAT secret -> (user id, PAT id)."""
        state = await self.control_state()
        return {
            pat["secret"]: (user["id"], pat["id"])
            for user in state["users"]
            for pat in user["pats"]
        }


class SessionTracker:
    """Which user each session cookie belongs to, learnt from the login answers that set them."""

    def __init__(self) -> None:
        self.users: dict[str, int] = {}

    def learn(self, ex: Exchange, reply: Reply) -> None:
        if ex.is_route("POST", LOGIN) and reply.status == 200:
            cookie = cookie_value((reply.header("set-cookie") or "").split(";")[0], SESSION_COOKIE)
            body = reply.json()
            if cookie and isinstance(body, dict):
                self.users[cookie] = body["id"]

    def user(self, ex: Exchange) -> int | None:
        cookie = ex.session_cookie
        return self.users.get(cookie) if cookie else None


async def caller(proxy: Proxy, ex: Exchange, sessions: SessionTracker) -> int | None:
    """The user a request acts as, in Unleash's order (an admin token acts as no user)."""
    state = await proxy.control_state()
    if ex.credential in state["adminTokens"]:
        return None
    by_session = sessions.user(ex)
    if by_session is not None:
        return by_session
    for user in state["users"]:
        if any(pat["secret"] == ex.credential for pat in user["pats"]):
            return user["id"]
    return None


def pats_in(reply: Reply) -> list[dict[str, Any]]:
    """The PAT objects of a list or create answer (an empty list for anything else)."""
    body = reply.json() if reply.is_json() and reply.status in (200, 201) else None
    if isinstance(body, dict) and isinstance(body.get("pats"), list):
        return [p for p in body["pats"] if isinstance(p, dict)]
    if isinstance(body, dict) and "secret" in body and "id" in body:
        return [body]
    return []


def rewrite_pats(reply: Reply, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Apply `change` to every PAT object of a list or create answer (None drops it)."""
    body = reply.json() if reply.is_json() and reply.status in (200, 201) else None
    if isinstance(body, dict) and isinstance(body.get("pats"), list):
        pats = [change(dict(p)) for p in body["pats"]]
        reply.set_json({**body, "pats": [p for p in pats if p is not None]})
    elif isinstance(body, dict) and "secret" in body and "id" in body:
        changed = change(dict(body))
        if changed is not None:
            reply.set_json(changed)
