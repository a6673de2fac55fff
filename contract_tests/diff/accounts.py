"""The run's own users on both servers: made on the real one through its admin API (as the
parity suite makes them), mirrored into the mock through its control plane, kept alike between
items, and removed from the real one at the end.

Each user is a Viewer (by role name: role ids differ between deployments) named with the run's
prefix, holds one long-lived PAT and has logged in once. Nothing else on the real server is
ever touched: every PAT deleted belongs to one of these users, every user deleted carries the
prefix.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contract_tests.diff.sides import Side, session_value
from contract_tests.diff.traffic import (
    DELETABLE,
    LOGIN,
    PATS,
    USER_ADMIN,
    USERS,
    Item,
    admin_auth,
    ph,
    request,
)
from contract_tests.diff.wire import Answer, Request

BOOTSTRAP = "unleash-pat-diff"
BOOTSTRAP_EXPIRY = "2099-12-31T23:59:59.000Z"
CONTROL = "/_unleash-pat"
# Unleash's per-address limits on what the run's own housekeeping needs.
LOGINS_PER_MINUTE = 10
KEEP_FREE = 2  # login slots the pacer leaves unused (other clients may share the address)
PATIENCE = 180.0  # seconds the housekeeping may spend in all waiting out 429s


class SetupFailed(Exception):
    """The run's users could not be made or mirrored: exit code 2."""


def password() -> str:
    """One that Unleash's policy accepts: >= 10 characters, upper and lower case, a digit, a
    symbol, and no character three times in a row."""
    while True:
        candidate = f"Diff-{secrets.token_hex(8)}-Pw7!"
        if not re.search(r"(.)\1\1", candidate):
            return candidate


def body_json(answer: Answer) -> Any:
    try:
        return json.loads(answer.decoded() or b"")
    except ValueError:
        return None


