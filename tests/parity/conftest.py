"""The two targets, one per session each: the mock in process, and the real Unleash at
$UNLEASH_URL, of which the suite needs only an admin API token ($UNLEASH_ADMIN_TOKEN). Both hold
the same four users of this session: alice and bob with one bootstrap PAT each, `fresh`, who
holds none, and `leaving`, whom the logout scenarios log in and out (a logout ends every session
of its user, so never one another scenario or the clean-up needs). On the real server the suite
creates them (Viewers, run-specific names) and at the end deletes every PAT they hold and then
the users, also when the session fails."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Clock as MockClock
from mock_server import Options, create_app
from mock_server.fixtures import parse
from mock_server.versions import VersionProfile, default, resolve

from .accounts import BOOTSTRAP_EXPIRY, Identity, bootstrap, create_user, password, remove
from .deliberate import Deliberate
from .deliberate import load as load_deliberate
from .targets import (
    BOOTSTRAP_DESCRIPTION,
    LOGIN,
    TOKENS,
    Account,
    Clock,
    Target,
    observe,
    session_cookie,
)

REAL_ENV = ("UNLEASH_URL", "UNLEASH_ADMIN_TOKEN")
NO_REAL_SERVER = (
    "UNLEASH_URL is not set, so there is no real Unleash to compare the mock with; set it and "
    'UNLEASH_ADMIN_TOKEN (e.g. `eval "$(scripts/real-unleash.sh up)"`) first'
)


@dataclass(frozen=True)
class Users:
    """Who exists on both targets, named for this session so that runs sharing a server (and
    what a killed run left) never meet."""

    alice: Identity
    bob: Identity
    fresh: Identity
    leaving: Identity

    def labelled(self) -> dict[str, Identity]:
        return {"alice": self.alice, "bob": self.bob, "fresh": self.fresh, "leaving": self.leaving}


def real_env() -> dict[str, str] | None:
    if not os.environ.get("UNLEASH_URL"):
        return None
    missing = [name for name in REAL_ENV if not os.environ.get(name)]
    if missing:
        pytest.fail(f"UNLEASH_URL is set but not {', '.join(missing)}")
    return {name: os.environ[name] for name in REAL_ENV}


@pytest.fixture(scope="session")
def users() -> Users:
    run = secrets.token_hex(4)
    return Users(
        *(
            Identity(f"parity-{run}-{label}", password())
            for label in ("alice", "bob", "fresh", "leaving")
        )
    )


def _prepare(target: Target, fresh: Identity) -> None:
    """Learn the ids behind each account and log the fresh user in once (recording the login:
    login is limited to 10 a minute per IP)."""
    for account in target.accounts.values():
        headers = account.credential()
        me = target.request("GET", "/api/admin/user", headers=headers)
        assert me.status_code == 200, f"{target.name}: {account.label}'s PAT: {me.text}"
        account.user_id = me.json()["user"]["id"]
        pats = target.request("GET", TOKENS, headers=headers).json()["pats"]
        bootstrap = [p["id"] for p in pats if p["description"] == BOOTSTRAP_DESCRIPTION]
        assert bootstrap, f"{target.name}: {account.label} has no {BOOTSTRAP_DESCRIPTION} PAT"
        account.pat_id = bootstrap[0]
    login = target.request(
        "POST", LOGIN, json={"username": fresh.username, "password": fresh.password}
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


@pytest.fixture(scope="session")
def real_target(users: Users) -> Iterator[Target]:
    env = real_env()
    if env is None:
        pytest.skip(NO_REAL_SERVER)
    # identity encoding: compression would turn bodies over 1 kB into chunked responses.
    client = httpx.Client(
        base_url=env["UNLEASH_URL"], timeout=30, headers={"Accept-Encoding": "identity"}
    )
    target = Target("real", client, {}, env["UNLEASH_ADMIN_TOKEN"])
    made: list[Account] = []
    try:
        for label, who in users.labelled().items():
            made.append(Account(label, who.username, create_user(target, who), who.password))
        for account in made[:2]:
            bootstrap(target, account)
            target.accounts[account.label] = account
        _prepare(target, users.fresh)
        made[2].cookie = target.accounts["fresh"].cookie  # its session, to remove its PATs
        target.accounts["leaving"] = made[3]  # no credential yet: its scenarios log it in
        yield target
    finally:
        problems = remove(target, made)
        client.close()
        assert not problems, "the real server keeps what the suite made:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def target_profile() -> VersionProfile:
    """The version the mock answers as: $UNLEASH_VERSION, else what the real server says it is
    (GET /api/admin/ui-config), else the default (8.2.0)."""
    if version := os.environ.get("UNLEASH_VERSION"):
        return resolve(version)
    env = real_env()
    if env is None:
        return default()
    response = httpx.get(
        f"{env['UNLEASH_URL']}/api/admin/ui-config",
        headers={"Authorization": env["UNLEASH_ADMIN_TOKEN"]},
        timeout=30,
    )
    assert response.status_code == 200, f"reading the real server's version: {response.text}"
    return resolve(response.json()["version"])


@pytest.fixture(scope="session")
def mock_target(users: Users, target_profile: VersionProfile) -> Iterator[Target]:
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
                                "expiresAt": BOOTSTRAP_EXPIRY,
                            }
                        ],
                    }
                    for user_id, who, pat in (
                        (2, users.alice, pats[0]),
                        (3, users.bob, pats[1]),
                        (4, users.fresh, None),
                        (5, users.leaving, None),
                    )
                )
            ],
            "adminTokens": [admin_token],
        }
    )
    clock = Clock(MockClock())
    # The real server's secret format: the variable scripts/real-unleash.sh starts it with.
    secure = os.environ.get("UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN", "").lower() == "true"
    options = Options(unleash_version=target_profile, secure_account_tokens=secure)
    # As `unleash-pat serve --no-control`: the control API's paths answer as Unleash's do.
    app = create_app(fixtures, options=options, clock=clock.mock, control=False)
    with TestClient(
        app,
        base_url="http://mock",
        raise_server_exceptions=False,
        follow_redirects=False,  # as the real target's client: a logout's 302 is compared
        headers={"Accept-Encoding": "identity"},  # as the real target's client
    ) as client:
        # User ids are learnt in _prepare; 0 until then.
        accounts = {
            label: Account(label, who.username, 0, who.password, pat=pat)
            for label, who, pat in (("alice", users.alice, pats[0]), ("bob", users.bob, pats[1]))
        }
        target = Target("mock", client, accounts, admin_token, clock)
        _prepare(target, users.fresh)
        target.accounts["leaving"] = Account(
            "leaving", users.leaving.username, 5, users.leaving.password
        )
        yield target


@pytest.fixture(scope="session")
def deliberate_entries(target_profile: VersionProfile) -> list[Deliberate]:
    """The entries that hold for the version compared."""
    return [e for e in load_deliberate() if e.holds_for(target_profile.version)]
