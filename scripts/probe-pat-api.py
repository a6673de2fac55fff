#!/usr/bin/env python3
"""Send one fixed list of requests to an Unleash (or the mock) and record every answer as sent:
status, the headers that matter, the body. The evidence behind docs/observations/.

    eval "$(scripts/real-unleash.sh up --version 7.5.1)"
    .venv/bin/python scripts/probe-pat-api.py record --out /tmp/probe-7.5.1.json
    .venv/bin/python scripts/probe-pat-api.py diff /tmp/probe-7.6.5.json /tmp/probe-7.5.1.json
    .venv/bin/python scripts/probe-pat-api.py show /tmp/probe-7.5.1.json [STEP...]
    .venv/bin/python scripts/probe-pat-api.py logout --out /tmp/logout-7.5.1.json
    .venv/bin/python scripts/probe-pat-api.py ui-config \
        --out releases/ui-config/unleash-7.5.1.json /tmp/run-a/env /tmp/run-b/env

`record` reads UNLEASH_URL, UNLEASH_PAT, UNLEASH_PAT_2 (two users' PATs), UNLEASH_ADMIN_TOKEN,
UNLEASH_USER and UNLEASH_PASSWORD (the first PAT's user), as `real-unleash.sh up` exports them.
It creates PATs named `probe-*` for those two users and deletes them again at the end. It logs
in three times (Unleash allows 10 logins a minute). `--deep` also sends a valid body nested
2,000 levels deep (never to 6.x: it kills 6.10.1's process).

`logout` records `POST /logout` and its neighbours instead: which of the first user's sessions
end (a logout ends every one of them), its answers to each credential and Accept header, other
methods and /api/admin/logout. With UNLEASH_USER_2 and UNLEASH_PASSWORD_2 (the second PAT's
user) it also shows that another user's session lives on, and a cookie beside the admin token.
It creates nothing, and logs in five times.

`ui-config` records `GET /api/admin/ui-config` as the mock answers it, into the release's file
in releases/ui-config/: from each server named by an env file (the export line
`real-unleash.sh up` writes to `$UNLEASH_PAT_RUN_DIR/env`; none: this process's environment),
with the admin token, both PATs and a session of the first user (one login each). Give two
servers of one release (two run dirs): every value that depends on the instance or the caller
is written as a placeholder the mock computes (`"${instanceId}"`, see releases/ui-config/
README.md), and any other value that differs between the answers fails the recording.

Secrets are shortened as recorded (`user:8a9c…`, `*:*.1a2b…`), so a record can be kept.
`diff` compares two records after normalizing what differs by nature between servers (ids,
times, uuids, secrets, ETags, rate-limit counters, user ids as `alice`/`bob`), and prints each
step whose status, body or headers differ.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

TOKENS = "/api/admin/user/tokens"
FAR = "2099-06-30T12:00:00.000Z"
# The PATs the probe never deletes: real-unleash.sh's, and the mock's bundled fixtures'.
BOOTSTRAP = ("real-unleash-bootstrap", "default", "alice-default")
HEADERS_KEPT = (
    "content-type",
    "content-length",
    "transfer-encoding",
    "location",
    "etag",
    "vary",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "retry-after",
    "set-cookie",
    "www-authenticate",
    "x-powered-by",
    "access-control-allow-origin",
    "cache-control",
    "clear-site-data",
    "allow",
)


def redact(text: str) -> str:
    text = re.sub(r"(user:(?:v2_)?[0-9a-zA-Z]{4})[0-9a-zA-Z_-]{8,}", r"\1…", text)
    text = re.sub(r"(\*:\*\.[0-9a-f]{4})[0-9a-f]{8,}", r"\1…", text)
    text = re.sub(r'("password":\s*")[^"]*', r"\1…", text)
    return re.sub(r"(unleash-session=s%3A)[^;\s\"]+", r"\1…", text)


class NoJar(httpx.Cookies):
    """A cookie jar that keeps nothing (httpx stores every Set-Cookie by default)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class Prober:
    def __init__(self, url: str, pat: str, pat2: str, admin: str, user: str, password: str):
        # identity: compressed answers would hide Content-Length and Transfer-Encoding. No
        # cookie jar: a session cookie is sent only where a step names it.
        self.client = httpx.Client(
            base_url=url, timeout=30, headers={"Accept-Encoding": "identity"}
        )
        self.client._cookies = NoJar()  # the setter would copy it into a plain jar
        self.pat, self.pat2, self.admin = pat, pat2, admin
        self.user, self.password = user, password
        self.steps: list[dict[str, Any]] = []
        self.ids: dict[str, int] = {}  # probe PAT id -> its label, for normalizing
        self.user_ids: dict[int, str] = {}

    # -- sending ---------------------------------------------------------------------------------
    def send(
        self,
        step: str,
        method: str,
        path: str,
        *,
        auth: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        json_body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = "application/json",
    ) -> httpx.Response | None:
        sent: list[tuple[str, str]] = list(headers or [])
        if auth is not None:
            sent.append(("Authorization", auth))
        content = raw
        if json_body is not None:
            content = json.dumps(json_body).encode()
        if content is not None and content_type:
            sent.append(("Content-Type", content_type))
        record: dict[str, Any] = {
            "step": step,
            "request": {
                "method": method,
                "path": path,
                "headers": [[k, redact(v)] for k, v in sent],
                "body": None if content is None else redact(content.decode("utf-8", "replace")),
            },
        }
        try:
            r = self.client.request(method, path, headers=sent, content=content)
        except httpx.HTTPError as exc:  # a server that dies or hangs on a request is a finding
            record["error"] = f"{type(exc).__name__}: {exc}"
            self.steps.append(record)
            return None
        record["status"] = r.status_code
        record["headers"] = {k: redact(r.headers[k]) for k in HEADERS_KEPT if k in r.headers}
        record["body"] = redact(r.text)
        self.steps.append(record)
        return r

    def create(self, step: str, description: str, *, auth: str | None = None, expires: str = FAR):
        auth = auth or self.pat
        r = self.send(
            step,
            "POST",
            TOKENS,
            auth=auth,
            json_body={"description": description, "expiresAt": expires},
        )
        if r is not None and r.status_code == 201:
            pat = r.json()
            self.ids[description] = pat["id"]
            return pat
        return None

    def login(self, step: str, username: str, password: str) -> str | None:
        r = self.send(
            step,
            "POST",
            "/auth/simple/login",
            json_body={"username": username, "password": password},
        )
        if r is None:
            return None
        for value in r.headers.get_list("set-cookie"):
            if value.startswith("unleash-session="):
                return value.split(";", 1)[0]
        return None

    # -- the requests --------------------------------------------------------------------------
    def whoami(self) -> None:
        for label, pat in (("alice", self.pat), ("bob", self.pat2)):
            r = self.send(f"whoami-{label}", "GET", "/api/admin/user", auth=pat)
            if r is not None and r.status_code == 200:
                self.user_ids[r.json()["user"]["id"]] = label

    def run(self, deep: bool) -> None:
        self.whoami()
        self.send("health", "GET", "/health")
        self.send("ui-config", "GET", "/api/admin/ui-config", auth=self.pat)
        self.send("openapi", "GET", "/docs/openapi.json")

        a = self.create("create-valid", "probe-a")
        aid = a["id"] if a else 999_999
        self.send("list-alice", "GET", TOKENS, auth=self.pat)
        self.send("list-bob", "GET", TOKENS, auth=self.pat2)
        self.send("list-query-string", "GET", TOKENS + "?limit=1&x=y", auth=self.pat)

        # Authentication.
        for step, value in (
            ("auth-garbage", "garbage"),
            ("auth-user-deadbeef", "user:deadbeef"),
            ("auth-pat-one-char-changed", self.pat[:-1] + ("0" if self.pat[-1] != "0" else "1")),
            ("auth-pat-upper-cased", self.pat.upper()),
            ("auth-token-prefix", f"Token {self.pat}"),
            ("auth-bearer-alone", "Bearer"),
            ("auth-bearer-garbage", "Bearer garbage"),
            ("auth-bearer-pat", f"Bearer {self.pat}"),
            ("auth-lowercase-bearer-pat", f"bearer {self.pat}"),
            ("auth-admin-token", self.admin),
            ("auth-bearer-admin-token", f"Bearer {self.admin}"),
        ):
            self.send(f"{step}-get", "GET", TOKENS, auth=value)
        for step, headers in (
            ("auth-none", []),
            ("auth-empty", [("Authorization", "")]),
        ):
            self.send(f"{step}-get", "GET", TOKENS, headers=headers)
        self.send(
            "auth-none-post", "POST", TOKENS, json_body={"description": "probe-x", "expiresAt": FAR}
        )
        self.send("auth-none-delete", "DELETE", f"{TOKENS}/{aid}")
        self.send(
            "auth-garbage-post",
            "POST",
            TOKENS,
            auth="garbage",
            json_body={"description": "probe-x", "expiresAt": FAR},
        )
        self.send("auth-garbage-delete", "DELETE", f"{TOKENS}/{aid}", auth="garbage")
        b = self.create("auth-bearer-pat-post", "probe-bearer", auth=f"Bearer {self.pat}")
        if b:
            self.send(
                "auth-bearer-pat-delete", "DELETE", f"{TOKENS}/{b['id']}", auth=f"Bearer {self.pat}"
            )
        self.send(
            "auth-admin-token-post",
            "POST",
            TOKENS,
            auth=self.admin,
            json_body={"description": "probe-admin", "expiresAt": FAR},
        )
        self.send("auth-admin-token-delete-existing", "DELETE", f"{TOKENS}/{aid}", auth=self.admin)
        self.send("auth-admin-token-delete-missing", "DELETE", f"{TOKENS}/999999", auth=self.admin)
        self.send("auth-admin-token-after-delete-list", "GET", TOKENS, auth=self.pat)
        self.send("auth-admin-token-whoami", "GET", "/api/admin/user", auth=self.admin)
        self.send(
            "auth-two-headers-pat-first",
            "GET",
            TOKENS,
            headers=[("Authorization", self.pat), ("Authorization", "garbage")],
        )
        self.send(
            "auth-two-headers-garbage-first",
            "GET",
            TOKENS,
            headers=[("Authorization", "garbage"), ("Authorization", self.pat)],
        )

        # Login and the session cookie.
        self.send(
            "login-bad-password",
            "POST",
            "/auth/simple/login",
            json_body={"username": self.user, "password": "Wrong-password-1!"},
        )
        self.send(
            "login-unknown-user",
            "POST",
            "/auth/simple/login",
            json_body={"username": "probe-nobody", "password": "Wrong-password-1!"},
        )
        cookie = self.login("login-good", self.user, self.password)
        if cookie:
            self.send("cookie-list", "GET", TOKENS, headers=[("Cookie", cookie)])
            self.send(
                "cookie-first-use-again", "GET", "/api/admin/user", headers=[("Cookie", cookie)]
            )
            self.send(
                "cookie-and-bob-pat-list",
                "GET",
                TOKENS,
                headers=[("Cookie", cookie), ("Authorization", self.pat2)],
            )
            self.send(
                "cookie-and-garbage-list",
                "GET",
                TOKENS,
                headers=[("Cookie", cookie), ("Authorization", "garbage")],
            )
            self.send(
                "cookie-and-admin-token-list",
                "GET",
                TOKENS,
                headers=[("Cookie", cookie), ("Authorization", self.admin)],
            )
            self.send(
                "cookie-and-admin-token-whoami",
                "GET",
                "/api/admin/user",
                headers=[("Cookie", cookie), ("Authorization", self.admin)],
            )
            r = self.send(
                "cookie-create",
                "POST",
                TOKENS,
                headers=[("Cookie", cookie)],
                json_body={"description": "probe-cookie", "expiresAt": FAR},
            )
            if r is not None and r.status_code == 201:
                c = r.json()
                self.ids["probe-cookie"] = c["id"]
                self.send(
                    "cookie-delete", "DELETE", f"{TOKENS}/{c['id']}", headers=[("Cookie", cookie)]
                )
        self.send(
            "bogus-cookie-list",
            "GET",
            TOKENS,
            headers=[("Cookie", "unleash-session=s%3Abogus.c2lnbmF0dXJl")],
        )

        # Creation: bodies.
        bodies: list[tuple[str, Any]] = [
            (
                "create-extra-fields",
                {
                    "description": "probe-extra",
                    "expiresAt": FAR,
                    "id": 1,
                    "secret": "user:x",
                    "userId": 1,
                },
            ),
            ("create-description-number", {"description": 123, "expiresAt": FAR}),
            ("create-description-true", {"description": True, "expiresAt": FAR}),
            ("create-description-object", {"description": {"a": 1}, "expiresAt": FAR}),
            ("create-description-array", {"description": ["a"], "expiresAt": FAR}),
            ("create-description-null", {"description": None, "expiresAt": FAR}),
            ("create-description-empty", {"description": "", "expiresAt": FAR}),
            ("create-description-missing", {"expiresAt": FAR}),
            ("create-expiry-missing", {"description": "probe-no-expiry"}),
            ("create-expiry-null", {"description": "probe-null-expiry", "expiresAt": None}),
            ("create-expiry-empty", {"description": "probe-x", "expiresAt": ""}),
            ("create-expiry-word", {"description": "probe-x", "expiresAt": "tomorrow"}),
            ("create-expiry-date-only", {"description": "probe-x", "expiresAt": "2031-05-06"}),
            (
                "create-expiry-feb-30",
                {"description": "probe-x", "expiresAt": "2031-02-30T00:00:00.000Z"},
            ),
            ("create-expiry-number", {"description": "probe-x", "expiresAt": 1893456000000}),
            (
                "create-expiry-past",
                {"description": "probe-x", "expiresAt": "2020-01-01T00:00:00.000Z"},
            ),
            (
                "create-expiry-offset-plus-16",
                {"description": "probe-x", "expiresAt": "2031-01-01T12:00:00+16:00"},
            ),
            (
                "create-expiry-past-hour-only-offset",
                {"description": "probe-hour-offset", "expiresAt": "2020-01-01T00:00:00+02"},
            ),
            (
                "create-expiry-past-leap-second",
                {"description": "probe-leap", "expiresAt": "2020-12-31T23:59:60Z"},
            ),
            (
                "create-expiry-far-future",
                {"description": "probe-far", "expiresAt": "9999-12-31T23:59:59.999Z"},
            ),
            (
                "create-expiry-offset",
                {"description": "probe-offset", "expiresAt": "2031-01-01T12:00:00.123456+05:30"},
            ),
            ("create-description-nul", {"description": "probe-\u0000-nul", "expiresAt": FAR}),
            ("create-body-array", [{"description": "probe-x", "expiresAt": FAR}]),
            ("create-body-null", None),
            ("create-body-string", "str"),
        ]
        for step, body in bodies:
            if body is None:
                r = self.send(step, "POST", TOKENS, auth=self.pat, raw=b"null")
            else:
                r = self.send(step, "POST", TOKENS, auth=self.pat, json_body=body)
            if r is not None and r.status_code == 201:  # deleted at once: the limit is 10
                self.ids[str(r.json()["description"])] = r.json()["id"]
                self.client.delete(
                    f"{TOKENS}/{r.json()['id']}", headers={"Authorization": self.pat}
                )

        for step, raw, ctype in (
            ("create-malformed-json", b"{not json", "application/json"),
            ("create-trailing-comma", b'{"description":"x",}', "application/json"),
            (
                "create-no-content-type",
                b'{"description":"probe-x","expiresAt":"' + FAR.encode() + b'"}',
                None,
            ),
            (
                "create-text-plain",
                b'{"description":"probe-x","expiresAt":"' + FAR.encode() + b'"}',
                "text/plain",
            ),
            ("create-form", b"description=probe-x", "application/x-www-form-urlencoded"),
            (
                "create-json-bare-semicolon",
                b'{"description":"probe-semicolon","expiresAt":"' + FAR.encode() + b'"}',
                "application/json;",
            ),
            (
                "create-json-charset",
                b'{"description":"probe-charset","expiresAt":"' + FAR.encode() + b'"}',
                "application/json; charset=utf-8",
            ),
        ):
            r = self.send(step, "POST", TOKENS, auth=self.pat, raw=raw, content_type=ctype)
            if r is not None and r.status_code == 201:
                self.ids[r.json()["description"]] = r.json()["id"]
                self.client.delete(
                    f"{TOKENS}/{r.json()['id']}", headers={"Authorization": self.pat}
                )
        self.send("create-malformed-json-no-auth", "POST", TOKENS, raw=b"{not json")
        self.send(
            "create-admin-token-invalid-body",
            "POST",
            TOKENS,
            auth=self.admin,
            json_body={"expiresAt": FAR},
        )
        self._cleanup(keep={"probe-a"})

        # Duplicates, isolation, the limit.
        self.send(
            "create-duplicate",
            "POST",
            TOKENS,
            auth=self.pat,
            json_body={"description": "probe-a", "expiresAt": FAR},
        )
        self.create("create-same-description-other-user", "probe-a", auth=self.pat2)
        listed = self.client.get(TOKENS, headers={"Authorization": self.pat}).json()["pats"]
        n = len(listed)
        for i in range(n, 10):
            self.create(f"limit-fill-{i + 1}", f"probe-limit-{i + 1}")
        self.send(
            "limit-eleventh",
            "POST",
            TOKENS,
            auth=self.pat,
            json_body={"description": "probe-limit-11", "expiresAt": FAR},
        )
        self.send(
            "limit-eleventh-duplicate",
            "POST",
            TOKENS,
            auth=self.pat,
            json_body={"description": "probe-a", "expiresAt": FAR},
        )
        self.send(
            "limit-eleventh-past",
            "POST",
            TOKENS,
            auth=self.pat,
            json_body={"description": "probe-limit-11", "expiresAt": "2020-01-01T00:00:00.000Z"},
        )
        self._cleanup(keep={"probe-a"})

        # Deletion.
        d = self.create("delete-setup", "probe-del")
        if d:
            self.send("delete-own", "DELETE", f"{TOKENS}/{d['id']}", auth=self.pat)
            self.send("delete-own-again", "DELETE", f"{TOKENS}/{d['id']}", auth=self.pat)
        for step, spelled in (
            ("delete-missing", "999999"),
            ("delete-zero", "0"),
            ("delete-minus-one", "-1"),
            ("delete-max-int4", "2147483647"),
            ("delete-above-int4", "2147483648"),
            ("delete-below-int4", "-2147483649"),
            ("delete-huge", "9999999999999999999999"),
            ("delete-infinity", "Infinity"),
            ("delete-abc", "abc"),
            ("delete-one-point-five", "1.5"),
            ("delete-exponent", "1e3"),
            ("delete-hex", "0x10"),
            ("delete-space", "%20"),
        ):
            self.send(step, "DELETE", f"{TOKENS}/{spelled}", auth=self.pat)
        for step, prefix, suffix in (
            ("delete-own-point-zero", "", ".0"),
            ("delete-own-exponent-zero", "", "e0"),
            ("delete-own-plus-sign", "+", ""),
            ("delete-own-leading-zero", "0", ""),
        ):
            p = self.create(f"{step}-setup", f"probe-{step}")
            if p:
                self.send(step, "DELETE", f"{TOKENS}/{prefix}{p['id']}{suffix}", auth=self.pat)
        self.send("delete-spelled-list", "GET", TOKENS, auth=self.pat)
        self._cleanup(keep={"probe-a"})
        bob = self.create("delete-other-setup", "probe-bobs", auth=self.pat2)
        if bob:
            self.send("delete-other-users-pat", "DELETE", f"{TOKENS}/{bob['id']}", auth=self.pat)
            self.send("delete-other-users-pat-list", "GET", TOKENS, auth=self.pat2)
        s = self.create("delete-self-setup", "probe-self")
        if s:
            self.send("delete-self", "DELETE", f"{TOKENS}/{s['id']}", auth=s["secret"])
            self.send("delete-self-after", "GET", TOKENS, auth=s["secret"])
        w = self.create("delete-with-body-setup", "probe-with-body")
        if w:
            self.send(
                "delete-with-body",
                "DELETE",
                f"{TOKENS}/{w['id']}",
                auth=self.pat,
                raw=b"{not json",
                content_type="text/plain",
            )

        # An expired PAT.
        soon = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%S.%f")[
            :-3
        ] + "Z"
        e = self.create("expired-setup", "probe-expiring", expires=soon)
        if e:
            self.send("expired-before", "GET", TOKENS, auth=e["secret"])
            time.sleep(4)
            self.send("expired-after", "GET", TOKENS, auth=e["secret"])
            self.send(
                "expired-reuse-description",
                "POST",
                TOKENS,
                auth=self.pat,
                json_body={"description": "probe-expiring", "expiresAt": FAR},
            )

        # Other methods and paths.
        for step, method, path, auth in (
            ("route-put-tokens", "PUT", TOKENS, self.pat),
            ("route-patch-tokens", "PATCH", TOKENS, self.pat),
            ("route-delete-tokens", "DELETE", TOKENS, self.pat),
            ("route-get-token-by-id", "GET", f"{TOKENS}/{aid}", self.pat),
            ("route-put-token-by-id", "PUT", f"{TOKENS}/{aid}", self.pat),
            ("route-unknown-admin-path", "GET", "/api/admin/probe-nothing", self.pat),
            ("route-unknown-admin-path-no-auth", "GET", "/api/admin/probe-nothing", None),
            ("route-upper-case-path", "GET", "/API/ADMIN/USER/TOKENS", self.pat),
            ("route-trailing-slash", "GET", TOKENS + "/", self.pat),
            ("route-options", "OPTIONS", TOKENS, self.pat),
            ("route-client-api-with-pat", "GET", "/api/client/features", self.pat),
            ("route-frontend-api-with-pat", "GET", "/api/frontend", self.pat),
        ):
            self.send(step, method, path, auth=auth)
        self.send(
            "route-post-trailing-slash",
            "POST",
            TOKENS + "/",
            auth=self.pat,
            json_body={"description": "probe-slash", "expiresAt": FAR},
        )
        r = self.client.get(TOKENS, headers={"Authorization": self.pat})
        if "etag" in r.headers:
            self.send(
                "list-if-none-match",
                "GET",
                TOKENS,
                auth=self.pat,
                headers=[("If-None-Match", r.headers["etag"])],
            )

        if deep:
            nested = "[" * 2000 + "]" * 2000
            body = (
                '{"description":"probe-deep","expiresAt":"' + FAR + '","x":' + nested + "}"
            ).encode()
            self.send("create-body-deeply-nested-array", "POST", TOKENS, auth=self.pat, raw=body)
        self._cleanup(keep=set())
        self.send("list-alice-at-end", "GET", TOKENS, auth=self.pat)

    def run_logout(self, user2: str | None, password2: str | None) -> None:
        self.whoami()
        me = "/api/admin/user"

        def session(step: str, cookie: str | None) -> None:
            if cookie:
                self.send(step, "GET", me, headers=[("Cookie", cookie)])

        first = self.login("logout-login-first", self.user, self.password)
        second = self.login("logout-login-second", self.user, self.password)
        other = None
        if user2 and password2:
            other = self.login("logout-login-other-user", user2, password2)
        if first:
            self.send("logout-cookie", "POST", "/logout", headers=[("Cookie", first)])
        session("logout-cookie-same-session-after", first)
        session("logout-cookie-other-session-after", second)
        session("logout-cookie-other-users-session-after", other)
        self.send("logout-cookie-pat-after", "GET", me, auth=self.pat)
        if first:
            self.send("logout-cookie-again", "POST", "/logout", headers=[("Cookie", first)])

        third = self.login("logout-login-third", self.user, self.password)
        self.send("logout-pat", "POST", "/logout", auth=self.pat)
        session("logout-pat-session-after", third)
        self.send("logout-pat-pat-after", "GET", me, auth=self.pat)

        for step, method, path, auth in (
            ("logout-none", "POST", "/logout", None),
            ("logout-get-none", "GET", "/logout", None),
            ("logout-unknown-pat", "POST", "/logout", "user:deadbeef"),
            ("logout-bearer-pat", "POST", "/logout", f"Bearer {self.pat}"),
            ("logout-admin-token", "POST", "/logout", self.admin),
            ("logout-get-pat", "GET", "/logout", self.pat),
            ("logout-head-pat", "HEAD", "/logout", self.pat),
            ("logout-options-pat", "OPTIONS", "/logout", self.pat),
            ("logout-put-pat", "PUT", "/logout", self.pat),
            ("logout-upper-case-slash", "POST", "/LOGOUT/", self.pat),
            ("logout-api-admin-none", "POST", "/api/admin/logout", None),
            ("logout-api-admin-pat", "POST", "/api/admin/logout", self.pat),
        ):
            self.send(step, method, path, auth=auth)
        for step, accept in (
            ("logout-accept-html", "text/html"),
            ("logout-accept-json", "application/json"),
            ("logout-accept-any", "*/*"),
        ):
            self.send(step, "POST", "/logout", auth=self.pat, headers=[("Accept", accept)])
        session("logout-admin-token-other-users-session-after", other)
        if other:
            self.send(
                "logout-cookie-and-admin-token",
                "POST",
                "/logout",
                auth=self.admin,
                headers=[("Cookie", other)],
            )
        session("logout-cookie-and-admin-token-session-after", other)
        self.login("logout-login-after", self.user, self.password)

    def _cleanup(self, keep: set[str]) -> None:
        """Delete every PAT of both users but their bootstrap PATs and those named in `keep`
        (unrecorded requests); coerced descriptions ("123", "true") are caught too."""
        for pat in (self.pat, self.pat2):
            r = self.client.get(TOKENS, headers={"Authorization": pat})
            if r.status_code != 200:
                continue
            for p in r.json()["pats"]:
                if p["description"] not in BOOTSTRAP and p["description"] not in keep:
                    self.client.delete(f"{TOKENS}/{p['id']}", headers={"Authorization": pat})


