"""The request journal: a bounded ring of the recent requests to the mock (never to the control
API), for tests that check what their client called.

No full secret ever enters it. Headers are not kept (Authorization and cookies are the
credentials): an entry names the caller's user id and how it authenticated. The path, the query
string and the body excerpts are redacted when recorded: a PAT (hex or `user:v2_…`) keeps its
first characters, passwords and `secret` values are replaced, and so is every known admin API
token (looked up one word at a time: never a scan of all of them). Each is redacted as written
and as it decodes (percent-encoding, JSON `\\u` escapes); where a decoded form holds a
credential, that form is kept, redacted. A body that cannot be read with confidence (compressed,
another charset, not UTF-8) keeps no excerpt, only its size. Each field is bounded, so a full
ring holds a few MB at most.

`redacted_access_log` applies the same redaction to uvicorn's access log, for one run.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import string
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from mock_server.instants import epoch_timestamp

EXCERPT_BYTES = 256  # of each body
QUERY_BYTES = 1024
PATH_CHARS = 2048  # a full ring then holds at most ~3.5 MB of text
DEFAULT_SIZE = 1000
REDACTED = "<redacted>"
# What an admin API token is made of (the fixtures refuse others): Unleash's are
# `<project>:<environment>.<secret>`, `*` or `[]` for the project. Anything else ends a word.
ADMIN_TOKEN_CHARS = r"A-Za-z0-9._:*\[\]~!$@-"
_WORD = re.compile(f"[{ADMIN_TOKEN_CHARS}]+")
_WORD_CHARS = string.ascii_letters + string.digits + "._:*[]~!$@-"
_WORD_EDGES = ".:!$@~-"  # a token written at the end of a sentence, say
# A PAT keeps `user:` and its first four characters (v2: after `v2_`).
_PAT = re.compile(
    r"((?i:user:)v2_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+|((?i:user:)[0-9a-fA-F]{4})[0-9a-fA-F]+"
)
# A JSON string value after one of these keys; `(?:[^"\\]|\\.)*` is linear, and an excerpt cut
# inside the value still matches (the closing quote is optional). The key may be written inside
# a JSON string (`\"password\":\"…`, as an error message quoting a body writes it): then all
# that string's rest is taken for the value.
_SECRET_FIELD = re.compile(r'(\\?"(?:password|secret)\\?"\s*:\s*)\\?"(?:[^"\\]|\\.)*"?', re.I)
# The same in a query string or a form body.
_SECRET_PARAMETER = re.compile(r"(\b(?:password|secret)=)[^&\s]*", re.I)
# A JSON escape that changes no structure when decoded (not a quote, a backslash, a control
# character or half of a surrogate pair).
_ESCAPE = re.compile(r"\\u(?!00[0-1][0-9a-fA-F]|0022|005[cC]|[dD][89a-fA-F])([0-9a-fA-F]{4})")
_DECODING_ROUNDS = 3  # %253A is two rounds from `:`


def _no_admin_tokens(text: str, is_admin_token: Callable[[str], bool]) -> str:
    def word(match: re.Match[str]) -> str:
        found = match.group()
        if is_admin_token(found) or is_admin_token(found.strip(_WORD_EDGES)):
            return REDACTED
        return found

    return _WORD.sub(word, text)


def redact(text: str, is_admin_token: Callable[[str], bool] = lambda _: False) -> str:
    """`text` with every credential written plainly in it replaced."""
    if not text:
        return text
    text = _no_admin_tokens(text, is_admin_token)
    text = _PAT.sub(lambda m: (m.group(1) or m.group(2)) + "…", text)
    text = _SECRET_FIELD.sub(rf'\1"{REDACTED}"', text)
    return _SECRET_PARAMETER.sub(rf"\1{REDACTED}", text)


def _decoded(text: str) -> str:
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return unquote(text, errors="replace") if "%" in text else text


def clean(text: str, is_admin_token: Callable[[str], bool] = lambda _: False) -> str:
    """`text` with no credential left in it, as written or as it decodes: kept as written when
    its decoded forms hold none, else in the decoded form that did, redacted."""
    kept = current = redact(text, is_admin_token)
    for _ in range(_DECODING_ROUNDS):
        decoded = _decoded(current)
        if decoded == current:
            break
        current = redact(decoded, is_admin_token)
        if current != decoded:
            kept = current
    return kept


def _cut(text: str, cut: bool) -> str:
    """An excerpt cut short loses its last word, which may be the start of a token."""
    return text.rstrip(_WORD_CHARS) + "…" if cut else text


def readable(content_type: str | None, content_encoding: str | None) -> bool:
    """Whether a body so labelled can be scanned as UTF-8 text: not compressed, no other
    charset (its text, in UTF-16 say, would slip past every pattern)."""
    if content_encoding and content_encoding.strip().lower() != "identity":
        return False
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() in ("utf-8", "utf8")
    return True


@dataclass(frozen=True)
class Body:
    """What a journal takes of a body: its first bytes (EXCERPT_BYTES + 1, to know whether it was
    cut), its size, and whether it can be read as UTF-8 text at all (`readable`)."""

    head: bytes
    size: int
    readable: bool = True


_UNREADABLE_HEADS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 and UTF-32's byte-order marks


def excerpt(body: Body, is_admin_token: Callable[[str], bool]) -> str:
    """A body's excerpt as it may be kept, or "" when it cannot be scanned with confidence."""
    if not body.head or not body.readable:
        return ""
    head = body.head[:EXCERPT_BYTES]
    if b"\x00" in head or head.startswith(_UNREADABLE_HEADS):
        return ""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only a character cut at the excerpt's end may be incomplete.
        if exc.start < len(head) - 3 or len(body.head) <= EXCERPT_BYTES:
            return ""
        text = head[: exc.start].decode("utf-8")
    return clean(_cut(text, len(body.head) > EXCERPT_BYTES), is_admin_token)


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
    request_bytes: int
    response_body: str  # "" for a compressed body
    response_bytes: int

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
            "requestBytes": self.request_bytes,
            "responseBody": self.response_body,
            "responseBytes": self.response_bytes,
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
        self._entries: deque[Entry] = deque(maxlen=size)
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
        request: Body,
        response: Body,
        is_admin_token: Callable[[str], bool],
    ) -> None:
        """On the mock's hot path: everything is redacted here, once."""
        query_text = query[:QUERY_BYTES].decode("utf-8", "replace")
        request_text = excerpt(request, is_admin_token)
        # An error may quote a body it could not parse: none of one that could not be scanned.
        scanned = bool(request_text) or not request.size
        entry = Entry(
            next(self._seq),
            at,
            method,
            clean(_cut(path[:PATH_CHARS], len(path) > PATH_CHARS), is_admin_token),
            clean(_cut(query_text, len(query) > QUERY_BYTES), is_admin_token),
            status,
            latency_ms,
            user,
            auth,
            request_text,
            request.size,
            excerpt(response, is_admin_token) if scanned else "",
            response.size,
        )
        self._entries.append(entry)  # deque.append is atomic; so is next() on a count

    def entries(self, where: Filter | None = None) -> list[Entry]:
        entries = list(self._entries)  # one C call under the GIL: no append lands halfway
        return [e for e in entries if where is None or where(e)]

    def clear(self) -> None:
        self._entries.clear()


class _AccessLogRedactor(logging.Filter):
    """uvicorn's access log line (`client - "METHOD path?query HTTP/x" status`), its target
    cleaned as the journal's path and query are."""

    def __init__(self, is_admin_token: Callable[[str], bool]) -> None:
        super().__init__()
        self._is_admin_token = is_admin_token

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            target = clean(args[2], self._is_admin_token)
            record.args = (args[0], args[1], target, args[3], args[4])
        return True


@contextlib.contextmanager
def redacted_access_log(is_admin_token: Callable[[str], bool]) -> Iterator[None]:
    """uvicorn's access log redacted while inside (serve's run): removed after, so a process
    that uses the mock as a library keeps its logging as it was."""
    logger = logging.getLogger("uvicorn.access")
    redactor = _AccessLogRedactor(is_admin_token)
    logger.addFilter(redactor)
    try:
        yield
    finally:
        logger.removeFilter(redactor)
