"""Express's `compression()` middleware (1.8, which every release installs today), as Unleash
runs it on every response.

A JSON or text body of 1 kB or more is brotli-, gzip- or deflate-encoded when the client accepts
it, chosen as compression's Negotiator chooses (`br`, then `gzip`, preferred on a tie):
`Content-Encoding` is set, `Content-Length` dropped and the body sent chunked. HEAD requests,
smaller bodies and `Cache-Control: no-transform` are left alone. Brotli at quality 4, as
compression sets it, gives Node's bytes exactly.
"""

from __future__ import annotations

import functools
import re
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
_SUPPORTED = ("br", "gzip", "deflate", "identity")
_PREFERRED = ("br", "gzip")
_CODING = re.compile(r"\s*([^\s;]+)\s*(?:;(.*))?", re.DOTALL)
_JS_FLOAT = re.compile(r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def _accepted(accept_encoding: str) -> list[tuple[str, float, int]]:
    """Negotiator's parse: (coding, q, position); identity, where not named, is accepted with
    the lowest q named."""
    accepted: list[tuple[str, float, int]] = []
    lowest, identity = 1.0, False
    parts = accept_encoding.split(",")
    for i, part in enumerate(parts):
        match = _CODING.fullmatch(part.strip())
        if match is None:
            continue
        q = 1.0
        for param in match[2].split(";") if match[2] else ():
            key, _, value = param.strip().partition("=")
            if key == "q":
                q = _js_parse_float(value)
                break
        accepted.append((match[1], q, i))
        identity = identity or match[1].lower() == "identity"
        lowest = min(lowest, _js_or(q, 1.0))
    if not identity:
        accepted.append(("identity", lowest, len(parts)))
    return accepted


def _js_parse_float(text: str) -> float:
    """JavaScript's parseFloat: the longest number at the start; NaN (never accepted) if none."""
    match = _JS_FLOAT.match(text)
    return float(match[1]) if match else float("nan")


def negotiate(accept_encoding: str | None) -> str | None:
    """The coding compression 1.8 picks (Negotiator 0.6's preferredEncodings over br, gzip,
    deflate, identity, preferring br then gzip on equal q), or None for no compression."""
    accepted = _accepted(accept_encoding or "")
    candidates = []
    for index, coding in enumerate(_SUPPORTED):
        best = (0, 0.0, -1, index)  # (specificity, q, position in the header, index)
        for name, q, position in accepted:
            s = 1 if name.lower() == coding else 0 if name == "*" else None
            if s is not None and _js_or(best[0] - s, best[1] - q, best[2] - position) < 0:
                best = (s, q, position, index)
        if best[1] > 0:
            candidates.append((coding, *best))
    if not candidates:
        return None
    chosen = sorted(candidates, key=functools.cmp_to_key(_by_preference))[0][0]
    return None if chosen == "identity" else chosen


def _js_or(*values: float) -> float:
    """JavaScript's `a || b || …` over numbers: the first that is neither 0 nor NaN, else the
    last."""
    return next((v for v in values[:-1] if v and v == v), values[-1])


def _by_preference(a: tuple, b: tuple) -> float:
    """Negotiator's comparator with a preferred order."""
    (coding_a, s_a, q_a, o_a, i_a), (coding_b, s_b, q_b, o_b, i_b) = a, b
    if q_a != q_b:
        return q_b - q_a
    pa = _PREFERRED.index(coding_a) if coding_a in _PREFERRED else -1
    pb = _PREFERRED.index(coding_b) if coding_b in _PREFERRED else -1
    if pa == -1 and pb == -1:
        return _js_or(s_b - s_a, o_a - o_b, i_a - i_b)
    if pa != -1 and pb != -1:
        return pa - pb
    return 1 if pa == -1 else -1


def compress(body: bytes, coding: str) -> bytes:
    """`body` as compression sends it in `coding` (br, gzip or deflate)."""
    if coding == "br":
        import brotli  # only where a client asks for it

        return brotli.compress(body, quality=4)
    compressor = zlib.compressobj(wbits=31 if coding == "gzip" else 15)
    return compressor.compress(body) + compressor.flush()


def decompress(body: bytes, coding: str | None) -> bytes:
    """`body` without its content coding (br, gzip or deflate; any other is left as it is)."""
    if coding == "br":
        import brotli

        return brotli.decompress(body)
    if coding in ("gzip", "deflate"):
        return zlib.decompress(body, wbits=47)  # 47: gzip or zlib, detected
    return body


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
                    body = await run_in_threadpool(compress, body, coding)
                else:
                    body = compress(body, coding)
                del headers["content-length"]
                headers["content-encoding"] = coding
                headers["transfer-encoding"] = "chunked"
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)
