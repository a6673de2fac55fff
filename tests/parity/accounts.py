"""Accounts on a real Unleash, made through its admin API for a test session and removed at its
end: the parity suite's users, and the contract suite's when it is given only a URL and an admin
API token."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from .targets import BOOTSTRAP_DESCRIPTION, LOGIN, TOKENS, Account, Target, session_cookie

USER_ADMIN = "/api/admin/user-admin"
BOOTSTRAP_EXPIRY = "2099-12-31T23:59:59.000Z"


@dataclass(frozen=True)
class Identity:
    username: str
    password: str


def password() -> str:
    """One that Unleash's policy accepts: >= 10 characters, upper and lower case, a digit, a
    symbol, and no character three times in a row."""
    while True:
        candidate = f"Parity-{secrets.token_hex(8)}-Pw7!"
        if not re.search(r"(.)\1\1", candidate):
            return candidate


def create_user(target: Target, who: Identity) -> int:
    """A Viewer (any user may manage their own PATs) with a password; returns its id. User
    creation is limited to 20 a minute per IP."""
    created = target.patience.send(
        lambda: target.request(
            "POST",
            USER_ADMIN,
            headers={"Authorization": target.admin_token},
            json={
                "username": who.username,
                "name": who.username,
                "email": f"{who.username}@example.com",
                "rootRole": "Viewer",  # by name: role ids differ between deployments
                "password": who.password,
                "sendEmail": False,
            },
        )
    )
    assert created.status_code == 201, f"creating user {who.username}: {created.text}"
    return int(created.json()["id"])


def bootstrap(target: Target, account: Account) -> None:
    """Log `account` in and give it its long-lived PAT: only a user can create their PATs."""
    login = target.request(
        "POST", LOGIN, json={"username": account.username, "password": account.password}
    )
    assert login.status_code == 200, f"{account.label}'s login: {login.text}"
    account.cookie = session_cookie(login)
    created = target.request(
        "POST",
        TOKENS,
        headers={"Cookie": account.cookie},
        json={"description": BOOTSTRAP_DESCRIPTION, "expiresAt": BOOTSTRAP_EXPIRY},
    )
    assert created.status_code == 201, f"{account.label}'s bootstrap PAT: {created.text}"
    account.pat = created.json()["secret"]


def _remove_pats(target: Target, account: Account) -> list[str]:
    """Delete every PAT `account` holds, with its session; returns what is left. The session
    may have ended since (a logout, or later logins beyond the release's cap per user): then
    with a new one."""
    session = {"Cookie": account.cookie or ""}
    listed = target.request("GET", TOKENS, headers=session)
    if listed.status_code == 401:
        login = target.request(  # waits out the login limiter
            "POST", LOGIN, json={"username": account.username, "password": account.password}
        )
        if login.status_code != 200:
            return [f"logging {account.username} in again: {login.status_code} {login.text}"]
        account.cookie = session_cookie(login)
        session = {"Cookie": account.cookie}
        listed = target.request("GET", TOKENS, headers=session)
    if listed.status_code != 200:
        return [f"listing {account.username}'s PATs: {listed.status_code} {listed.text}"]
    for pat in listed.json()["pats"]:
        target.request("DELETE", f"{TOKENS}/{pat['id']}", headers=session)
    left = target.request("GET", TOKENS, headers=session).json()["pats"]
    return [f"{account.username}'s PAT {p['description']!r} is left" for p in left]


def remove(target: Target, accounts: list[Account]) -> list[str]:
    """Delete every PAT of `accounts`, then the users, and check that none of either is left;
    returns what went wrong. Unleash only marks a deleted user deleted (its PATs stay in the
    database), hence the PATs first."""
    problems = []
    admin = {"Authorization": target.admin_token}
    for account in accounts:
        if account.cookie:  # without a session the user made no PAT: that needs a credential
            problems += _remove_pats(target, account)
        deleted = target.request("DELETE", f"{USER_ADMIN}/{account.user_id}", headers=admin)
        if deleted.status_code != 200:
            problems.append(f"deleting user {account.username}: {deleted.text}")
    usernames = {account.username for account in accounts}
    listed = target.request("GET", USER_ADMIN, headers=admin).json()["users"]
    left = [u["username"] for u in listed if u.get("username") in usernames]
    return problems + [f"user {username} is left" for username in left]
