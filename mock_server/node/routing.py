"""Express's routing, as far as clients can see it.

Express matches paths as sent, escapes and all (`/api/admin/user/%74okens` is no route, and
`/%61pi/…` is not under /api), but case-insensitively, with doubled slashes collapsed and a
trailing slash allowed; `/:id` matches any segment, decoded only then (`1%2F2` is the id `1/2`,
which Ajv refuses). An authenticated OPTIONS is answered with the allowed methods; anything else
unrouted is a 404 naming the path. (Routes match any segment for a path parameter:
`_compat.UntypedPathRoutingMiddleware`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote_to_bytes

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server._compat import ABSOLUTE_FORM_KEY
from mock_server.errors import PathNotFound
from mock_server.node.responses import VARY, weak_etag
from mock_server.versions import VersionProfile

RAW_PATH_KEY = "unleash_pat.raw_path"
# Where such a request goes: Express matches no route or mount of Unleash on it (measured on
# 8.2.0: not even its authentication), only the front end's catch-all.
_NO_ROUTE = "/\x00absolute-form"
_METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_SLASHES = re.compile(r"/{2,}")
_BROKEN_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def decode_param(value: str) -> str:
    """A path parameter as Express's decode_param leaves it (decodeURIComponent). A malformed
    escape is kept as sent: Express fails there with a 500 the mock does not copy, and the
    value then fails validation as the text it is."""
    if _malformed_escape(value.encode("latin-1")):
        return value
    return unquote_to_bytes(value).decode("utf-8")


def sent_path(scope: Scope) -> str:
    """The path as the client spelt it (case and escapes kept), each run of slashes one, as
    Unleash's routers see it."""
    return _SLASHES.sub("/", scope.get(RAW_PATH_KEY, scope["path"]))


def under(path: str, prefix: str) -> bool:
    """`app.use(prefix, …)` applies: the path is the prefix or below it."""
    return path == prefix or path.startswith(prefix + "/")


def route_prefixes(paths: Iterable[str]) -> tuple[str, ...]:
    """The fixed part of each route (up to its first path parameter) and each mount point,
    longest first: the prefixes `normalize` matches case-insensitively."""
    fixed = {path.split("{", 1)[0].rstrip("/") or "/" for path in paths}
    return tuple(sorted(fixed, key=len, reverse=True))


def normalize(path: str, prefixes: tuple[str, ...]) -> str:
    """The path Express would route: slashes collapsed, no trailing slash, known prefixes in
    lower case (the rest keeps its case, as Ajv echoes it)."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    lower = path.lower()
    for prefix in prefixes:
        if lower.startswith(prefix) and (len(lower) == len(prefix) or lower[len(prefix)] == "/"):
            return prefix + path[len(prefix) :]
    return path


class ExpressPathMiddleware:
    """Rewrites the path as Express routes it; `prefixes` from route_prefixes()."""

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get(ABSOLUTE_FORM_KEY):
            scope[RAW_PATH_KEY] = scope["path"] = _NO_ROUTE
        elif scope["type"] == "http":
            # Routed as sent: the handlers decode path parameters (decode_param).
            raw_path = scope.get("raw_path")
            sent = raw_path.decode("latin-1") if raw_path else scope["path"]
            scope[RAW_PATH_KEY] = sent
            scope["path"] = normalize(sent, self.prefixes)
        await self.app(scope, receive, send)


class RouteTable:
    """Which methods each path of the contract (and each of `routes`, more paths and their
    methods) takes, for Express's automatic OPTIONS answer."""

    def __init__(
        self,
        spec: dict,
        profile: VersionProfile,
        routes: Iterable[tuple[str, Iterable[str]]] = (),
    ) -> None:
        self._profile = profile
        self._routes = [
            (
                re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"),
                tuple(m.upper() for m in methods if m.upper() in _METHOD_ORDER),
            )
            for path, methods in (*spec.get("paths", {}).items(), *routes)
        ]

    def allowed(self, path: str) -> list[str]:
        """The methods of the routes that match, in the order they are registered, HEAD after
        GET: Express lists each route's methods in turn (Unleash registers one per method)."""
        methods: list[str] = []
        for pattern, route_methods in self._routes:
            if pattern.match(path):
                for method in route_methods:
                    for each in (method, "HEAD") if method == "GET" else (method,):
                        if each not in methods:
                            methods.append(each)
        return methods

    def unrouted(self, scope: Scope, method: str) -> Response:
        """The answer to a request no route took: OPTIONS lists the methods; under /api a 404
        naming the path; elsewhere what Unleash's web front end answers (its page for GET and
        HEAD, Express's final handler for other methods)."""
        path = scope["path"]
        if path != "/api" and not path.startswith("/api/") and method != "OPTIONS":
            return _front_end(scope, method)
        # Outside /api the front end's catch-all takes GET (and so HEAD) of any path.
        allowed = self.allowed(path) or (["GET", "HEAD"] if not under(path, "/api") else [])
        if method == "OPTIONS" and allowed:
            text = ",".join(allowed)
            return Response(
                text.encode(),
                headers={"Allow": text, "ETag": weak_etag(text.encode()), **VARY},
                media_type="text/html; charset=utf-8",
            )
        # Unleash names "/api" plus the path after its mount point, case and escapes preserved
        # (Express's req.path is not decoded).
        raw = sent_path(scope)
        if raw.lower().startswith("/api/"):
            raw = "/api" + raw[4:]
        elif raw.lower() == "/api":
            raw = "/api/"  # the mount point itself: the router's own path is "/"
        return PathNotFound(raw).response(self._profile)


