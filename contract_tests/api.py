"""The suite's own HTTP client: bounded, throttled, 429-aware, and careful with secrets.

Layers 2 and 3 talk to the target through `Api`; schemathesis (layer 1) has its own transport but
shares the same `Budget`, so one run is bounded in requests and time whatever the layer.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

PATS = "/api/admin/user/tokens"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN = "/auth/simple/login"
LOGOUT = "/logout"
MAX_RETRY_AFTER = 60.0  # Unleash answers 429 with Retry-After: 60; never wait longer than that
_SECRET = re.compile(r"(user:[0-9a-f]{4})[0-9a-f]{4,}")


class RunAborted(Exception):
    """The run cannot go on (budget or time exhausted, target unreachable): exit code 2."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM asked the run to stop; raised at its next request or wait."""


@dataclass
class Budget:
    """Requests and wall-clock time one run may spend; shared by all layers."""

    max_requests: int
    max_seconds: float
    rate_limit: float | None = None  # requests per second
    sent: int = 0
    started: float = field(default_factory=time.monotonic)
    interrupted_by: signal.Signals | None = None
    _last: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def deadline(self) -> float:
        return self.started + self.max_seconds

    def remaining_seconds(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def interrupt(self, signum: int) -> None:
        """Stop the run at its next request or wait. Safe in a signal handler: unlike an
        exception raised wherever the signal lands (inside schemathesis' engine, hypothesis or
        a test client's event loop, which may swallow it or hang), it only sets a flag."""
        if self.interrupted_by is None:
            self.interrupted_by = signal.Signals(signum)
            self._stop.set()

    def check_interrupted(self) -> None:
        if self.interrupted_by is not None:
            raise RunInterrupted(self.interrupted_by.name)

    def wait(self, seconds: float) -> None:
        """Sleep, but stop at once when the run is interrupted."""
        self._stop.wait(max(0.0, seconds))
        self.check_interrupted()

    def spend(self) -> None:
        """Account for one request about to be sent, waiting as `rate_limit` requires."""
        self.check_interrupted()
        if self.sent >= self.max_requests:
            raise RunAborted(f"request budget of {self.max_requests} exhausted")
        if time.monotonic() > self.deadline:
            raise RunAborted(f"time budget of {self.max_seconds:.0f} s exhausted")
        if self.rate_limit:
            wait = self._last + 1 / self.rate_limit - time.monotonic()
            if wait > 0:
                self.wait(wait)
        self._last = time.monotonic()
        self.sent += 1


class Redactor:
    """Shortens every secret to a recognisable prefix (`user:8a9c…`) and hides every password
    entirely before anything is shown; in a reproducing command, writes each credential the run
    was given as the shell variable that holds it (`$UNLEASH_PAT`), so the command runs as
    pasted once those are exported."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._passwords: set[str] = set()
        self._variables: dict[str, str] = {}  # secret or password -> shell variable

    def add(self, secret: str | None, variable: str = "UNLEASH_RUN_SECRET") -> None:
        """`variable`: the shell variable a reproducing command writes for it (a secret the run
        made, and so deleted by the end, gets the generic one)."""
        if secret:
            self._secrets.add(secret)
            self._variables.setdefault(secret, variable)

    def hide(self, password: str | None, variable: str = "UNLEASH_PASSWORD") -> None:
        """Never show `password`, as sent or as written inside a JSON body."""
        if password:
            forms = {password, json.dumps(password)[1:-1]}
            self._passwords |= forms
            for form in forms:
                self._variables.setdefault(form, variable)

    @property
    def variables(self) -> list[str]:
        """The shell variables reproducing commands may use, in the order they were given."""
        return list(dict.fromkeys(self._variables.values()))

    def __call__(self, text: str) -> str:
        for password in sorted(self._passwords, key=len, reverse=True):
            text = text.replace(password, "*****")
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, secret[:9] + "…")
        return _SECRET.sub(r"\1…", text)

    def shell(self, value: str) -> str:
        """`value` as one shell word in double quotes, each known credential as its variable."""
        pattern = "|".join(re.escape(k) for k in sorted(self._variables, key=len, reverse=True))
        parts, last = [], 0
        for match in re.finditer(pattern, value) if pattern else ():
            parts.append(_double_quoted(value[last : match.start()]))
            parts.append("${" + self._variables[match.group()] + "}")
            last = match.end()
        parts.append(_double_quoted(value[last:]))
        return '"' + "".join(parts) + '"'


def _double_quoted(text: str) -> str:
    return re.sub(r'(["\\$`])', r"\\\1", text)


_LEFT_OUT = ("host", "content-length", "accept-encoding", "connection", "user-agent")


def curl(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes, redact: Redactor
) -> str:
    """A curl command that sends the request again, runnable as pasted (credentials as the
    shell variables that hold them)."""
    words = ["curl", "-X", method]
    for name, value in headers:
        if name.lower() not in _LEFT_OUT:
            words += ["-H", redact.shell(f"{name}: {value}")]
    if body:
        words += ["--data-binary", redact.shell(body.decode("utf-8", "backslashreplace"))]
    words.append(redact.shell(url))
    # Anything the shell variables do not cover (a password inside a longer text) is still hidden.
    return redact(" ".join(words))


def curl_of(request: httpx.Request, redact: Redactor) -> str:
    return curl(request.method, str(request.url), request.headers.items(), request.content, redact)


class Api:
    """Requests to the target as one caller or another; `token=None` sends no credentials.
    It keeps no cookies: a session cookie goes only where a check sends it (`cookie=`)."""

    def __init__(
        self, http: httpx.Client, budget: Budget, redact: Redactor, *, read_only: bool = False
    ) -> None:
        """`read_only`: refuse to send any method that could change something (a safety net
        under --read-only: the checks that write are not run then)."""
        self.http = http
        self.budget = budget
        self.redact = redact
        self.read_only = read_only

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        cookie: str | None = None,
    ) -> httpx.Response:
        """`cookie`: the whole Cookie header to send, in Latin-1 (HTTP's bytes beyond ASCII)."""
        if self.read_only and method.upper() not in SAFE_METHODS:
            raise RunAborted(f"read-only: {method} {path} not sent")
        headers = {
            **({"Authorization": token} if token else {}),
            **({"Cookie": cookie.encode("latin-1")} if cookie is not None else {}),
            **(headers or {}),
        }
        for _ in range(3):
            self.budget.spend()
            try:
                response = self.http.request(
                    method, path, json=json, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                raise RunAborted(f"cannot reach the target: {exc}") from exc
            finally:
                # httpx keeps every Set-Cookie (a login's session) and would send it with every
                # later request, where a session wins over the PAT a check means to use.
                self.http.cookies.clear()
            if response.status_code != 429:
                return response
            delay = _retry_after(response)
            if delay > self.budget.remaining_seconds():
                break
            self.budget.wait(delay)
        raise RunAborted(f"rate limited (429) on {method} {path}; try a lower --rate-limit")

    # The three operations, as the suite uses them.
    def list(self, token: str | None) -> httpx.Response:
        return self.request("GET", PATS, token=token)

    def create(self, token: str | None, body: Any) -> httpx.Response:
        return self.request("POST", PATS, token=token, json=body)

    def delete(self, token: str | None, pat_id: int | str) -> httpx.Response:
        return self.request("DELETE", f"{PATS}/{pat_id}", token=token)

    def login(self, username: str, password: str) -> httpx.Response:
        """Unleash's password login, with no other credentials. The body is ASCII JSON, so that
        any string (a lone surrogate too) can be sent."""
        body = json.dumps({"username": username, "password": password}).encode()
        headers = {"Content-Type": "application/json"}
        return self.request("POST", LOGIN, token=None, content=body, headers=headers)


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", "1")), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0
