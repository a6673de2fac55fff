"""HTTP around the resources: error bodies, headers, rate limits, routing and methods."""

from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar

from bench.defects import internals
from bench.defects.base import defect
from bench.defects.probe import Probe
from bench.defects.proxy import (
    CURRENT_USER,
    TOKENS,
    UI_CONFIG,
    Exchange,
    Proxy,
    Reply,
    error_body,
    path_not_found,
)

RATE_LIMIT_HEADERS = (
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)


def _json_error(reply: Reply) -> dict[str, Any] | None:
    body = reply.json() if reply.status >= 400 and reply.is_json() else None
    return body if isinstance(body, dict) else None


def _service_error(reply: Reply) -> dict[str, Any] | None:
    """A service error (403, 409, service 400, "PATs are disabled."): named, no id."""
    body = _json_error(reply)
    return body if body and "name" in body and "id" not in body else None


# -- error bodies ------------------------------------------------------------------------------
@defect(
    "errors-401-no-id",
    "errors",
    "401 bodies have no error `id`",
    "the auth middleware builds its errors with a new helper that omits the instance id",
)
class Unauthorized401NoId(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = _json_error(reply)
        if reply.status == 401 and body and "id" in body:
            reply.set_json({k: v for k, v in body.items() if k != "id"})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "id" in p.get(auth=None).json()


@defect(
    "errors-404-path-lowercased",
    "errors",
    "the 404 of an unknown path names it lower-cased, not as sent",
    "the not-found handler reads the path after a lower-casing normalisation middleware",
)
class NotFoundPathLowercased(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = _json_error(reply)
        if reply.status == 404 and body and body.get("message", "").startswith("The path you"):
            message = re.sub(r"\((.*)\)", lambda m: f"({m[1].lower()})", body["message"])
            reply.set_json(body | {"message": message, "details": [{"message": message}]})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get("/api/admin/user/TokenZ").json()["message"]


@defect(
    "errors-schema-property-names",
    "errors",
    "schema 400s name the property (`description`) instead of a JSON pointer "
    "(`/body/description`), as 5.x did",
    "the validator's error formatter was reverted to the 5.x one in a dependency upgrade",
)
class SchemaPropertyNames(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = _json_error(reply)
        if reply.status == 400 and body and "id" in body and body.get("details"):
            details = []
            for detail in body["details"]:
                pointer = detail.get("path", "")
                name = pointer.partition("/body/")[2] or pointer.partition("/params/")[2]
                if name:
                    message = detail["message"].replace(f"`{pointer}`", f"`{name}`")
                    detail = detail | {"message": message, "path": name}
                details.append(detail)
            reply.set_json(body | {"details": details})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.post(json={"expiresAt": "2099-01-01T00:00:00.000Z"}).json()["details"][0]["path"]


@defect(
    "errors-service-error-with-id",
    "errors",
    "service errors (403, 409, service 400) carry an error `id` like middleware errors",
    "all errors now go through one `toJSON` that always adds the instance id",
)
class ServiceErrorWithId(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = _service_error(reply)
        if body:
            reply.set_json({"id": str(uuid.uuid4())} | body)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "id" in p.create("default").json()


@defect(
    "errors-details-missing",
    "errors",
    "service errors have no `details` list",
    "the service error class no longer fills `details` with its own message",
)
class DetailsMissing(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = _service_error(reply)
        if body and "details" in body:
            reply.set_json({k: v for k, v in body.items() if k != "details"})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "details" in p.create("default").json()


@defect(
    "errors-415-as-400",
    "errors",
    "a body that is not application/json is answered 400 instead of 415 (same body)",
    "ContentTypeError was given the BadDataError status in an error-class cleanup",
)
class ContentType400(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.status == 415 and reply.error_name() == "ContentTypeError":
            reply.status = 400
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        body = b'{"description":"x","expiresAt":"2099-01-01T00:00:00.000Z"}'
        return p.post(content=body, headers={"Content-Type": "text/plain"}).status_code


@defect(
    "errors-body-parser-unleash-shape",
    "errors",
    "malformed-JSON and too-large errors come in Unleash's shape (id, name, details) instead "
    "of the body parser's bare `{message}`",
    "the error handler now wraps every error with a `status`, body-parser's included",
)
class BodyParserUnleashShape(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = _json_error(reply)
        if body and set(body) == {"message"} and reply.status in (400, 413, 415):
            reply.set_json(error_body("BadDataError", body["message"], with_id=True))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        headers = {"Content-Type": "application/json"}
        return sorted(p.post(content=b"{bad", headers=headers).json())


@defect(
    "errors-served-as-html",
    "errors",
    "JSON error bodies are sent with Content-Type text/html",
    "errors are written with `res.status(s).send(JSON.stringify(err))` after a refactor",
)
class ErrorsAsHtml(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if _json_error(reply) is not None:
            reply.set_header("content-type", "text/html; charset=utf-8")
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=None).headers["content-type"]


# -- headers -----------------------------------------------------------------------------------
@defect(
    "headers-json-no-charset",
    "headers",
    "JSON answers are `application/json` without `; charset=utf-8`",
    "responses are written by a new serializer that sets the bare media type",
)
class JsonNoCharset(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.header("content-type") == "application/json; charset=utf-8":
            reply.set_header("content-type", "application/json")
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers["content-type"]


@defect(
    "headers-vary-missing",
    "headers",
    "answers no longer carry `Vary: Accept-Encoding`",
    "compression moved to the reverse proxy's config in the image, which does not add Vary",
)
class VaryMissing(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.header("vary") is not None:
            reply.set_header("vary", None)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers.get("vary")


@defect(
    "headers-etag-strong",
    "headers",
    'ETags are strong (`"…"`) instead of weak (`W/"…"`)',
    "Express's `etag` setting was changed to 'strong'",
)
class EtagStrong(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        etag = reply.header("etag")
        if etag and etag.startswith("W/"):
            reply.set_header("etag", etag[2:])
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers["etag"][:2]


@defect(
    "headers-if-none-match-ignored",
    "headers",
    "a GET with a matching If-None-Match gets the full 200 instead of 304",
    "a no-cache middleware for the admin API strips conditional request headers",
)
class IfNoneMatchIgnored(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        ex.set_header("if-none-match", None)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        etag = p.get().headers["etag"]
        return p.get(headers={"If-None-Match": etag}).status_code


@defect(
    "headers-etag-missing",
    "headers",
    "answers carry no ETag (and so never 304)",
    "`app.set('etag', false)` was added to stop caching of admin responses",
)
class EtagMissing(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        ex.set_header("if-none-match", None)
        reply = await ex.forward()
        if reply.header("etag") is not None:
            reply.set_header("etag", None)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "etag" in p.get().headers


@defect(
    "headers-gzip-unasked",
    "headers",
    "bodies of 1 kB or more are gzipped even for a client that does not accept gzip",
    "compression's filter was replaced by one that ignores Accept-Encoding",
)
class GzipUnasked(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        from bench.defects.proxy import negotiate

        if negotiate(ex.header("accept-encoding")) is None:
            ex.set_header("accept-encoding", "gzip")
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        response = p.get("/docs/openapi.json", auth=None, headers={"Accept-Encoding": "identity"})
        return response.headers.get("content-encoding")


# -- rate limits -------------------------------------------------------------------------------
class _RateLimitHeaders(Proxy):
    def change(self, reply: Reply) -> None:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.header("ratelimit-limit") is not None:
            self.change(reply)
        return reply


@defect(
    "ratelimit-headers-missing",
    "ratelimit",
    "PAT requests get no RateLimit-* headers",
    "express-rate-limit was upgraded and `standardHeaders` now defaults to false there",
)
class RateLimitHeadersMissing(_RateLimitHeaders):
    def change(self, reply: Reply) -> None:
        for name in RATE_LIMIT_HEADERS:
            reply.set_header(name, None)

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers.get("ratelimit-limit")


@defect(
    "ratelimit-remaining-constant",
    "ratelimit",
    "RateLimit-Remaining stays at limit - 1 however many requests were made",
    "the limiter's store was swapped for one whose `increment` returns a fresh counter",
)
class RemainingConstant(_RateLimitHeaders):
    def change(self, reply: Reply) -> None:
        limit = int(reply.header("ratelimit-limit") or 0)
        reply.set_header("ratelimit-remaining", str(limit - 1))

    @staticmethod
    def demo(p: Probe) -> Any:
        p.get()
        return p.get().headers["ratelimit-remaining"]


@defect(
    "ratelimit-reset-epoch",
    "ratelimit",
    "RateLimit-Reset is the epoch second of the window's end instead of seconds left",
    "the limiter switched to the legacy X-RateLimit-Reset semantics under the new name",
)
class ResetEpoch(_RateLimitHeaders):
    def change(self, reply: Reply) -> None:
        left = int(reply.header("ratelimit-reset") or 0)
        reply.set_header("ratelimit-reset", str(int(self.app.state.clock.time()) + left))

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers["ratelimit-reset"]


@defect(
    "ratelimit-policy-window-ms",
    "ratelimit",
    "RateLimit-Policy gives the window in milliseconds (`20000;w=60000`)",
    "the policy header is built from `windowMs` instead of seconds",
)
class PolicyWindowMs(_RateLimitHeaders):
    def change(self, reply: Reply) -> None:
        policy = reply.header("ratelimit-policy") or ""
        reply.set_header(
            "ratelimit-policy", re.sub(r"w=(\d+)", lambda m: f"w={int(m[1]) * 1000}", policy)
        )

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers["ratelimit-policy"]


@defect(
    "ratelimit-on-session-requests",
    "ratelimit",
    "requests authenticated by a session cookie are rate-limited (and get RateLimit-*) like PATs",
    "the limiter's skip function now tests `req.user` instead of a PAT in Authorization",
)
class RateLimitSessions(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if (
            ex.session_cookie
            and ex.under("/api")
            and reply.status != 401
            and reply.header("ratelimit-limit") is None
        ):
            for name, value in internals.count_pat_request(self.app, _client(ex)):
                reply.set_header(name, value)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "ratelimit-limit" in p.get(auth=None, cookie=p.login()).headers


def _client(ex: Exchange) -> str:
    """Express's req.ip with trust proxy: X-Forwarded-For's first entry, else the peer."""
    forwarded = (ex.header("x-forwarded-for") or "").split(",")[0].strip()
    client = ex.scope.get("client")
    return forwarded or (client[0] if client else "unknown")


@defect(
    "ratelimit-ignores-forwarded-for",
    "ratelimit",
    "the PAT rate limit ignores X-Forwarded-For: every client behind a proxy shares one bucket",
    "`trust proxy` was dropped from the Express app settings",
)
class IgnoresForwardedFor(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if ex.header("x-forwarded-for") is not None:
            ex.set_header("x-forwarded-for", None)
            # uvicorn already made X-Forwarded-For the client of a loopback connection; without
            # trust proxy, req.ip is the socket's peer, which on loopback is loopback.
            server = ex.scope.get("server") or ("", 0)
            if server[0] in ("127.0.0.1", "::1"):
                ex.scope["client"] = (server[0], 0)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        p.get(headers={"X-Forwarded-For": "192.0.2.1"})
        return p.get(headers={"X-Forwarded-For": "192.0.2.2"}).headers["ratelimit-remaining"]


@defect(
    "ratelimit-counts-refused-tokens",
    "ratelimit",
    "requests with an unknown `user:` token are counted and get RateLimit-* on their 401",
    "the limiter was moved in front of the auth middleware to slow down token guessing",
)
class CountsRefusedTokens(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.status == 401 and ex.credential.startswith("user:") and ex.under("/api"):
            for name, value in internals.count_pat_request(self.app, _client(ex)):
                reply.set_header(name, value)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "ratelimit-limit" in p.get(auth="user:deadbeef").headers


@defect(
    "ratelimit-default-too-low",
    "ratelimit",
    "the default PAT rate limit is 333 a minute instead of 20000",
    "the default was converted from per-minute to per-second (20000 / 60) in a config refactor",
)
class DefaultTooLow(Proxy):
    options: ClassVar[dict[str, Any]] = {"rate_limit_per_minute": 333}

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get().headers["ratelimit-limit"]


# -- routing -----------------------------------------------------------------------------------
UNROUTED = "/api/__unrouted__"


class _Unrouted(Proxy):
    """Some spellings of a path are no longer routed: such a request goes through Unleash's
    pipeline (auth first) to its 404, which names the path as sent."""

    def unrouted(self, ex: Exchange) -> bool:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        if not (ex.under("/api") and self.unrouted(ex)):
            return await ex.forward()
        sent = re.sub("/{2,}", "/", ex.path)
        sent = "/api" + sent[4:] if sent.lower().startswith("/api/") else sent
        ex.set_path(UNROUTED)
        reply = await ex.forward()
        body = _json_error(reply)
        if reply.status == 404 and body:
            reply.set_json(path_not_found(sent) | {"id": body.get("id")})
        return reply


@defect(
    "routing-case-sensitive",
    "routing",
    "paths are matched case-sensitively (`/api/admin/user/Tokens` is a 404)",
    "the router was created with `caseSensitive: true` in a move to a new router module",
)
class CaseSensitive(_Unrouted):
    def unrouted(self, ex: Exchange) -> bool:
        literal = ex.path
        if ex.routed_path().rpartition("/")[0] == TOKENS:
            literal = literal.rstrip("/").rpartition("/")[0]  # the id's case is the id's
        return literal != literal.lower()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get("/api/admin/user/Tokens").status_code


@defect(
    "routing-trailing-slash-404",
    "routing",
    "a trailing slash makes a path a 404 (`/api/admin/user/tokens/`)",
    "the router was created with `strict: true`",
)
class TrailingSlash404(_Unrouted):
    def unrouted(self, ex: Exchange) -> bool:
        return len(ex.path) > 1 and ex.path.endswith("/")

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(TOKENS + "/").status_code


@defect(
    "routing-double-slash-404",
    "routing",
    "a doubled slash makes a path a 404 (`/api//admin/user/tokens`)",
    "a path-normalising middleware that collapsed slashes was removed",
)
class DoubleSlash404(_Unrouted):
    def unrouted(self, ex: Exchange) -> bool:
        return "//" in ex.path

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get("/api//admin/user/tokens").status_code


ROUTES = {TOKENS, CURRENT_USER, UI_CONFIG}


@defect(
    "routing-404-before-auth",
    "routing",
    "an unknown path under /api is a 404 even without credentials (8.2.0: 401 first)",
    "the admin router now answers unknown paths itself, ahead of the auth middleware",
)
class NotFoundBeforeAuth(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        path = ex.routed_path()
        known = path in ROUTES or path.rpartition("/")[0] == TOKENS
        api_token_routes = any(ex.under(p) for p in ("/api/client", "/api/frontend", "/api/proxy"))
        if ex.under("/api") and not known and not api_token_routes and ex.method != "OPTIONS":
            sent = re.sub("/{2,}", "/", ex.path)
            return Reply.json_reply(path_not_found("/api" + sent[4:]), 404)
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get("/api/admin/user/tokenz", auth=None).status_code


# -- methods -----------------------------------------------------------------------------------
@defect(
    "methods-head-404",
    "methods",
    "HEAD on the GET routes is a 404 (Express answers HEAD with the GET route)",
    "routes are now registered with an explicit method table that does not map HEAD to GET",
)
class Head404(_Unrouted):
    def unrouted(self, ex: Exchange) -> bool:
        return ex.method == "HEAD"

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.request("HEAD", TOKENS).status_code


@defect(
    "methods-options-unauthenticated",
    "methods",
    "OPTIONS under /api is answered 204 with CORS headers, without credentials (8.2.0: 401)",
    "a global `cors()` with preflight handling was mounted before the auth middleware",
)
class OptionsUnauthenticated(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if ex.method == "OPTIONS" and ex.under("/api"):
            return Reply(
                204,
                [
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-allow-methods", b"GET,HEAD,PUT,PATCH,POST,DELETE"),
                    (b"vary", b"Access-Control-Request-Headers"),
                ],
                b"",
            )
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.request("OPTIONS", TOKENS, auth=None).status_code


@defect(
    "methods-405",
    "methods",
    "a method a PAT route does not take (PUT, PATCH …) is 405 instead of Unleash's 404",
    "routes moved to a router that answers 405 with Allow for known paths",
)
class MethodNotAllowed(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        path = ex.routed_path()
        allowed = "GET,HEAD,POST" if path == TOKENS else None
        if path.rpartition("/")[0] == TOKENS:
            allowed = "DELETE"
        if allowed and reply.status == 404 and ex.method != "OPTIONS" and _json_error(reply):
            message = f"Method {ex.method} is not allowed for {ex.path}."
            reply.replace(405, error_body("MethodNotAllowedError", message, with_id=True))
            reply.set_header("allow", allowed)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.request("PUT", TOKENS, json={}).status_code
