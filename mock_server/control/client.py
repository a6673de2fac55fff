"""A Python client for the control API of a running mock (in this process or another):

    from mock_server.control.client import ControlClient

    unleash = ControlClient("http://127.0.0.1:4242")
    unleash.reset()
    unleash.clock.freeze()
    unleash.clock.advance(days=15)
    unleash.faults.add(method="GET", path="/api/admin/user/tokens", status=503, times=1)
    assert unleash.journal.count(method="DELETE") == 1
    unleash.load({"users": [...]})            # add users, PATs, admin tokens
    unleash.snapshot()["users"][0]["pats"]    # with their secrets

The pytest plugin's `unleash` fixture is one of these (plus `url` and `token`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

PREFIX = "/_unleash-pat"


class ControlRequestError(Exception):
    """The control API refused a call; `status` and its message say why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class _Http:
    """The standard library's HTTP client: the pytest plugin uses this module, and the package
    does not depend on httpx."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        self.base = url.rstrip("/") + PREFIX
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        media: str = "application/json",
        params: dict[str, Any] | None = None,
    ) -> Any:
        url = self.base + path + (f"?{urlencode(params)}" if params else "")
        if json_body is not None:
            content = json.dumps(json_body).encode()
        headers = dict(self.headers) | ({"Content-Type": media} if content is not None else {})
        request = urllib.request.Request(url, data=content, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                message = text
            raise ControlRequestError(error.code, message) from None
        return json.loads(body) if body else None


def _instant(at: datetime | str) -> str:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("give the clock an aware datetime (with tzinfo)")
        return at.isoformat()
    return at


class Clock:
    def __init__(self, http: _Http) -> None:
        self._http = http

    def get(self) -> dict[str, Any]:
        """`{"now": "<date-time>", "frozen": bool}`"""
        return self._http.call("GET", "/clock")

    def now(self) -> datetime:
        return datetime.fromisoformat(self.get()["now"])

    def freeze(self, at: datetime | str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"frozen": True}
        if at is not None:
            body["now"] = _instant(at)
        return self._http.call("PUT", "/clock", json_body=body)

    def resume(self) -> dict[str, Any]:
        return self._http.call("PUT", "/clock", json_body={"frozen": False})

    def set(self, at: datetime | str) -> dict[str, Any]:
        return self._http.call("PUT", "/clock", json_body={"now": _instant(at)})

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> dict[str, Any]:
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        return self._http.call("POST", "/clock/advance", json_body={"seconds": total})

    def reset(self) -> dict[str, Any]:
        """Back to the wall clock, running."""
        return self._http.call("DELETE", "/clock")


class Faults:
    def __init__(self, http: _Http) -> None:
        self._http = http

    def add(
        self,
        method: str | None = None,
        path: str | None = None,
        user: int | None = None,
        **action: Any,
    ) -> dict[str, Any]:
        """A rule for the requests matching method, path (a trailing `*`: a prefix) and user
        (None: any). `action`: `status=` (and `body=`), `delay_ms=` (a number, or
        `{"min": …, "max": …}`), `drop=True` or `truncate=True`; then `times=N`, or
        `probability=p` with `seed=s`. Returns the rule with its id."""
        pairs = (("method", method), ("path", path), ("user", user))
        match = {k: v for k, v in pairs if v is not None}
        return self._http.call("POST", "/faults", json_body={"match": match, **action})

    def list(self) -> list[dict[str, Any]]:
        return self._http.call("GET", "/faults")["faults"]

    def clear(self) -> None:
        self._http.call("DELETE", "/faults")


class Journal:
    def __init__(self, http: _Http) -> None:
        self._http = http

    def _query(self, filters: dict[str, Any], limit: int | None) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v is not None}
        if limit is not None:
            params["limit"] = limit
        return self._http.call("GET", "/journal", params=params)

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        user: int | None = None,
        *,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The recent requests that match, oldest first (the latest `limit` of them)."""
        filters = {"method": method, "path": path, "status": status, "user": user}
        return self._query(filters, limit)["requests"]

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        user: int | None = None,
    ) -> int:
        filters = {"method": method, "path": path, "status": status, "user": user}
        return self._query(filters, 0)["count"]

    def clear(self) -> None:
        self._http.call("DELETE", "/journal")


class Options:
    def __init__(self, http: _Http) -> None:
        self._http = http

    def get(self) -> dict[str, Any]:
        return self._http.call("GET", "/options")

    def set(self, **options: Any) -> dict[str, Any]:
        """`pats_kill_switch`, `token_expiry_notifications`, `token_expiry_notification_days`,
        `rate_limit_per_minute`, `seen_at_flush_seconds`, `unleash_version`, `bug_compatible`;
        others stay."""
        return self._http.call("PUT", "/options", json_body=options)


class ControlClient:
    def __init__(self, url: str, *, token: str | None = None, timeout: float = 30.0) -> None:
        self._http = _Http(url, token, timeout)
        self.clock = Clock(self._http)
        self.faults = Faults(self._http)
        self.journal = Journal(self._http)
        self.options = Options(self._http)

    def reset(self) -> None:
        """Back to how the mock started: its fixtures, clock and options; no fault rules, an
        empty journal, no sessions or rate windows. A request in flight fails (503)."""
        self._http.call("POST", "/reset")

    def snapshot(self) -> dict[str, Any]:
        """Users, PATs with their secrets, admin tokens, sessions and the clock."""
        return self._http.call("GET", "/state")

    def load(self, fixtures: dict[str, Any] | str | Path, *, replace: bool = False) -> dict:
        """Add fixtures (a dict in the fixtures format, or a YAML file) to the state; with
        `replace`, a fresh state seeded with them (until the next reset, which returns to the
        mock's own fixtures). Returns the new snapshot."""
        if isinstance(fixtures, dict):
            content, media = json.dumps(fixtures).encode(), "application/json"
        else:
            content, media = Path(fixtures).read_bytes(), "application/yaml"
        return self._http.call(
            "POST",
            "/fixtures",
            params={"mode": "replace" if replace else "add"},
            content=content,
            media=media,
        )
