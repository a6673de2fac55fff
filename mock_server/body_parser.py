"""Express's `express.json({strict: false})` and `express.urlencoded()`, which Unleash runs on
every request before auth.

So a malformed JSON body is a 400 even without credentials and even on an unknown path; a body
over 100 kB is a 413; a non-UTF charset or an unknown Content-Encoding is a 415. The parsed body
is left in the ASGI scope for the request validator, as Express leaves it in `req.body`.
"""

from __future__ import annotations

import zlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import node_json
from mock_server.errors import BodyParserError, UnleashError

BODY_KEY = "unleash_pat.body"
LIMIT_BYTES = 100 * 1024  # body-parser's default "100kb"
# Above this size a body is parsed on a worker thread: a malformed or deeply nested 100 kB body
# takes V8's algorithm tens of milliseconds in Python, which the event loop must not wait for.
_INLINE_BYTES = 8 * 1024


def media_type(content_type: str | None) -> str | None:
    """The lower-cased `type/subtype` of a Content-Type, or None if it cannot be parsed."""
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    kind, _, sub = value.partition("/")
    if not kind or not sub or any(c in value for c in " \t,"):
        return None
    return value


def is_json(content_type: str | None) -> bool:
    """type-is's match against "application/json"; `+json` suffixes do not match."""
    return media_type(content_type) == "application/json"


def _parsed_type(content_type: str | None) -> str | None:
    """Which of Unleash's two body parsers (json, urlencoded) reads this body, if any."""
    kind = media_type(content_type)
    return kind if kind in ("application/json", "application/x-www-form-urlencoded") else None


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return "utf-8"


def _decode(raw: bytes, content_type: str, *, utf_only: bool) -> str:
    charset = _charset(content_type)
    if utf_only and not charset.startswith("utf-"):
        raise BodyParserError(f'unsupported charset "{charset.upper()}"', 415)
    try:
        # iconv-lite decodes invalid bytes to U+FFFD and strips a byte-order mark.
        return raw.decode(charset, "replace").removeprefix("\ufeff")
    except LookupError:
        raise BodyParserError(f'unsupported charset "{charset.upper()}"', 415) from None


def parse_json_body(raw: bytes, content_type: str) -> Any:
    """express.json: `{}` for an empty body, V8's message for malformed JSON."""
    text = _decode(raw, content_type, utf_only=True)
    if not text:
        return {}
    try:
        return node_json.parse(text)
    except ValueError as exc:
        raise BodyParserError(str(exc)) from None


def _inflate(raw: bytes, encoding: str) -> bytes:
    """body-parser's inflation: gzip and deflate, capped at the limit once inflated."""
    if encoding == "identity":
        return raw
    if encoding not in ("gzip", "deflate"):
        raise BodyParserError(f'unsupported content encoding "{encoding}"', 415)
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        data = inflater.decompress(raw, LIMIT_BYTES + 1)
    except zlib.error:
        raise BodyParserError("incorrect header check") from None
    if len(data) > LIMIT_BYTES:
        raise BodyParserError("request entity too large", 413)
    return data


class BodyParserMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type")
        kind = _parsed_type(content_type)
        if kind is None:
            await self.app(scope, receive, send)
            return
        try:
            raw = await _read_body(receive)
            body = _inflate(raw, headers.get("content-encoding", "identity").strip().lower())
            if kind == "application/json" and len(body) <= _INLINE_BYTES:
                scope[BODY_KEY] = parse_json_body(body, content_type or "")
            elif kind == "application/json":
                scope[BODY_KEY] = await run_in_threadpool(parse_json_body, body, content_type or "")
            else:  # Unleash's PAT routes never take a form; parsing it can only fail
                _decode(body, content_type or "", utf_only=True)
        except UnleashError as exc:
            await exc.response()(scope, receive, send)
            return
        await self.app(scope, _replay(raw, receive), send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > LIMIT_BYTES:
            raise BodyParserError("request entity too large", 413)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replay
