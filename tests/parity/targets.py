"""The two targets (the in-process mock, a real Unleash) and one scenario's run against a target.

A run records one observation per named step: the response reduced to what the suite compares
(status, a few headers, the parsed body). Normalizing random values happens later, in
normalize.py, once all steps are known.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any

import httpx

from mock_server import Clock as MockClock

TOKENS = "/api/admin/user/tokens"
LOGIN = "/auth/simple/login"
FAR = "2099-06-30T12:00:00.000Z"
BOOTSTRAP_DESCRIPTION = "parity-bootstrap"  # alice's and bob's long-lived PAT
JSON = "application/json"
_UNSET: Any = object()

Observation = dict[str, Any]


@dataclass
class Account:
    """A user as the suite drives them. `label` names the user in normalized results, so that
    the same user compares equal whatever its id on each target."""

    label: str
    username: str
    user_id: int
    password: str
    pat: str | None = None  # a long-lived PAT no scenario deletes (alice, bob)
    pat_id: int | None = None
    # `unleash-session=…`: the fresh user's only credential; on the real server alice's and bob's
    # too, kept to delete every PAT they hold at the end.
    cookie: str | None = None

    def credential(self) -> dict[str, str]:
        if self.pat:
            return {"Authorization": self.pat}
        assert self.cookie, f"{self.label} has neither a PAT nor a session"
        return {"Cookie": self.cookie}


@dataclass
class Clock:
    """The target's idea of now. For the mock it is the mock's own clock, which is moved instead of
    waited for, so waiting for a PAT to expire costs real time on the real server only."""

    mock: MockClock | None = None

    def now(self) -> datetime:
        return self.mock.now() if self.mock else datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if self.mock:
            self.mock.advance(seconds)
        else:
            time.sleep(seconds)


def retry_after(response: httpx.Response) -> float:
    """express-rate-limit's Retry-After: whole seconds until the window resets (60 s if absent
    or not a number), plus a margin for the server's clock ticking apart from ours."""
    try:
        seconds = float(response.headers.get("retry-after", "60"))
    except ValueError:
        seconds = 60.0
    return min(max(seconds, 0.0), 60.0) + 0.5


