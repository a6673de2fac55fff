"""The two targets, one per session each: the mock in process, and the real Unleash at
$UNLEASH_URL (scripts/real-unleash.sh). Both hold the same users: alice and bob with one bootstrap
PAT each, and a `fresh` user made for this session (created on the real server with the admin
API token, deleted at the end, which also deletes its PATs)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Clock as MockClock
from mock_server import create_app
from mock_server.fixtures import parse

from .deliberate import Deliberate
from .deliberate import load as load_deliberate
from .targets import (
    BOOTSTRAP_DESCRIPTION,
    SUITE_PREFIX,
    TOKENS,
    Account,
    Clock,
    Target,
    observe,
    session_cookie,
)

REAL_ENV = (
    "UNLEASH_URL",
    "UNLEASH_PAT",
    "UNLEASH_PAT_2",
    "UNLEASH_ADMIN_TOKEN",
    "UNLEASH_USER",
    "UNLEASH_PASSWORD",
    "UNLEASH_USER_2",
    "UNLEASH_PASSWORD_2",
)
NO_REAL_SERVER = (
    "UNLEASH_URL is not set, so there is no real Unleash to compare the mock with; run "
    '`eval "$(scripts/real-unleash.sh up)"` first'
)
# Unleash's password policy: >= 10 characters, upper, lower, digit and symbol.
DEFAULT_PASSWORDS = {"alice": "Alice-mock-password-Q7", "bob": "Bob-mock-password-Q7"}


@dataclass(frozen=True)
class Identity:
    username: str
    password: str


@dataclass(frozen=True)
class Users:
    """Who exists on both targets: alice and bob (from the real server's env, or defaults for a
    mock-only run), and the session's fresh user."""

    alice: Identity
    bob: Identity
    fresh: Identity


def real_env() -> dict[str, str] | None:
    if not os.environ.get("UNLEASH_URL"):
        return None
    missing = [name for name in REAL_ENV if not os.environ.get(name)]
    if missing:
        pytest.fail(f"UNLEASH_URL is set but not {', '.join(missing)}: source the env file again")
    return {name: os.environ[name] for name in REAL_ENV}


@pytest.fixture(scope="session")
def users() -> Users:
    env = real_env() or {}
    token = secrets.token_hex(4)
    return Users(
        Identity(
            env.get("UNLEASH_USER", "alice"),
            env.get("UNLEASH_PASSWORD", DEFAULT_PASSWORDS["alice"]),
        ),
        Identity(
            env.get("UNLEASH_USER_2", "bob"),
            env.get("UNLEASH_PASSWORD_2", DEFAULT_PASSWORDS["bob"]),
        ),
        Identity(f"parity-{token}", f"Parity-{token}-Pw7!"),
    )


def _prepare(target: Target, fresh: Identity) -> None:
    """Learn the ids behind each account, remove what a crashed run left behind, and log the
    fresh user in once (recording the login: login is limited to 10 a minute per IP)."""
    for account in target.accounts.values():
        headers = account.credential()
        me = target.request("GET", "/api/admin/user", headers=headers)
        assert me.status_code == 200, f"{target.name}: {account.label}'s PAT: {me.text}"
        account.user_id = me.json()["user"]["id"]
        pats = target.request("GET", TOKENS, headers=headers).json()["pats"]
        bootstrap = [p["id"] for p in pats if p["description"] == BOOTSTRAP_DESCRIPTION]
        assert bootstrap, f"{target.name}: {account.label} has no {BOOTSTRAP_DESCRIPTION} PAT"
        account.pat_id = bootstrap[0]
        target.known_pat_ids.add(bootstrap[0])
        ours = (p for p in pats if p["description"].strip().lower().startswith(SUITE_PREFIX))
        for leftover in ours:
            target.request("DELETE", f"{TOKENS}/{leftover['id']}", headers=headers)
    login = target.request(
        "POST",
        "/auth/simple/login",
        json={"username": fresh.username, "password": fresh.password},
    )
    assert login.status_code == 200, f"{target.name}: fresh user login: {login.text}"
    cookie = session_cookie(login)
    target.accounts["fresh"] = Account(
        "fresh", fresh.username, login.json()["id"], fresh.password, cookie=cookie
    )
    target.session_records["login"] = observe(login)
    # Unleash re-sends the cookie on the session's first use only; record that here so that no
    # scenario depends on running first.
    first_use = target.request("GET", "/api/admin/user", headers={"Cookie": cookie})
    target.session_records["first-cookie-use"] = observe(first_use)


