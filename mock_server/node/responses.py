"""Responses as Express writes them: `res.json()` (compact JSON, `charset=utf-8`, weak ETag)
and `res.redirect()`."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mock_server.node import javascript

JSON_UTF8 = "application/json; charset=utf-8"
# Unleash's compression middleware marks every response that has a body.
VARY = {"Vary": "Accept-Encoding"}


def weak_etag(body: bytes) -> str:
    """The `etag` package's weak tag: length in hex and a truncated base64 SHA-1."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def json_response(
    content: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    if_none_match: str | None = None,
) -> Response:
    """`res.json()`. Pass a GET's If-None-Match to get Express's 304 when the tag matches."""
    body = javascript.dumps_bytes(content)
    etag = weak_etag(body)
    if if_none_match and 200 <= status < 300 and _matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag, **(headers or {})})
    return Response(
        body,
        status_code=status,
        headers={"ETag": etag, **VARY, **(headers or {})},
        media_type=JSON_UTF8,
    )


# Above this many characters in its strings, a body is encoded on a worker thread.
_INLINE_CHARS = 32 * 1024


async def large_json_response(
    content: Any, status: int = 200, *, if_none_match: str | None = None
) -> Response:
    """`json_response` for a body that may be large, encoded (and hashed for its ETag) on a
    worker thread when its strings hold over `_INLINE_CHARS` characters: encoding 900 kB takes
    the event loop 5 to 15 ms, which every other request would wait for."""
    if _string_chars(content) <= _INLINE_CHARS:
        return json_response(content, status, if_none_match=if_none_match)
    return await run_in_threadpool(json_response, content, status, if_none_match=if_none_match)


def _string_chars(value: Any) -> int:
    """How many characters the strings in `value` hold (its keys too): most of a JSON body."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += sum(map(len, item))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def _matches(if_none_match: str, etag: str) -> bool:
    """The `fresh` package: `*`, or any listed tag equal to ours ignoring the W/ prefix."""
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag.removeprefix("W/") in tags


class EndResponse(Response):
    """Express's `res.status(200).end()`: no body, no Content-Type, chunked framing."""

    def __init__(self, status: int = 200) -> None:
        super().__init__(status_code=status, headers={"Transfer-Encoding": "chunked"})
        # Starlette adds Content-Length: 0, which must not stand beside chunked framing.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]


def redirect(location: str, accept: str | None, headers: Mapping[str, str]) -> Response:
    """Express 4's `res.redirect(location)`: 302, its body in the type `res.format()` picks from
    the request's Accept (text/plain, else text/html, else none), `Vary: Accept` (and the
    compression middleware's `Accept-Encoding` where there is a typed body). `headers` come
    first, as the handler set them before redirecting."""
    kind = _preferred(accept, ("text/plain", "text/html"))
    bodies = {
        "text/plain": f"Found. Redirecting to {location}",
        "text/html": f"<p>Found. Redirecting to {html.escape(location)}</p>",
    }
    body = bodies.get(kind or "", "")
    typed = {"Content-Type": f"{kind}; charset=utf-8"} if kind else {}
    vary = "Accept, Accept-Encoding" if kind else "Accept"
    return Response(
        body.encode(),
        status_code=302,
        headers={**headers, "Location": location, "Vary": vary, **typed},
    )


# One media range of an Accept header, as the `negotiator` package parses it.
_MEDIA_RANGE = re.compile(r"^\s*([^\s/;]+)/([^;\s]+)\s*(?:;(.*))?$")
_LEADING_FLOAT = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _media_ranges(accept: str) -> list[tuple[str, str, dict[str, str], float]]:
    """Each range's type, subtype, parameters and quality; unreadable ranges are dropped, and
    so are the parameters after `q` (accept extensions)."""
    ranges = []
    for part in accept.split(","):
        match = _MEDIA_RANGE.match(part)
        if match is None:
            continue
        params: dict[str, str] = {}
        quality = 1.0
        for pair in (match[3] or "").split(";"):
            key, _, value = pair.strip().partition("=")
            value = value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value
            if key.lower() == "q":
                number = _LEADING_FLOAT.match(value)  # parseFloat; NaN is accepted nowhere
                quality = float(number[0]) if number else 0.0
                break
            if key:
                params[key.lower()] = value
        ranges.append((match[1].lower(), match[2].lower(), params, quality))
    return ranges


def _preferred(accept: str | None, offered: tuple[str, ...]) -> str | None:
    """The `accepts` package's `req.accepts(offered)`: without an Accept header (or with an
    empty one) the first offered type; else the one the header ranks best (quality, then
    specificity, then the header's order, then ours), None where it accepts none."""
    if not accept:
        return offered[0]
    ranges = _media_ranges(accept)
    ranked = []
    for index, media_type in enumerate(offered):
        kind, subtype = media_type.split("/")
        # The range that fits it best: the most specific, then of the highest quality, then
        # the last in the header.
        best: tuple[int, float, int] | None = None
        for order, (range_kind, range_subtype, params, quality) in enumerate(ranges):
            if range_kind not in (kind, "*") or range_subtype not in (subtype, "*"):
                continue
            if any(value not in ("", "*") for value in params.values()):
                continue  # a parameter the offered type (which has none) does not have
            specificity = 4 * (range_kind == kind) + 2 * (range_subtype == subtype) + bool(params)
            if best is None or (specificity, quality, order) > best:
                best = (specificity, quality, order)
        if best is not None and best[1] > 0:
            specificity, quality, order = best
            ranked.append(((quality, specificity, -order, -index), media_type))
    return max(ranked)[1] if ranked else None
