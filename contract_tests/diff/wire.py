"""Requests as raw bytes over a socket, answers parsed with httptools.

A client library would normalise exactly what diff varies (the request line, header spellings,
HTTP/1.0, a missing Host, absolute-form targets, framing), so every request is written byte for
byte and read back as the server framed it.
"""

from __future__ import annotations

import gzip
import re
import socket
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import httptools

# `${NAME}`: a value each side binds on its own (a secret, an id, its host); see `render`.
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class Request:
    """One request as a template: placeholders are filled in per side when it is sent, and
    shown as `$NAME` in a reproduction. `body_encoding` compresses the filled-in body;
    `length` is "auto" (Content-Length of the body sent, when there is one), "chunked" or
    "none"; `line_end` ends the request line and each header line."""

    method: str
    target: str
    version: str = "HTTP/1.1"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    body_encoding: str | None = None  # "gzip" | "deflate"
    length: str = "auto"
    line_end: str = "\r\n"

    def with_headers(self, headers: Sequence[tuple[str, str]]) -> Request:
        return replace(self, headers=tuple(headers))

    def names(self) -> set[str]:
        """The placeholders it uses."""
        text = " ".join([self.target, *(f"{n}: {v}" for n, v in self.headers)])
        text += self.body.decode("latin-1")
        return set(PLACEHOLDER.findall(text))

    def render(self, values: Mapping[str, str]) -> bytes:
        """The bytes sent, with each placeholder filled in from `values` (unknown ones stay)."""

        body = fill(self.body.decode("latin-1"), values).encode("latin-1")
        body = compress(body, self.body_encoding)
        lines = [f"{self.method} {fill(self.target, values)} {self.version}"]
        lines += [f"{name}: {fill(value, values)}" for name, value in self.headers]
        if self.length == "chunked":
            lines.append("Transfer-Encoding: chunked")
            body = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
        elif self.length == "auto" and (body or self.method in ("POST", "PUT", "PATCH")):
            lines.append(f"Content-Length: {len(body)}")
        head = self.line_end.join([*lines, "", ""])
        return head.encode("latin-1") + body

    def shown(self) -> str:
        """The request as a reproduction shows it: placeholders as `$NAME`, the body as sent
        (before compression), bytes outside printable ASCII escaped."""
        lines = [f"{self.method} {self.target} {self.version}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.length == "chunked":
            lines.append("Transfer-Encoding: chunked")
        elif self.length == "auto" and self.body:
            lines.append("Content-Length: <length of the body sent>")
        elif self.length == "auto" and self.method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        if self.line_end != "\r\n":
            lines.append(f"[lines end in {self.line_end!r}]")
        text = "\n".join(lines)
        if self.body:
            encoding = f"  [sent {self.body_encoding}-compressed]" if self.body_encoding else ""
            body = self.body if len(self.body) <= 600 else self.body[:600] + b"..."
            text += f"\n\n{escape(body)}{encoding}"
            if len(self.body) > 600:
                text += f"  [{len(self.body)} bytes in all]"
        return PLACEHOLDER.sub(lambda m: "$" + m.group(1), text)


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder it holds replaced by its value (unknown ones stay)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def escape(data: bytes) -> str:
    text = data.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def compress(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    return body


@dataclass
class Answer:
    """What came back: the status line, the headers (names lower-cased, in order), the body
    with its transfer framing removed but its content encoding kept, and how it was framed
    (`chunked`, `length`, `close`, `none`). `error` says why there is no complete answer."""

    version: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    framing: str = "none"
    interim: list[int] = field(default_factory=list)  # statuses of 1xx answers before it
    error: str = ""
    seconds: float = 0.0

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n == name]
        return ", ".join(values) if values else None

    def decoded(self) -> bytes | None:
        """The body without its content encoding; None when it cannot be undone (a broken
        stream, an unknown coding)."""
        encoding = (self.header("content-encoding") or "identity").strip().lower()
        if encoding == "br":
            import brotli  # a dependency of the mock's, imported where an answer needs it

            try:
                return brotli.decompress(self.body)
            except brotli.error:
                return None
        try:
            if encoding == "gzip":
                return zlib.decompress(self.body, 31)
            if encoding == "deflate":
                try:
                    return zlib.decompress(self.body)
                except zlib.error:
                    return zlib.decompress(self.body, -15)  # raw deflate, as some servers send
        except zlib.error:
            return None
        return self.body if encoding == "identity" else None

    def status_line(self) -> str:
        if self.error and not self.status:
            return f"(no answer: {self.error})"
        return f"{self.version} {self.status} {self.reason}".rstrip()


class _Reader:
    """httptools' callbacks, collecting one response; an interim (1xx) one before it is kept
    apart, in `Answer.interim`."""

    def __init__(self, answer: Answer, head_only: bool) -> None:
        self.answer = answer
        self.head_only = head_only
        self.parser: httptools.HttpResponseParser | None = None
        self.head_done = False
        self.done = False
        self._chunks: list[bytes] = []

    def on_status(self, status: bytes) -> None:
        self.answer.reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.answer.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.head_done = True
        if self.head_only and not self._interim():
            self.done = True

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        if self._interim():  # 100 Continue: the answer is still to come
            assert self.parser is not None
            self.answer.interim.append(self.parser.get_status_code())
            self.answer.reason, self.answer.headers = "", []
            self.head_done = False
            return
        self.done = True

    def _interim(self) -> bool:
        assert self.parser is not None
        return 100 <= self.parser.get_status_code() < 200 and self.parser.get_status_code() != 101

    def body(self) -> bytes:
        return b"".join(self._chunks)


def read_answer(sock: socket.socket, *, head: bool = False) -> Answer:
    """Read one answer from `sock` (`head`: the request was a HEAD, so the answer has no body
    whatever its headers say)."""
    answer = Answer()
    reader = _Reader(answer, head)
    parser = reader.parser = httptools.HttpResponseParser(reader)
    while not reader.done:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            answer.error = "timed out"
            break
        except OSError as exc:
            answer.error = f"connection error: {exc.strerror or exc}"
            break
        if not data:
            if reader.head_done:  # a body delimited by the end of the connection
                reader.done = True
            else:
                answer.error = "closed without an answer" if not answer.reason else "closed"
            break
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            reader.done = True
        except httptools.HttpParserError as exc:
            answer.error = f"unparseable answer: {exc}"
            break
    if reader.head_done:
        answer.version = f"HTTP/{parser.get_http_version()}"
        answer.status = parser.get_status_code()
    answer.body = reader.body()
    answer.framing = _framing(answer, head)
    return answer


def _framing(answer: Answer, head: bool) -> str:
    if answer.header("transfer-encoding"):
        return "chunked"
    if answer.header("content-length") is not None:
        return "length"
    if head or answer.status in (204, 304) or not answer.status:
        return "none"
    return "close"
