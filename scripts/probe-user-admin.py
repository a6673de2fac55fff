#!/usr/bin/env python3
"""Probe /api/admin/user-admin of a real Unleash started by scripts/real-unleash.sh (its export
line: UNLEASH_URL, UNLEASH_ADMIN_TOKEN, UNLEASH_PAT of alice, a Viewer) and print every answer
(status, the headers that matter, the body). Makes, logs in and deletes one user of its own,
changes alice's name and role and restores them. No cookie is kept between requests: on 5.x a
session cookie would beat the admin token.

    eval "$(scripts/real-unleash.sh up)"; .venv/bin/python scripts/probe-user-admin.py
"""

from __future__ import annotations

import os
import time

import httpx

URL, ADMIN, VIEWER_PAT = (
    os.environ[k] for k in ("UNLEASH_URL", "UNLEASH_ADMIN_TOKEN", "UNLEASH_PAT")
)
USER_ADMIN = URL + "/api/admin/user-admin"
STRONG = "Long-enough-Pw-1!"
_SHOWN = ("content-type", "location", "ratelimit-remaining", "ratelimit-reset", "set-cookie",
          "transfer-encoding")  # fmt: skip
client = httpx.Client(timeout=20)


def show(label: str, answer: httpx.Response) -> httpx.Response:
    client.cookies.clear()
    headers = {k: v for k, v in answer.headers.items() if k.lower() in _SHOWN}
    print(f"== {label}\n{answer.status_code} {headers}\n{answer.text[:700]}\n")
    return answer


def admin(label: str, method: str, path: str, auth: str = ADMIN, **kw: object) -> httpx.Response:
    return show(
        label, client.request(method, USER_ADMIN + path, headers={"Authorization": auth}, **kw)
    )


def main() -> None:
    users = client.get(USER_ADMIN, headers={"Authorization": ADMIN}).json()["users"]
    ids = {u.get("username"): u["id"] for u in users}
    alice, bob = ids["alice"], ids["bob"]
    admin("get alice", "GET", f"/{alice}")
    for target in ("999", "99999999999", "abc", "validate-password"):
        admin(f"get {target}", "GET", f"/{target}")
    admin("viewer get", "GET", f"/{alice}", auth=VIEWER_PAT)
    for body in ({"name": "Renamed", "rootRole": "Editor"}, {"rootRole": 3}, {"rootRole": "Owner"},
                 {"email": "notanemail"}):  # fmt: skip
        admin(f"put {body}", "PUT", f"/{alice}", json=body)
    restore = {"name": "alice", "email": "alice@example.com", "rootRole": "Viewer"}
    admin("put restore", "PUT", f"/{alice}", json=restore)
    admin("put 999", "PUT", "/999", json={"name": "x"})
    for body in ({"password": ""}, {"password": "short"}, {"password": STRONG}, {}):
        admin(f"validate {body}", "POST", "/validate-password", json=body)
    admin("change-password short", "POST", f"/{bob}/change-password", json={"password": "short"})
    admin("change-password 999", "POST", "/999/change-password", json={"password": STRONG})
    admin("viewer change-password", "POST", f"/{bob}/change-password", auth=VIEWER_PAT,
          json={"password": STRONG})  # fmt: skip
    name = f"probe{int(time.time())}"
    body = {"username": name, "email": f"{name.title()}@Example.com", "rootRole": "Viewer",
            "sendEmail": False, "password": STRONG}  # fmt: skip
    made = admin("create", "POST", "", json=body)
    admin("create again", "POST", "", json={"username": name, "rootRole": 3})
    admin("create nameless", "POST", "", json={"rootRole": 3})
    login = {"username": name, "password": STRONG}
    cookie = show("login", client.post(URL + "/auth/simple/login", json=login))
    session = {"Cookie": cookie.headers.get("set-cookie", "").split(";")[0]}
    pat = client.post(URL + "/api/admin/user/tokens", headers=session,
                      json={"description": "p", "expiresAt": "2099-01-01T00:00:00Z"})  # fmt: skip
    secret = pat.json()["secret"]
    admin("delete", "DELETE", f"/{made.json()['id']}")
    show("session after", client.get(URL + "/api/admin/user", headers=session))
    show("PAT after", client.get(URL + "/api/admin/user", headers={"Authorization": secret}))
    show("login after", client.post(URL + "/auth/simple/login", json=login))
    admin("delete again", "DELETE", f"/{made.json()['id']}")
    admin("delete 99999999999", "DELETE", "/99999999999")
    listed = client.get(USER_ADMIN, headers={"Authorization": ADMIN}).json()
    print("list:", list(listed), list(listed["users"][0]), [r["name"] for r in listed["rootRoles"]])


if __name__ == "__main__":
    main()