def _accounts(users: Users, pats: tuple[str, str]) -> dict[str, Account]:
    # User ids are learnt in _prepare; 0 until then.
    return {
        "alice": Account("alice", users.alice.username, 0, users.alice.password, pat=pats[0]),
        "bob": Account("bob", users.bob.username, 0, users.bob.password, pat=pats[1]),
    }


@pytest.fixture(scope="session")
def real_target(users: Users) -> Iterator[Target]:
    env = real_env()
    if env is None:
        pytest.skip(NO_REAL_SERVER)
    # identity encoding: compression would turn bodies over 1 kB into chunked responses.
    client = httpx.Client(
        base_url=env["UNLEASH_URL"], timeout=30, headers={"Accept-Encoding": "identity"}
    )
    admin = {"Authorization": env["UNLEASH_ADMIN_TOKEN"]}
    created = client.post(
        "/api/admin/user-admin",
        headers=admin,
        json={
            "username": users.fresh.username,
            "name": users.fresh.username,
            "email": f"{users.fresh.username}@example.com",
            "rootRole": 3,  # Viewer: any user may manage their own PATs
            "password": users.fresh.password,
            "sendEmail": False,
        },
    )
    assert created.status_code == 201, f"creating the fresh user: {created.text}"
    target = Target(
        "real",
        client,
        _accounts(users, (env["UNLEASH_PAT"], env["UNLEASH_PAT_2"])),
        env["UNLEASH_ADMIN_TOKEN"],
    )
    try:
        _prepare(target, users.fresh)
        yield target
    finally:
        # Deleting the user deletes its PATs too (ON DELETE CASCADE).
        client.delete(f"/api/admin/user-admin/{created.json()['id']}", headers=admin)
        client.close()


@pytest.fixture(scope="session")
def mock_target(users: Users) -> Iterator[Target]:
    pats = tuple("user:" + secrets.token_hex(28) for _ in range(2))
    admin_token = "*:*." + secrets.token_hex(32)
    # The same users as on the real server: names, emails and passwords (ids need not match).
    fixtures = parse(
        {
            "users": [
                *(
                    {
                        "id": user_id,
                        "username": who.username,
                        "password": who.password,
                        "name": who.username,
                        "email": f"{who.username}@example.com",
                        "pats": []
                        if pat is None
                        else [
                            {
                                "description": BOOTSTRAP_DESCRIPTION,
                                "secret": pat,
                                "expiresAt": "2099-12-31T23:59:59.000Z",
                            }
                        ],
                    }
                    for user_id, who, pat in (
                        (2, users.alice, pats[0]),
                        (3, users.bob, pats[1]),
                        (4, users.fresh, None),
                    )
                )
            ],
            "adminTokens": [admin_token],
        }
    )
    clock = Clock(MockClock())
    app = create_app(fixtures, clock=clock.mock)
    with TestClient(
        app,
        base_url="http://mock",
        raise_server_exceptions=False,
        headers={"Accept-Encoding": "identity"},  # as the real target's client
    ) as client:
        target = Target("mock", client, _accounts(users, pats), admin_token, clock)
        _prepare(target, users.fresh)
        yield target


@pytest.fixture(scope="session")
def deliberate_entries() -> list[Deliberate]:
    return load_deliberate()