# -- normalizing and comparing ------------------------------------------------------------------
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def normalize(record: dict[str, Any]) -> dict[str, Any]:
    ids = {v: k for k, v in record.get("ids", {}).items()}
    users = {int(k): v for k, v in record.get("user_ids", {}).items()}

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if key == "userId" and isinstance(value, int):
            return users.get(value, "<user>")
        if key == "id" and isinstance(value, int):
            return ids.get(value, "<id>")
        if isinstance(value, str):
            return text(value)
        return value

    def text(value: str) -> str:
        value = UUID.sub("<uuid>", value)
        value = re.sub(r"user:[0-9a-f]{4}…", "user:<secret>", value)
        value = re.sub(
            r"(/api/admin/user/tokens/)(\d+)",
            lambda m: m.group(1) + ids.get(int(m.group(2)), m.group(2)),
            value,
        )
        # an id spelled another way inside a message: "23.0", "23e0", "+23"
        value = re.sub(
            r'"(\+?)(\d+)(\.0|e0)?"',
            lambda m: (
                '"' + m.group(1) + ids.get(int(m.group(2)), m.group(2)) + (m.group(3) or "") + '"'
            ),
            value,
        )
        if TS.fullmatch(value) and not value.startswith(("2099", "9999", "2031", "2020", "2021")):
            return "<now>"
        return value

    out = []
    for step in record["steps"]:
        s = {"step": step["step"], "status": step.get("status"), "error": step.get("error")}
        body = step.get("body", "")
        try:
            parsed = json.loads(body) if body else body
            if step["step"] == "openapi" and isinstance(parsed, dict):
                parsed = {"info.version": parsed.get("info", {}).get("version")}
            elif step["step"] in ("ui-config",) and isinstance(parsed, dict):
                parsed = {
                    "keys": list(parsed),
                    "version": parsed.get("version"),
                    "flags": {
                        k: v
                        for k, v in parsed.get("flags", {}).items()
                        if "ccessToken" in k or "xpiry" in k
                    },
                }
            elif step["step"].startswith(
                (
                    "whoami",
                    "login-good",
                    "cookie-first-use",
                    "auth-admin-token-whoami",
                    "cookie-and-admin-token-whoami",
                )
            ) and isinstance(parsed, dict):
                user = parsed.get("user", parsed)
                parsed = {
                    "keys": list(parsed),
                    "user-keys": list(user) if isinstance(user, dict) else user,
                }
            s["body"] = walk(parsed)
        except ValueError:
            s["body"] = text(body)
        h = dict(step.get("headers", {}))
        for k in ("etag", "ratelimit-remaining", "ratelimit-reset", "content-length"):
            if k in h:
                h[k] = "<n>"
        if "set-cookie" in h:
            h["set-cookie"] = re.sub(r"Expires=[^;]+", "Expires=<date>", h["set-cookie"])
        s["headers"] = h
        out.append(s)
    return {"steps": out}