# Unleash serves its web app's page for any GET outside /api; a stand-in page of the same type,
# and like Unleash's (1,254 bytes on 8.2.0) over compression's 1 kB threshold, so that a client
# asking for gzip or br gets a compressed, chunked answer as from Unleash.
_FRONT_END_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en">\n    <head>\n        <meta charset="utf-8" />\n'
    b'        <meta name="viewport" content="width=device-width, initial-scale=1" />\n'
    b"        <title>Unleash</title>\n    </head>\n    <body>\n"
    b"        <h1>unleash-pat</h1>\n"
    b"        <p>This server is unleash-pat, a stand-in for Unleash's API for personal access\n"
    b"        tokens (PATs) and the accounts around them. It answers as the Unleash release it\n"
    b"        was started as, but it has no web front end: Unleash would send its web app's\n"
    b"        page here, for any path outside <code>/api</code>.</p>\n"
    b"        <p>What it serves:</p>\n        <ul>\n"
    b"            <li><code>GET, POST /api/admin/user/tokens</code> and\n"
    b"            <code>DELETE /api/admin/user/tokens/{id}</code>: a user's PATs;</li>\n"
    b"            <li><code>POST /auth/simple/login</code> and <code>POST /logout</code>:\n"
    b"            sessions;</li>\n"
    b"            <li><code>GET /api/admin/user</code>, <code>/api/admin/ui-config</code> and\n"
    b"            <code>/api/admin/user-admin</code>: the caller, the server, the users;</li>\n"
    b"            <li><code>GET /docs/openapi.json</code> and <code>GET /health</code>.</li>\n"
    b"        </ul>\n"
    b"        <p>Tests drive it through its control plane under <code>/_unleash-pat/</code>\n"
    b"        (reset, seed, inspect, move time, inject faults), unless it was started without\n"
    b"        one.</p>\n"
    b"    </body>\n</html>\n"
)


def _malformed_escape(raw: bytes) -> bool:
    """What JavaScript's decodeURIComponent throws on: a `%` without two hex digits, or
    escapes that are no UTF-8."""
    if _BROKEN_ESCAPE.search(raw):
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _front_end(scope: Scope, method: str) -> Response:
    raw = scope.get("raw_path") or b""
    if _malformed_escape(raw):
        # Measured on 8.2.0: the front end fails to decode the path, for any method.
        return _final_handler(400, "Bad Request")
    if method in ("GET", "HEAD"):
        etag = weak_etag(_FRONT_END_PAGE)
        if_none_match = Headers(scope=scope).get("if-none-match")
        if if_none_match and etag.removeprefix("W/") in if_none_match.replace("W/", ""):
            return Response(status_code=304, headers={"ETag": etag})
        return Response(
            _FRONT_END_PAGE,
            headers={"ETag": etag, **VARY},
            media_type="text/html; charset=utf-8",
        )
    # finalhandler's 404: the path as sent (encodeurl 2.0, then escape-html), no query.
    sent = raw or scope.get(RAW_PATH_KEY, scope["path"]).encode()
    resource = quote(sent.decode("latin-1"), safe=_ENCODEURL_SAFE)
    return _final_handler(404, f"Cannot {method} {resource.translate(_ESCAPE_HTML)}")


# What encodeurl 2.0.3 (finalhandler 1.3.2's, in every release's install) leaves as it is, beside
# letters, digits and `_.-~`; and escape-html's entities.
_ENCODEURL_SAFE = "!#$%&'()*+,/:;=?@[\\]^|"
_ESCAPE_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def _final_handler(status: int, text: str) -> Response:
    """Express's finalhandler page for an error `status`, saying `text` (HTML-escaped
    already)."""
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Error</title>\n</head>\n<body>\n<pre>{text}</pre>\n</body>\n</html>\n"
    )
    return Response(
        page.encode(),
        status_code=status,
        headers={
            "Content-Security-Policy": "default-src 'none'",
            "X-Content-Type-Options": "nosniff",
            **VARY,
        },
        media_type="text/html; charset=utf-8",
    )
