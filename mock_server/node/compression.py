"""Express's `compression()` middleware, as Unleash runs it on every response.

A JSON or text body of 1 kB or more is gzip- (or deflate-) encoded when the client accepts it:
`Content-Encoding` is set, `Content-Length` dropped and the body sent chunked. HEAD requests,
smaller bodies and `Cache-Control: no-transform` are left alone.
"""

from __future__ import annotations

import zlib

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

THRESHOLD = 1024  # compression's default "1kb"
# Above this size a body is compressed on a worker thread (as Node's zlib runs on libuv's pool):
# zlib releases the GIL, so the event loop keeps answering meanwhile. An 892 kB PAT list took
# the loop 45 ms; below 32 kB compressing costs less than the hop to a thread.
_INLINE_BYTES = 32 * 1024
_COMPRESSIBLE = ("application/json", "text/")


def negotiate(accept_encoding: str | None) -> str | None:
    """gzip or deflate as the `accepts` package picks them (gzip first on a tie), or None."""
    if not accept_encoding:
        return None
    quality: dict[str, float] = {}
    for part in accept_encoding.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            quality[coding.lower()] = q
    best = None
    for coding in ("gzip", "deflate"):
        q = quality.get(coding, quality.get("*", 0.0))
        if q > 0 and (best is None or q > best[1]):
            best = (coding, q)
    return best[0] if best else None


def _compress(body: bytes, coding: str) -> bytes:
    compressor = zlib.compressobj(wbits=31 if coding == "gzip" else 15)
    return compressor.compress(body) + compressor.flush()


class CompressionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = None
        if scope["type"] == "http" and scope["method"] != "HEAD":
            coding = negotiate(Headers(scope=scope).get("accept-encoding"))
        if coding is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=start.setdefault("headers", []))
            kind = headers.get("content-type", "")
            if (
                len(body) >= THRESHOLD
                and kind.startswith(_COMPRESSIBLE)
                and "no-transform" not in headers.get("cache-control", "")
                and "content-encoding" not in headers
            ):
                if len(body) > _INLINE_BYTES:
                    body = await run_in_threadpool(_compress, body, coding)
                else:
                    body = _compress(body, coding)
                del headers["content-length"]
                headers["content-encoding"] = coding
                headers["transfer-encoding"] = "chunked"
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)