def _drop_detail_descriptions(record: dict[str, Any]) -> None:
    """5.x repeats each error detail's message under `description`: fold that difference away
    to see the others."""
    for step in record["steps"]:
        body = step.get("body")
        if isinstance(body, dict) and isinstance(body.get("details"), list):
            for detail in body["details"]:
                if isinstance(detail, dict):
                    detail.pop("description", None)


def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def diff(
    a_path: str, b_path: str, fold_descriptions: bool = False, ignore_headers: tuple[str, ...] = ()
) -> int:
    a = normalize(_load(a_path))
    b = normalize(_load(b_path))
    for record in (a, b):
        if fold_descriptions:
            _drop_detail_descriptions(record)
        for step in record["steps"]:
            for name in ignore_headers:
                step["headers"].pop(name.lower(), None)
    bs = {s["step"]: s for s in b["steps"]}
    as_ = {s["step"]: s for s in a["steps"]}
    n = 0
    for name in list(as_) + [k for k in bs if k not in as_]:
        x, y = as_.get(name), bs.get(name)
        if json.dumps(x) == json.dumps(y):  # key order counts
            continue
        n += 1
        print(f"## {name}")
        if x is None or y is None:
            print(f"  only in {'B' if x is None else 'A'}")
            continue
        for field in ("status", "error", "body", "headers"):
            if json.dumps(x.get(field)) != json.dumps(y.get(field)):
                print(f"  {field}:")
                for side, value in (("A", x.get(field)), ("B", y.get(field))):
                    print(f"    {side}: {json.dumps(value, ensure_ascii=False)}")
    print(f"{n} steps differ")
    return 0