@dataclass
class Patience:
    """How long a session may spend, in all, waiting out Unleash's per-IP limits (10 logins and
    20 user creations a minute), which other clients on the same address share: by default
    three of their 60 s windows."""

    seconds: float = 180.0

    def send(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        """`send()`, again after each 429 once its Retry-After has passed, while the waits fit
        in what is left; the last answer otherwise (a 429 the caller then reports)."""
        while True:
            response = send()
            wait = retry_after(response)
            if response.status_code != 429 or wait > self.seconds:
                return response
            self.seconds -= wait
            time.sleep(wait)


@dataclass
class Target:
    name: str  # "mock" | "real"
    client: httpx.Client
    accounts: dict[str, Account]
    admin_token: str
    clock: Clock = field(default_factory=Clock)
    # Responses recorded once per session, because login is limited to 10 a minute per IP.
    session_records: dict[str, Observation] = field(default_factory=dict)
    patience: Patience = field(default_factory=Patience)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a login that meets the rate limit is sent again once the window allows
        (its 429 is not what any scenario compares)."""
        # An absolute URL: httpx would read a relative `//api//…` as a host name.
        url = str(self.client.base_url).rstrip("/") + path

        def send() -> httpx.Response:
            try:
                return self.client.request(method, url, **kwargs)
            finally:
                # Each step states its credentials; a cookie jar would silently add a session.
                self.client.cookies.clear()

        return self.patience.send(send) if path.lower() == LOGIN else send()

    def account_by_id(self, user_id: Any) -> Account | None:
        return next((a for a in self.accounts.values() if a.user_id == user_id), None)


def session_cookie(response: httpx.Response) -> str:
    jar = SimpleCookie()
    jar.load(response.headers.get("set-cookie", ""))
    morsel = jar.get("unleash-session")
    assert morsel is not None, f"no session cookie: {response.status_code} {response.text}"
    return f"unleash-session={morsel.value}"


def _set_cookie_shape(value: str | None) -> str | None:
    """The cookie's name and attributes, without its random value and its date."""
    if value is None:
        return None
    name, *attributes = (part.strip() for part in value.split(";"))
    kept = [a.split("=")[0] if a.lower().startswith("expires=") else a for a in attributes]
    return "; ".join([name.split("=")[0], *kept])


def _etag_kind(value: str | None) -> str | None:
    if value is None:
        return None
    return "weak" if value.startswith('W/"') else "strong"


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(response.content)  # dicts keep the key order Unleash sent
        except ValueError:
            pass
    text = response.content.decode("utf-8", "replace")
    return text if len(text) <= 300 else f"<text of {len(response.content)} bytes>"


def observe(response: httpx.Response) -> Observation:
    headers = response.headers
    ratelimit = sorted(k for k in headers if k.startswith("ratelimit-"))
    return {
        "status": response.status_code,
        "content-type": headers.get("content-type"),
        "location": headers.get("location"),
        "ratelimit": ",".join(ratelimit) or None,
        # The policy is configuration (20000/min for PATs, 10/min for login), so compared as is.
        "ratelimit-policy": headers.get("ratelimit-policy"),
        "vary": headers.get("vary"),
        "etag": _etag_kind(headers.get("etag")),
        "transfer-encoding": headers.get("transfer-encoding"),
        "content-encoding": headers.get("content-encoding"),
        "retry-after": "retry-after" in headers,
        "set-cookie": _set_cookie_shape(headers.get("set-cookie")),
        "clear-site-data": headers.get("clear-site-data"),
        "cache-control": headers.get("cache-control"),
        "allow": headers.get("allow"),
        "x-powered-by": "x-powered-by" in headers,
        "body": _body(response),
    }


class SetupFailed(Exception):
    """A step a scenario depends on (e.g. creating the PAT it then deletes) did not succeed."""


class Run:
    """One scenario against one target. Steps are named; what they create is deleted afterwards."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.steps: dict[str, Observation] = {}
        # Exact strings computed from the clock (e.g. an expiry 3 s ahead), and their stand-ins.
        # The admin token differs per target and Unleash echoes it in GET /api/admin/user.
        self.volatile: dict[str, str] = {target.admin_token: "<admin token>"}
        self._created: list[tuple[Account, int]] = []

    def account(self, label: str) -> Account:
        return self.target.accounts[label]

    def pat(self, label: str) -> str:
        secret = self.account(label).pat
        assert secret is not None
        return secret

    def auth(self, who: str) -> dict[str, str]:
        """Headers authenticating as `who`: an account label, or "admin" (the admin API token)."""
        if who == "admin":
            return {"Authorization": self.target.admin_token}
        return self.account(who).credential()

    def send(
        self,
        step: str,
        method: str,
        path: str,
        *,
        as_: str | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        json_body: Any = _UNSET,
        raw: bytes | None = None,
        content_type: str | None = JSON,
        view: Callable[[Any], Any] | None = None,
    ) -> httpx.Response:
        """Send one request and record it as `step`. The body is `json_body` serialized
        compactly (as a browser would) or `raw` bytes; `content_type=None` sends none.
        `headers` as a list may repeat a header (Node keeps the first Authorization)."""
        assert step not in self.steps, f"step {step!r} is recorded twice"
        extra = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        all_headers = list((self.auth(as_) if as_ else {}).items()) + extra
        content = raw
        if json_body is not _UNSET:
            content = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
        named = {name.lower() for name, _ in all_headers}
        if content is not None and content_type is not None and "content-type" not in named:
            all_headers.append(("Content-Type", content_type))
        response = self.target.request(method, path, headers=all_headers, content=content)
        observation = observe(response)
        if view is not None:
            observation["body"] = view(observation["body"])
        self.steps[step] = observation
        self._remember_created(method, path, response)
        return response

    def record(self, step: str, observation: Observation) -> None:
        self.steps[step] = observation

    def create(
        self, step: str, who: str, description: str, expires_at: str = FAR
    ) -> dict[str, Any]:
        """Create a PAT that later steps depend on; returns the 201 body."""
        response = self.send(
            step,
            "POST",
            TOKENS,
            as_=who,
            json_body={"description": description, "expiresAt": expires_at},
        )
        if response.status_code != 201:
            raise SetupFailed(f"{step}: {response.status_code} {response.text[:300]}")
        return response.json()

    def status(self, step: str) -> int:
        return int(self.steps[step]["status"])

    def _remember_created(self, method: str, path: str, response: httpx.Response) -> None:
        if method != "POST" or response.status_code != 201:
            return
        if not path.lower().rstrip("/").endswith(TOKENS.lower()):
            return
        body = response.json()
        owner = self.target.account_by_id(body.get("userId"))
        assert owner is not None, f"a PAT was created for an unknown user: {body}"
        self._created.append((owner, body["id"]))

    def cleanup(self) -> None:
        """Delete what the run created, with each owner's own credential (their PATs are
        limited to 10, and later scenarios compare their lists)."""
        for owner, pat_id in self._created:
            self.target.request("DELETE", f"{TOKENS}/{pat_id}", headers=owner.credential())
        self._created.clear()
