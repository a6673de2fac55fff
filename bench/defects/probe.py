"""The client a defect's demo drives: a fresh app in process, its clock frozen, the default
fixtures' credentials at hand. A demo returns an observation; the defect's must differ from the
reference's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.testclient import TestClient

from mock_server import Clock

# The default fixtures (fixtures/default.yaml, documented in README.md).
ADMIN_PAT = "user:8a9cd91daa6c7d94da92681820a0934d8cf5d1684e138bff7054b09a"
ALICE_PAT = "user:62e1172b05d246d7ba100d6f009ee9e66ecb61962b9c3c824c045b53"
ADMIN_TOKEN = "*:*.unleash-insecure-admin-api-token"
ADMIN_LOGIN = ("admin", "unleash4all")
ALICE_LOGIN = ("alice", "alice-password-1")
TOKENS = "/api/admin/user/tokens"
FAR = "2099-01-01T00:00:00.000Z"
NOW = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
_UNSET: Any = object()


def iso(moment: datetime) -> str:
    """Date#toISOString."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def frozen_clock() -> Clock:
    clock = Clock()
    clock.freeze(NOW)
    return clock


class Probe:
    """In process by default; with `url`, over HTTP against `app` served there."""

    def __init__(self, app: Any, clock: Clock, url: str | None = None) -> None:
        self.client: httpx.Client = (
            httpx.Client(base_url=url) if url else TestClient(app, base_url="http://localhost")
        )
        self.clock = clock

    def close(self) -> None:
        self.client.close()

    def later(self, seconds: float) -> str:
        """The ISO instant `seconds` from the probe's now."""
        return iso(self.clock.now() + timedelta(seconds=seconds))

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: str | None = ADMIN_PAT,
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
        json: Any = _UNSET,
        content: bytes | str | None = None,
    ) -> httpx.Response:
        sent: dict[str, str] = {}
        if auth is not None:
            sent["Authorization"] = auth
        if cookie is not None:
            sent["Cookie"] = cookie
        sent.update(headers or {})
        if json is not _UNSET:
            response = self.client.request(method, path, headers=sent, json=json)
        else:
            response = self.client.request(method, path, headers=sent, content=content)
        self.client.cookies.clear()  # a demo sends cookies itself
        return response

    def get(self, path: str = TOKENS, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str = TOKENS, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def delete(self, pat_id: int | str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", f"{TOKENS}/{pat_id}", **kw)

    def create(
        self, description: Any, expires_at: Any = FAR, *, auth: str = ADMIN_PAT
    ) -> httpx.Response:
        return self.post(json={"description": description, "expiresAt": expires_at}, auth=auth)

    def pats(self, auth: str = ADMIN_PAT) -> list[dict[str, Any]]:
        return self.get(auth=auth).json()["pats"]

    def fill(self, count: int, *, expires_at: str = FAR, auth: str = ADMIN_PAT) -> list[int]:
        """Create `count` PATs; their statuses."""
        return [self.create(f"fill-{i}", expires_at, auth=auth).status_code for i in range(count)]

    def login(self, username: str = ADMIN_LOGIN[0], password: str = ADMIN_LOGIN[1]) -> str:
        """Log in; the Cookie header value of the session (empty if refused)."""
        response = self.post(
            "/auth/simple/login", auth=None, json={"username": username, "password": password}
        )
        cookie = response.headers.get("set-cookie", "")
        return cookie.split(";")[0]