def show(path: str, steps: list[str]) -> int:
    record = _load(path)
    for s in record["steps"]:
        if steps and s["step"] not in steps:
            continue
        req = s["request"]
        print(
            f"## {s['step']}\n  {req['method']} {req['path']} {req['headers']} {req['body'] or ''}"
        )
        print(f"  -> {s.get('status', s.get('error'))} {s.get('headers', {})}")
        print(f"  {s.get('body', '')[:3000]}")
    return 0


# -- ui-config ----------------------------------------------------------------------------------
UI_CONFIG = "/api/admin/ui-config"
SESSION = "unleash-session"
# Flags the mock's options set (personalAccessTokensKillSwitch: UNLEASH_PAT_KILL_SWITCH, ...).
OPTION_FLAGS = (
    "personalAccessTokensKillSwitch",
    "tokenExpiryNotifications",
    "secureAccountTokenStorage",
)


def _env_file(path: str) -> dict[str, str]:
    """The variables of an `export A=B C=D` line (real-unleash.sh's env file)."""
    words = shlex.split(Path(path).read_text(encoding="utf-8"))
    return dict(w.split("=", 1) for w in words if "=" in w)


# Where each placeholder goes: the values that depend on the instance, the options or the caller.
PLACEHOLDERS = {
    ("version",): "version",
    ("unleashUrl",): "unleashUrl",
    ("baseUriPath",): "baseUriPath",
    ("authenticationType",): "authenticationType",
    ("versionInfo", "current", "oss"): "version",
    ("versionInfo", "instanceId"): "instanceId",
    ("unleashContext",): "unleashContext",
    **{("flags", flag): flag for flag in OPTION_FLAGS},
}