@dataclass
class LoginPacer:
    """Unleash allows 10 logins a minute per address: the run keeps its own (and the requests
    to any spelling of the login path) under that, so that only the items that probe the
    limit on purpose meet it."""

    sent: list[float] = field(default_factory=list)
    blocked_until: float = 0.0

    def free(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        self.sent = [t for t in self.sent if now - t < 61.0]
        if now < self.blocked_until:
            return 0
        return max(0, LOGINS_PER_MINUTE - KEEP_FREE - len(self.sent))

    def note(self, count: int = 1) -> None:
        self.sent += [time.monotonic()] * count

    def block(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, time.monotonic() + seconds + 1.0)

    def seconds_until_free(self, wanted: int) -> float:
        now = time.monotonic()
        if self.free(now) >= wanted:
            return 0.0
        waits = [self.blocked_until - now]
        if self.sent:
            waits.append(self.sent[0] + 61.0 - now)
        return max(0.5, *waits)


@dataclass
class Account:
    """A run user as both sides know it; ids are per side."""

    label: str  # "ALICE"
    username: str
    password: str
    password2: str  # what change-password items may set
    secret: str = ""  # the bootstrap PAT, the same on both sides
    created_at: str = ""  # when the real server made it (and, near enough, the user)
    ids: dict[str, int] = field(default_factory=dict)  # side -> user id
    pat_ids: dict[str, int] = field(default_factory=dict)  # side -> bootstrap PAT id

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"

    def fixture(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "username": self.username,
            "password": self.password,
            "name": self.username,
            "email": self.email,
            "rootRole": "Viewer",
            "pats": [
                {"description": BOOTSTRAP, "secret": self.secret, "expiresAt": BOOTSTRAP_EXPIRY}
            ],
        }


class Accounts:
    """The run's users on the real server and the mock. `real_is_mock` (tests only): the real
    side is itself an unleash-pat mock: its users are loaded through its control plane, as the
    private mock's are, instead of made through /api/admin/user-admin."""

    def __init__(
        self,
        real: Side,
        admin_token: str,
        *,
        prefix: str,
        real_is_mock: bool = False,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        self.real = real
        self.mock: Side | None = None
        self.admin_token = admin_token
        self.prefix = prefix
        self.real_is_mock = real_is_mock
        self.wait = wait
        self.pacer = LoginPacer()
        self.accounts: dict[str, Account] = {}
        self.generation = 0  # of the deletable user, made again after each deletion
        self.made_on_real: list[tuple[str, int]] = []  # (username, id) of every user made there
        self.patience = PATIENCE
        # Each side's login window as its last login answer told it: (when it ends, on the
        # monotonic clock; the logins it has left).
        self.login_windows: dict[str, tuple[float, str]] = {}
        # When each POST below /api/admin/user-admin went to the real server: its create-user
        # limit (20 a minute) may count every one, so the run paces them (`Runner._ready`).
        self.user_admin_posts: list[float] = []

    # -- requests of the run's own ------------------------------------------------------------
    def call(self, side: Side, req: Request) -> Answer:
        """A housekeeping request; a 429 is waited out (Retry-After) while patience lasts."""
        while True:
            if req.target.startswith(LOGIN) and side is self.real:
                self.pacer.note()
            if side is self.real and req.method == "POST" and req.target.startswith(USER_ADMIN):
                self.user_admin_posts.append(time.monotonic())
            answer = side.send(req)
            if req.target.startswith(LOGIN):
                self.note_login_window(side, answer)
            if answer.status != 429:
                return answer
            delay = _retry_after(answer)
            if delay > self.patience:
                return answer
            self.patience -= delay
            self.wait(delay)

    def note_login_window(self, side: Side, answer: Answer) -> None:
        reset = answer.header("ratelimit-reset") or ""
        if reset.isdigit():
            remaining = answer.header("ratelimit-remaining") or ""
            self.login_windows[side.name] = (time.monotonic() + int(reset), remaining)

    def _admin(self, side: Side, method: str, target: str, body: Any = None) -> Answer:
        return self.call(side, request(method, target, admin_auth(), body))

    def _control(self, side: Side, method: str, target: str, body: Any = None) -> Any:
        answer = side.send(request(method, CONTROL + target, [], body))
        if not 200 <= answer.status < 300:
            raise SetupFailed(
                f"{side.name}'s control plane: {method} {target}: {answer.status_line()} "
                f"{(answer.decoded() or b'')[:300]!r}"
            )
        return body_json(answer)

    # -- setup --------------------------------------------------------------------------------
    def setup(self) -> None:
        """Make the run's users on the real server, each with a PAT and a session."""
        self.real.bind("ADMIN_TOKEN", self.admin_token)
        self.real.bind("RUN_PREFIX", self.prefix)
        for label in USERS:
            name = f"{self.prefix}{label.lower()}"
            self.accounts[label] = Account(label, name, password(), password())
        if self.real_is_mock:
            for account in self.accounts.values():
                account.secret = "user:" + secrets.token_hex(28)
            self._load(self.real, list(self.accounts.values()), id_base=10, replace=True)
            self._room_for_logins(self.real)
            for account in self.accounts.values():
                self._log_in(self.real, account)
            return
        self._room_for_logins(self.real)
        for account in self.accounts.values():
            self._make_on_real(account)

    def _make_on_real(self, account: Account) -> None:
        # The login's slot first: a wait between the user and the PAT would set their times
        # apart, where the mock makes both at once.
        self.wait(self.pacer.seconds_until_free(1))
        created = self._admin(
            self.real,
            "POST",
            USER_ADMIN,
            {
                "username": account.username,
                "name": account.username,
                "email": account.email,
                "rootRole": "Viewer",
                "password": account.password,
                "sendEmail": False,
            },
        )
        body = body_json(created)
        if created.status != 201 or not isinstance(body, dict) or "id" not in body:
            raise SetupFailed(f"creating user {account.username}: {_said(created)}")
        account.ids["real"] = int(body["id"])
        self.made_on_real.append((account.username, account.ids["real"]))
        cookie = self._log_in(self.real, account)
        made = self.call(
            self.real,
            request(
                "POST",
                PATS,
                [("Cookie", f"unleash-session={cookie}")],
                {"description": BOOTSTRAP, "expiresAt": BOOTSTRAP_EXPIRY},
            ),
        )
        pat = body_json(made)
        if made.status != 201 or not isinstance(pat, dict):
            raise SetupFailed(f"creating {account.username}'s PAT: {_said(made)}")
        account.secret = str(pat["secret"])
        account.pat_ids["real"] = int(pat["id"])
        account.created_at = str(pat.get("createdAt") or "")
        self._bind(self.real, account)

    def _log_in(self, side: Side, account: Account) -> str:
        """Log `account` in on `side` (waiting for a free slot of the login limit); bind and
        return the session cookie's value."""
        if side is self.real:
            self.wait(self.pacer.seconds_until_free(1))
        body = {"username": account.username, "password": account.password}
        answer = self.call(side, request("POST", LOGIN, [], body))
        cookie = session_value(answer)
        if answer.status != 200 or cookie is None:
            raise SetupFailed(f"{side.name}: logging in as {account.username}: {_said(answer)}")
        side.bind(f"SESSION_{account.label}", cookie)
        # First use of the session: 8.2.0 sends the cookie again then, once.
        self.call(side, request("GET", PATS, [("Cookie", f"unleash-session={cookie}")]))
        return cookie

    def _bind(self, side: Side, account: Account) -> None:
        label = account.label
        side.bind(f"USERNAME_{label}", account.username)
        side.bind(f"USERNAME_UPPER_{label}", account.username.upper())
        side.bind(f"EMAIL_{label}", account.email)
        side.bind(f"EMAIL_UPPER_{label}", account.email.upper())
        side.bind(f"PASSWORD_{label}", account.password)
        side.bind(f"PASSWORD2_{label}", account.password2)
        side.bind(f"PAT_{label}", account.secret)
        if side.name in account.ids:
            side.bind_user(f"USER_ID_{label}", account.ids[side.name])
        if side.name in account.pat_ids:
            side.bind_pat(f"PAT_ID_{label}", account.pat_ids[side.name])

    def _load(self, side: Side, accounts: list[Account], *, id_base: int, replace: bool) -> None:
        """Load `accounts` into an unleash-pat mock through its control plane (ids from
        `id_base` on) and learn the ids of their PATs."""
        users = [a.fixture(id_base + i) for i, a in enumerate(accounts)]
        fixtures: dict[str, Any] = {"users": users}
        if replace:
            fixtures["adminTokens"] = [self.admin_token]
        mode = "replace" if replace else "add"
        # Made when the real server made them: the mock's clock is held there while they load.
        made = min((a.created_at for a in accounts if a.created_at), default="")
        if made:
            self._control(side, "PUT", "/clock", {"frozen": True, "now": made})
        state = self._control(side, "POST", f"/fixtures?mode={mode}", fixtures)
        if made:
            self._control(side, "DELETE", "/clock")  # the wall clock again, running
        by_name = {u["username"]: u for u in state["users"]}
        for i, account in enumerate(accounts):
            account.ids[side.name] = id_base + i
            account.pat_ids[side.name] = int(by_name[account.username]["pats"][0]["id"])
            self._bind(side, account)
        side.bind("ADMIN_TOKEN", self.admin_token)
        side.bind("RUN_PREFIX", self.prefix)

    def mirror(self, mock: Side) -> None:
        """The same users, passwords, PATs (with the same secrets) and admin token in the
        mock, made at the time the real server made them, each logged in once as there."""
        self.mock = mock
        self._load(mock, list(self.accounts.values()), id_base=100, replace=True)
        self._count_creations(len(self.accounts))
        self._room_for_logins(mock)
        for account in self.accounts.values():
            self._log_in(mock, account)

    def _count_creations(self, users: int) -> None:
        """The real server counted each user made there against its create-user limit (8.x:
        every POST below /api/admin/user-admin; before, the creations): as many creations the
        mock refuses after its limiter counted them (no username, no e-mail) keep both windows
        alike. A mock on the real side made its users through fixtures too."""
        assert self.mock is not None
        if self.real_is_mock:
            return
        for _ in range(users):
            self._admin(self.mock, "POST", USER_ADMIN, {"rootRole": "Viewer"})

    def _room_for_logins(self, side: Side) -> None:
        """Wait until `side`'s login limiter has room for the setup's logins (other clients
        of the address may have used it: a delay would set the real server's users and PATs
        apart in time from the mock's). One failed login of a user nobody has tells how much
        is left; it is sent to both sides, so that their limiters count alike."""
        body = {"username": f"{self.prefix}nobody", "password": "Wrong-password-1!"}
        answer = self.call(side, request("POST", LOGIN, [], body))
        remaining = answer.header("ratelimit-remaining") or ""
        reset = answer.header("ratelimit-reset") or ""
        if remaining.isdigit() and int(remaining) < len(USERS) and reset.isdigit():
            self.wait(int(reset) + 1.0)

    # -- between items ------------------------------------------------------------------------
    def tidy(
        self,
        created: dict[str, list[tuple[str, int, int]]],
        item: Item,
        deleted: bool,
    ) -> list[str]:
        """After `item`: delete on each side the PATs and users it created there, restore the
        users it changed (their name, e-mail, role, password), make the deletable user again
        if it deleted her. Returns what could not be tidied. `created[side]` lists ("pat", id,
        owner id) and ("user", id, 0)."""
        assert self.mock is not None
        problems: list[str] = []
        pat_requests = {}
        for side in (self.real, self.mock):
            pat_requests[side.name] = 0
            for kind, object_id, owner in created.get(side.name, []):
                if kind == "user":
                    answer = self._admin(side, "DELETE", f"{USER_ADMIN}/{object_id}")
                    if answer.status != 200 and side is self.real:
                        problems.append(f"deleting user {object_id}: {_said(answer)}")
                    continue
                label = side.users.get(owner, "").removeprefix("USER_ID_")
                if label not in self.accounts:
                    if side is self.real and not deleted:
                        problems.append(f"PAT {object_id} of an unknown user {owner} is left")
                    continue
                target = f"{PATS}/{object_id}"
                self.call(side, request("DELETE", target, [("Authorization", ph(f"PAT_{label}"))]))
                pat_requests[side.name] += 1
        self._even_out(pat_requests)
        for side in (self.real, self.mock):
            for label in item.changes | item.passwords:
                if deleted and label == DELETABLE:
                    continue
                account = self.accounts[label]
                user = f"{USER_ADMIN}/{ph(f'USER_ID_{label}')}"
                if label in item.changes:
                    body = {"name": account.username, "email": account.email, "rootRole": "Viewer"}
                    self._admin(side, "PUT", user, body)
                if label in item.passwords:
                    body = {"password": account.password}
                    self._admin(side, "POST", f"{user}/change-password", body)
        if deleted:
            self._make_deletable_again()
        return problems

    def _even_out(self, pat_requests: dict[str, int]) -> None:
        """8.2.0 counts every PAT-authenticated request against a per-minute limit and says
        how many are left: send as many of them to each side."""
        assert self.mock is not None
        short = pat_requests["real"] - pat_requests["mock"]
        side = self.mock if short > 0 else self.real
        for _ in range(abs(short)):
            self.call(side, request("GET", PATS, [("Authorization", ph("PAT_ALICE"))]))

    def _make_deletable_again(self) -> None:
        """The deletable user was deleted: make her again under a new name on both sides
        (the mock keeps a user the real server deleted, if it did not delete her)."""
        assert self.mock is not None
        self.generation += 1
        old = self.accounts[DELETABLE]
        name = f"{self.prefix}{DELETABLE.lower()}{self.generation + 1}"
        account = Account(DELETABLE, name, old.password, old.password2)
        self.accounts[DELETABLE] = account
        for side in (self.real, self.mock):
            side.users = {k: v for k, v in side.users.items() if v != f"USER_ID_{DELETABLE}"}
            side.pats = {k: v for k, v in side.pats.items() if v != f"PAT_ID_{DELETABLE}"}
        # The login's slot first, as in `_make_on_real`: a wait after the real side's user is
        # made would set her times apart from the mock's.
        self.wait(self.pacer.seconds_until_free(1))
        if self.real_is_mock:
            account.secret = "user:" + secrets.token_hex(28)
            self._load(self.real, [account], id_base=10 + 10 * self.generation, replace=False)
            self._log_in(self.real, account)
        else:
            self._make_on_real(account)
        self._load(self.mock, [account], id_base=100 + 10 * self.generation, replace=False)
        self._count_creations(1)
        self._log_in(self.mock, account)

    # -- the end ------------------------------------------------------------------------------
    def cleanup(self) -> tuple[list[str], list[str]]:
        """Delete every PAT of the run's users and then the users, on the real server; returns
        (what was deleted, what is left)."""
        deleted: list[str] = []
        left: list[str] = []
        for account in self.accounts.values():
            if "real" not in account.ids:
                continue
            gone, remaining = self._remove_pats(account)
            deleted += gone
            left += remaining
        if self.real_is_mock:
            return deleted, left  # a mock's users, loaded as fixtures, stay with it
        for username, user_id in self.made_on_real:
            answer = self._admin(self.real, "DELETE", f"{USER_ADMIN}/{user_id}")
            if answer.status == 200:
                deleted.append(f"user {username}")
        listed = body_json(self._admin(self.real, "GET", USER_ADMIN))
        users = listed.get("users", []) if isinstance(listed, dict) else []
        for user in users:
            username = str(user.get("username") or "")
            if username.startswith(self.prefix):
                answer = self._admin(self.real, "DELETE", f"{USER_ADMIN}/{user['id']}")
                if answer.status == 200:
                    deleted.append(f"user {username}")
                else:
                    left.append(f"user {username}: {_said(answer)}")
        return deleted, left

    def _remove_pats(self, account: Account) -> tuple[list[str], list[str]]:
        auth = [("Authorization", account.secret)]
        listed = self.call(self.real, Request("GET", PATS, headers=(("Host", ph("HOST")), *auth)))
        if listed.status == 401:  # the user was deleted meanwhile, or the PAT: nothing to do
            return [], []
        body = body_json(listed)
        if listed.status != 200 or not isinstance(body, dict):
            return [], [f"{account.username}'s PATs: {_said(listed)}"]
        pats = sorted(body.get("pats", []), key=lambda p: p["id"] == account.pat_ids.get("real"))
        deleted, left = [], []
        for pat in pats:  # the bootstrap PAT, the credential, last
            target = f"{PATS}/{pat['id']}"
            answer = self.call(
                self.real, Request("DELETE", target, headers=(("Host", ph("HOST")), *auth))
            )
            what = f"{account.username}'s PAT {pat['description']!r}"
            (deleted if answer.status == 200 else left).append(what)
        return deleted, left


def _retry_after(answer: Answer) -> float:
    try:
        return min(max(float(answer.header("retry-after") or 1), 0.0), 60.0) + 0.5
    except ValueError:
        return 1.0


def _said(answer: Answer) -> str:
    body = (answer.decoded() or b"").decode("utf-8", "replace")[:300]
    return f"{answer.status_line()} {body}".strip()
