"""The two servers diff talks to, each with the values it has bound to the placeholders."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from contract_tests.diff.observe import Binding
from contract_tests.diff.wire import Answer, Request, fill, read_answer

SESSION_COOKIE = "unleash-session"


@dataclass
class Side:
    """One server: where it is, and its own value for each placeholder. `users` and `pats`
    map its ids back to the placeholder that names them. Values learnt during an item are
    dropped after it (`forget_item`)."""

    name: str  # "real" | "mock"
    url: str
    timeout: float = 15.0
    values: dict[str, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    pats: dict[int, str] = field(default_factory=dict)
    sent: int = 0
    _item_names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        default = (self.tls and self.port == 443) or (not self.tls and self.port == 80)
        authority = self.host if default else f"{self.host}:{self.port}"
        self.values.update(HOST=authority, BASE_URL=f"{parts.scheme}://{authority}")

    # -- bindings -----------------------------------------------------------------------------
    def bind(self, name: str, value: str, *, item: bool = False) -> None:
        self.values[name] = value
        if item:
            self._item_names.add(name)

    def bind_user(self, name: str, user_id: int, *, item: bool = False) -> None:
        self.bind(name, str(user_id), item=item)
        self.users[user_id] = name

    def bind_pat(self, name: str, pat_id: int, *, item: bool = False) -> None:
        self.bind(name, str(pat_id), item=item)
        self.pats[pat_id] = name

    def forget_item(self) -> None:
        for name in self._item_names:
            self.values.pop(name, None)
        self.users = {k: v for k, v in self.users.items() if v not in self._item_names}
        self.pats = {k: v for k, v in self.pats.items() if v not in self._item_names}
        self._item_names.clear()

    def binding(self) -> Binding:
        return Binding(dict(self.values), dict(self.users), dict(self.pats))

    def fill(self, text: str) -> str:
        return fill(text, self.values)

    # -- sending ------------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.tls:
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.timeout)
        return sock

    def send(self, request: Request) -> Answer:
        """One request on a new connection; the connection is closed after its answer."""
        self.sent += 1
        data = request.render(self.values)
        started = time.monotonic()
        try:
            sock = self._connect()
        except OSError as exc:
            return Answer(error=f"cannot connect: {exc}", seconds=time.monotonic() - started)
        with sock:
            with contextlib.suppress(OSError):  # answered and closed early: read that
                sock.sendall(data)
            answer = read_answer(sock, head=request.method == "HEAD")
        answer.seconds = time.monotonic() - started
        return answer

    def burst(self, requests: Sequence[Request]) -> list[Answer]:
        """The requests at once, each on its own connection, all connected before any is sent
        (so that the server handles them concurrently); answers in the same order."""
        self.sent += len(requests)
        ready = threading.Barrier(len(requests))

        def one(request: Request) -> Answer:
            started = time.monotonic()
            try:
                sock = self._connect()
            except OSError as exc:
                ready.abort()
                return Answer(error=f"cannot connect: {exc}")
            with sock:
                with contextlib.suppress(threading.BrokenBarrierError):
                    ready.wait(self.timeout)  # broken: another connection failed; send anyway
                with contextlib.suppress(OSError):  # answered and closed early: read that
                    sock.sendall(request.render(self.values))
                answer = read_answer(sock, head=request.method == "HEAD")
            answer.seconds = time.monotonic() - started
            return answer

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(one, requests))


def session_value(answer: Answer) -> str | None:
    """The value of the session cookie an answer sets, as a Cookie header sends it back."""
    for name, value in answer.headers:
        if name != "set-cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        morsel = jar.get(SESSION_COOKIE)
        if morsel is not None and morsel.coded_value:
            return morsel.coded_value
    return None