def _placeholders(body: dict[str, Any], url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`body` with each value that depends on the instance, the options or the caller as its
    placeholder, and the values it replaced, by placeholder."""
    body = json.loads(json.dumps(body))  # a deep copy, key order kept
    replaced: dict[str, Any] = {}
    for path, name in PLACEHOLDERS.items():
        *parents, key = path
        holder: Any = body
        for parent in parents:
            holder = holder.get(parent) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and key in holder:
            value = holder[key]
            # One placeholder, one value: version and versionInfo.current.oss agree.
            assert replaced.setdefault(name, value) == value, f"{name}: {replaced[name]} / {value}"
            holder[key] = "${" + name + "}"
    assert url not in json.dumps(body), f"{url} is still in the body"
    return body, replaced


def _differences(a: Any, b: Any, path: str = "body") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} / {list(b)}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{path}.{k}")]
    return [] if json.dumps(a) == json.dumps(b) else [f"{path}: {a!r} / {b!r}"]


def record_ui_config(out: str, env_files: list[str]) -> int:
    servers = [_env_file(f) for f in env_files] or [dict(os.environ)]
    answers: list[tuple[str, dict[str, Any]]] = []
    for env in servers:
        url = env["UNLEASH_URL"]
        with httpx.Client(base_url=url, timeout=30) as client:
            client.post(
                "/auth/simple/login",
                json={"username": env["UNLEASH_USER"], "password": env["UNLEASH_PASSWORD"]},
            )
            credentials = {
                "admin token": {"Authorization": env["UNLEASH_ADMIN_TOKEN"]},
                "PAT (alice)": {"Authorization": env["UNLEASH_PAT"]},
                "PAT (bob)": {"Authorization": env["UNLEASH_PAT_2"]},
                "session (alice)": {"Cookie": f"unleash-session={client.cookies[SESSION]}"},
            }
            for label, headers in credentials.items():
                client.cookies.clear()
                r = client.get(UI_CONFIG, headers=headers)
                r.raise_for_status()
                body = r.json()
                template, replaced = _placeholders(body, url)
                print(
                    f"{url} {label}: {len(body)} keys, {len(body.get('flags', {}))} flags; "
                    f"placeholders as answered: {json.dumps(replaced)}",
                    file=sys.stderr,
                )
                answers.append((f"{url} {label}", template))
    (first_label, template), problems = answers[0], []
    for label, body in answers[1:]:
        problems += [f"{first_label} / {label}: {d}" for d in _differences(template, body)]
    if problems:
        print("values that differ but are no placeholder:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    with open(out, "w", encoding="utf-8") as f:
        json.dump(template, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{len(answers)} answers agree; recorded in {out}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", required=True)
    rec.add_argument("--deep", action="store_true")
    d = sub.add_parser("diff")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument(
        "--fold-descriptions", action="store_true", help="ignore `description` in error details"
    )
    d.add_argument(
        "--ignore-header", action="append", default=[], metavar="NAME", help="leave a header out"
    )
    sh = sub.add_parser("show")
    sh.add_argument("path")
    sh.add_argument("steps", nargs="*")
    out = sub.add_parser("logout")
    out.add_argument("--out", required=True)
    ui = sub.add_parser("ui-config")
    ui.add_argument("--out", required=True)
    ui.add_argument("env_files", nargs="*", metavar="ENV_FILE")
    args = parser.parse_args()
    if args.command == "diff":
        return diff(args.a, args.b, args.fold_descriptions, tuple(args.ignore_header))
    if args.command == "show":
        return show(args.path, args.steps)
    if args.command == "ui-config":
        return record_ui_config(args.out, args.env_files)
    env = os.environ
    prober = Prober(
        env["UNLEASH_URL"],
        env["UNLEASH_PAT"],
        env["UNLEASH_PAT_2"],
        env["UNLEASH_ADMIN_TOKEN"],
        env["UNLEASH_USER"],
        env["UNLEASH_PASSWORD"],
    )
    try:
        if args.command == "logout":
            prober.run_logout(env.get("UNLEASH_USER_2"), env.get("UNLEASH_PASSWORD_2"))
        else:
            prober.run(args.deep)
    finally:
        with contextlib.suppress(httpx.HTTPError):
            prober._cleanup(keep=set())
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "url": env["UNLEASH_URL"],
                    "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
                    "ids": prober.ids,
                    "user_ids": prober.user_ids,
                    "steps": prober.steps,
                },
                f,
                indent=1,
                ensure_ascii=False,
            )
    print(f"{len(prober.steps)} steps recorded in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
