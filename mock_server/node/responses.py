"""Responses as Express's `res.json()` writes them: compact JSON, `charset=utf-8`, weak ETag."""

from __future__ import annotations

import base64
import hashlib
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
