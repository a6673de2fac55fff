"""The request journal: a bounded ring of the recent requests to the mock (never to the control
API), for tests that check what their client called.

No full secret ever enters it. Headers are not kept (Authorization and cookies are the
credentials): an entry names the caller's user id and how it authenticated. The path, the query
string and the body excerpts are redacted when recorded: a PAT keeps its first 4 hex digits,
passwords and `secret` values are replaced, the known admin API tokens are masked. Each field
is bounded, so a full ring holds a few MB at most.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mock_server.instants import epoch_timestamp

EXCERPT_BYTES = 256  # of each body
QUERY_BYTES = 1024
PATH_CHARS = 2048  # a full ring then holds at most ~3.5 MB of text
DEFAULT_SIZE = 1000
_PAT = re.compile(r"(user:[0-9a-fA-F]{4})[0-9a-fA-F]+")
# A JSON string value after one of these keys; `(?:[^"\\]|\\.)*` is linear, and an excerpt cut
# inside the value still matches (the closing quote is optional).
_SECRET_FIELD = re.compile(r'("(?:password|secret)"\s*:\s*)"(?:[^"\\]|\\.)*"?', re.I)
# The first byte of a gzip (1f 8b) or zlib (78 ..) stream: a compressed body, not excerpted.
_COMPRESSED = (b"\x1f", b"x")
REDACTED = "<redacted>"


def redact(text: str, admin_tokens: Iterable[str] = ()) -> str:
    if not text:
        return text
    text = _PAT.sub(r"\1…", text)
    text = _SECRET_FIELD.sub(rf'\1"{REDACTED}"', text)
    for token in admin_tokens:
        if token in text:
            text = text.replace(token, REDACTED)
    return text


def _clean(raw: bytes, admin_tokens: list[str]) -> bytes:
    """An excerpt as it may be kept: with no full credential in it."""
    lowered = raw.lower()  # bytes.lower and `in` run in C: far cheaper than a re.I search
    if b"user:" not in lowered and b"password" not in lowered and b"secret" not in lowered:
        for token in admin_tokens:
            if token.encode() in raw:
                break
        else:
            return raw
    return redact(raw.decode("utf-8", "replace"), admin_tokens).encode()


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: float  # the mock clock's instant when the request arrived (epoch seconds)
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    user: int | None  # the authenticated user; None for none or an admin API token
    auth: str | None  # "pat" | "session" | "admin-token" | None
    request_body: str
    response_body: str  # "" for a compressed body

    def json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": epoch_timestamp(self.at),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "latencyMs": round(self.latency_ms, 3),
            "user": self.user,
            "auth": self.auth,
            "requestBody": self.request_body,
            "responseBody": self.response_body,
        }


@dataclass(frozen=True)
class Filter:
    """A field left as None matches anything; `path` ending in `*` matches a prefix."""

    method: str | None = None
    path: str | None = None
    status: int | None = None
    user: int | None = None

    def __call__(self, entry: Entry) -> bool:
        if self.method is not None and entry.method != self.method.upper():
            return False
        if self.path is not None and not _path_matches(self.path, entry.path):
            return False
        if self.status is not None and entry.status != self.status:
            return False
        return self.user is None or entry.user == self.user


def _path_matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


class Journal:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._entries: deque[tuple] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def record(
        self,
        at: float,
        method: str,
        path: str,
        query: bytes,
        status: int,
        latency_ms: float,
        user: int | None,
        auth: str | None,
        request_body: bytes,
        response_body: bytes,
        admin_tokens: Callable[[], list[str]],
    ) -> None:
        """On the mock's hot path: excerpts are redacted here (only where they hold something
        to redact) and decoded when read."""
        if response_body[:1] in _COMPRESSED:
            response_body = b""
        query = query[:QUERY_BYTES]
        path = path[:PATH_CHARS]
        tokens = admin_tokens()
        if "user:" in path or any(token in path for token in tokens):
            path = redact(path, tokens)
        query = _clean(query, tokens) if query else query
        request_body = _clean(request_body, tokens) if request_body else request_body
        response_body = _clean(response_body, tokens) if response_body else response_body
        # deque.append is atomic; so is next() on a count.
        self._entries.append(
            (
                next(self._seq),
                at,
                method,
                path,
                query,
                status,
                latency_ms,
                user,
                auth,
                request_body,
                response_body,
            )
        )

    def entries(self, where: Filter | None = None) -> list[Entry]:
        raw = list(self._entries)  # one C call under the GIL: no append lands halfway
        entries = [
            Entry(
                seq,
                at,
                method,
                path,
                _text(query),
                status,
                latency,
                user,
                auth,
                _text(request),
                _text(response),
            )
            for seq, at, method, path, query, status, latency, user, auth, request, response in raw
        ]
        return [e for e in entries if where is None or where(e)]

    def clear(self) -> None:
        self._entries.clear()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
