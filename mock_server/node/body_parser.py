"""Express's `express.json({strict: false})` and `express.urlencoded()`, which Unleash runs on
every request before auth.

So a malformed JSON body is a 400 even without credentials and even on an unknown path; a body
over 100 kB is a 413; a non-UTF charset or an unknown Content-Encoding is a 415. The parsed body
is left in the ASGI scope for the request validator, as Express leaves it in `req.body`.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.errors import BodyParserError, UnleashError
from mock_server.node import javascript
from mock_server.versions import VersionProfile

BODY_KEY = "unleash_pat.body"
LIMIT_BYTES = 100 * 1024  # body-parser's default "100kb"
# Above this size a body is parsed on a worker thread: a malformed or deeply nested 100 kB body
# takes V8's algorithm tens of milliseconds in Python, which the event loop must not wait for.
_INLINE_BYTES = 8 * 1024


# media-typer 0.3's grammar, as body-parser's type-is reads a Content-Type: a type/subtype with
# spaces around it, then `; name=value` pairs to the very end, or the body is not read at all.
_TYPE = r"[A-Za-z0-9][A-Za-z0-9!#$&^_-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z|~]+"
_MEDIA_TYPE = re.compile(_TYPE)
_EXPRESS_TYPE = re.compile(f" *({_TYPE}) *")
# Alternatives that cannot both match a character: linear in the header.
_PARAM = re.compile(
    f'; *({_TOKEN}) *= *("(?:[ !\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\x20-\\x7e])*"|{_TOKEN}) *'
)
_QUOTED_PAIR = re.compile(r"\\([\x00-\x7f])")


def media_type(content_type: str | None) -> str | None:
    """The lower-cased `type/subtype` Unleash's content-type check reads (what precedes the
    first `;`, white space around it ignored), or None if that is no media type."""
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip(" \t").lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None


def is_json(content_type: str | None) -> bool:
    """Unleash's check against "application/json" from 7.x on (type-is 2: the media type
    alone); `+json` suffixes do not match."""
    return media_type(content_type) == "application/json"


def is_json_strictly(content_type: str | None) -> bool:
    """The same check before 7.x (type-is 1): the whole header must parse, parameters too."""
    parsed = _express_type(content_type)
    return parsed is not None and parsed[0] == "application/json"


def _express_type(content_type: str | None) -> tuple[str, str] | None:
    """The lower-cased type and charset parameter (`""` if none) body-parser reads from a
    Content-Type, or None where media-typer cannot parse it (the body is then left unread)."""
    if not content_type:
        return None
    head, semicolon, _ = content_type.partition(";")
    match = _EXPRESS_TYPE.fullmatch(head)
    if match is None:
        return None
    charset, index = "", len(head)
    while semicolon and index < len(content_type):
        param = _PARAM.match(content_type, index)
        if param is None:
            return None
        if param[1].lower() == "charset":
            value = param[2]
            charset = _QUOTED_PAIR.sub(r"\1", value[1:-1]) if value[0] == '"' else value
        index = param.end()
    return match[1].lower(), charset.lower()


def _parsed_type(content_type: str | None) -> tuple[str, str] | None:
    """Which of Unleash's two body parsers (json, urlencoded) reads this body, and in which
    charset, if any."""
    parsed = _express_type(content_type)
    if parsed and parsed[0] in ("application/json", "application/x-www-form-urlencoded"):
        return parsed
    return None


def _decode(raw: bytes, charset: str, *, utf_only: bool) -> str:
    charset = charset or "utf-8"
    if utf_only and not charset.startswith("utf-"):
        raise BodyParserError(f'unsupported charset "{charset.upper()}"', 415)
    try:
        # iconv-lite decodes invalid bytes to U+FFFD and strips a byte-order mark.
        return raw.decode(charset, "replace").removeprefix("\ufeff")
    except LookupError:
        raise BodyParserError(f'unsupported charset "{charset.upper()}"', 415) from None


def parse_json_body(raw: bytes, charset: str = "") -> Any:
    """express.json: `{}` for an empty body, V8's message for malformed JSON. A document nested
    too deep for the C parser is checked now and left unbuilt (javascript.Unbuilt): see
    `json_body`."""
    text = _decode(raw, charset, utf_only=True)
    if not text:
        return {}
    try:
        return javascript.parse_lazily(text)
    except ValueError as exc:
        raise BodyParserError(str(exc)) from None


async def json_body(scope: Scope) -> Any:
    """The body express.json parsed (`{}` if none). A deeply nested one is built on first use,
    once authentication let the request through: a request refused anyway costs only the
    check (a large one is built on a worker thread, as it was checked)."""
    body = scope.get(BODY_KEY, {})
    if type(body) is javascript.Unbuilt:
        large = len(body.text) > _INLINE_BYTES
        body = scope[BODY_KEY] = await run_in_threadpool(_value, body) if large else body.value
    return body


def built_body(scope: Scope) -> Any:
    """`json_body`, for a caller that cannot wait: built here if it is still unbuilt."""
    body = scope.get(BODY_KEY, {})
    return body.value if type(body) is javascript.Unbuilt else body


def _value(body: javascript.Unbuilt) -> Any:
    return body.value


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
    def __init__(self, app: ASGIApp, *, profile: VersionProfile) -> None:
        self.app = app
        self.profile = profile

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type")
        parsed = _parsed_type(content_type)
        if parsed is None:
            await self.app(scope, receive, send)
            return
        kind, charset = parsed
        try:
            raw = await _read_body(receive)
            body = _inflate(raw, headers.get("content-encoding", "identity").strip().lower())
            if kind == "application/json" and len(body) <= _INLINE_BYTES:
                scope[BODY_KEY] = parse_json_body(body, charset)
            elif kind == "application/json":
                scope[BODY_KEY] = await run_in_threadpool(parse_json_body, body, charset)
            else:  # Unleash's PAT routes never take a form; parsing it can only fail
                _decode(body, charset, utf_only=True)
        except UnleashError as exc:
            await exc.response(self.profile)(scope, receive, send)
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
