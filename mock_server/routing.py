"""Express's routing, as far as clients can see it.

Express matches paths case-insensitively, collapses doubled slashes and allows a trailing
slash; `/:id` matches any segment (Ajv then answers 400 for `abc`); an authenticated OPTIONS is
answered with the allowed methods; anything else unrouted is a 404 naming the path. (Routes
match any segment for a path parameter: `_compat.UntypedPathRoutingMiddleware`.)
"""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.errors import PathNotFound
from mock_server.responses import VARY, weak_etag
from mock_server.versions import ErrorStyle

RAW_PATH_KEY = "unleash_pat.raw_path"
ROUTE_PREFIXES = (
    "/health",
    "/api/admin/user/tokens",
    "/api/admin/user",
    "/api/admin/ui-config",
    "/auth/simple/login",
    "/docs/openapi.json",
    "/api/admin",
)
_METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_SLASHES = re.compile(r"/{2,}")


def normalize(path: str) -> str:
    """The path Express would route: slashes collapsed, no trailing slash, known prefixes in
    lower case (the rest keeps its case, as Ajv echoes it)."""
    path = _SLASHES.sub("/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    lower = path.lower()
    for prefix in ROUTE_PREFIXES:
        if lower.startswith(prefix) and (len(lower) == len(prefix) or lower[len(prefix)] == "/"):
            return prefix + path[len(prefix) :]
    return path


class ExpressPathMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_PATH_KEY] = scope["path"]
            scope["path"] = normalize(scope["path"])
        await self.app(scope, receive, send)


class RouteTable:
    """Which methods each path of the contract takes, for Express's automatic OPTIONS answer."""

    def __init__(self, spec: dict, style: ErrorStyle) -> None:
        self._style = style
        self._routes = [
            (
                re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"),
                {m.upper() for m in operations if m.upper() in _METHOD_ORDER},
            )
            for path, operations in spec.get("paths", {}).items()
        ]

    def allowed(self, path: str) -> list[str]:
        methods: set[str] = set()
        for pattern, route_methods in self._routes:
            if pattern.match(path):
                methods |= route_methods
        if "GET" in methods:
            methods.add("HEAD")
        return [m for m in _METHOD_ORDER if m in methods]

    def unrouted(self, scope: Scope, method: str) -> Response:
        """The answer to a request no route took: OPTIONS lists the methods, the rest is 404."""
        allowed = self.allowed(scope["path"])
        if method == "OPTIONS" and allowed:
            text = ",".join(allowed)
            return Response(
                text.encode(),
                headers={"Allow": text, "ETag": weak_etag(text.encode()), **VARY},
                media_type="text/html; charset=utf-8",
            )
        # Unleash names "/api" plus the path after its mount point, case preserved.
        raw = _SLASHES.sub("/", scope.get(RAW_PATH_KEY, scope["path"]))
        if raw.lower().startswith("/api/"):
            raw = "/api" + raw[4:]
        return PathNotFound(raw).response(self._style)
