"""The resources themselves: PAT identities and secrets, the list, create and DELETE answers, the
current user and the ui-config."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from bench.defects import internals
from bench.defects.base import defect
from bench.defects.probe import ALICE_PAT, Probe, iso
from bench.defects.proxy import (
    CURRENT_USER,
    TOKENS,
    UI_CONFIG,
    Exchange,
    Proxy,
    Reply,
    SessionTracker,
    caller,
    error_body,
    pats_in,
    rewrite_pats,
    schema_400,
)


def _instant(text: str) -> str:
    """An instant of the control API's snapshot (isoformat) as Unleash writes it."""
    return iso(datetime.fromisoformat(text))


# -- identities --------------------------------------------------------------------------------
@defect(
    "identity-pat-id-string",
    "identity",
    'listed PAT ids are strings (`"3"`), created ones numbers',
    "the id column became `bigint`, which node-postgres returns as a string, in the list query",
)
class PatIdString(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS):
            rewrite_pats(reply, lambda pat: pat | {"id": str(pat["id"])})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.pats()[0]["id"]


@defect(
    "identity-userid-string",
    "identity",
    "userId in PAT objects is a string",
    "`users.id` became `bigint` (node-postgres returns it as a string) and the PAT mapper "
    "passes it through",
)
class UserIdString(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.under(TOKENS):
            rewrite_pats(reply, lambda pat: pat | {"userId": str(pat["userId"])})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("typed").json()["userId"]


@defect(
    "identity-create-missing-userid",
    "identity",
    "the 201 of a create has no userId (the list has it)",
    "the insert's `RETURNING` list was narrowed and the response schema does not require it",
)
class CreateMissingUserId(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", TOKENS) and reply.status == 201:
            reply.set_json({k: v for k, v in reply.json().items() if k != "userId"})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "userId" in p.create("where").json()


@defect(
    "identity-ids-reused",
    "identity",
    "deleting the newest PAT lets the next create reuse its id",
    "ids became `max(id) + 1` in application code when the sequence was dropped in a migration",
)
class IdsReused(Proxy):
    def install(self) -> None:
        def delete(original: Any, store: Any, user_id: int, pat_id: int) -> bool:
            done = original(user_id, pat_id)
            if done:
                ids = [pat.id for pat in internals.all_pats(store)]
                internals.set_next_id(store, max(ids, default=0) + 1)
            return done

        internals.wrap_store(self.app, "delete", delete)

    @staticmethod
    def demo(p: Probe) -> Any:
        first = p.create("first").json()["id"]
        p.delete(first)
        return p.create("second").json()["id"] == first


@defect(
    "identity-list-all-users",
    "identity",
    "the list shows every user's PATs, not only the caller's",
    "the list query lost its `WHERE user_id = ?` in a query-builder refactor",
)
class ListAllUsers(Proxy):
    def install(self) -> None:
        self.sessions = SessionTracker()

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        self.sessions.learn(ex, reply)
        if ex.is_route("GET", TOKENS) and reply.status == 200:
            me = await caller(self, ex, self.sessions)
            state = await self.control_state()
            others = [
                {
                    "id": pat["id"],
                    "description": pat["description"],
                    "expiresAt": _instant(pat["expiresAt"]),
                    "userId": user["id"],
                    "createdAt": _instant(pat["createdAt"]),
                    "seenAt": _instant(pat["seenAt"]) if pat["seenAt"] else None,
                }
                for user in state["users"]
                if user["id"] != me
                for pat in user["pats"]
            ]
            reply.set_json({"pats": reply.json()["pats"] + others})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return len(p.pats())


@defect(
    "identity-stale-list-cache",
    "identity",
    "the list is served from a 10-second cache: a PAT just created or deleted is not reflected",
    "a per-user memoisation of the list query (for the UI's polling) is not invalidated on "
    "create or delete",
)
class StaleListCache(Proxy):
    def install(self) -> None:
        self.cache: dict[tuple[str, str | None], tuple[float, bytes]] = {}

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS) and reply.status == 200:
            key = (ex.credential, ex.session_cookie)
            now = self.app.state.clock.time()
            cached = self.cache.get(key)
            if cached and now - cached[0] < 10:
                reply.body = cached[1]
            else:
                self.cache[key] = (now, reply.body)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        p.pats()
        p.create("fresh")
        return len(p.pats())


@defect(
    "identity-delete-any-users-pat",
    "identity",
    "DELETE removes another user's PAT (8.2.0: 200 and nothing deleted)",
    "the delete query lost its `user_id` condition, so any id is deleted",
)
class DeleteAnyUsersPat(Proxy):
    def install(self) -> None:
        def delete(original: Any, store: Any, user_id: int, pat_id: int) -> bool:
            found = internals.pat_by_id(store, pat_id)
            return original(found[0].id if found else user_id, pat_id)

        internals.wrap_store(self.app, "delete", delete)

    @staticmethod
    def demo(p: Probe) -> Any:
        p.delete(2)  # alice's seeded PAT, deleted by admin
        return p.get(auth=ALICE_PAT).status_code


@defect(
    "identity-secret-64-hex",
    "identity",
    "new secrets are `user:` and 64 hex digits instead of 56",
    "`randomBytes(28)` became `randomBytes(32)` when the generator was shared with API tokens",
)
class Secret64Hex(Proxy):
    def install(self) -> None:
        internals.set_secret_factory(self.app, lambda: "user:" + secrets.token_hex(32))

    @staticmethod
    def demo(p: Probe) -> Any:
        return len(p.create("long").json()["secret"])


@defect(
    "identity-create-returns-hashed-secret",
    "identity",
    "the 201's secret is the stored hash (well-formed, 56 hex) and does not authenticate",
    "secrets are now stored hashed and the response is built from the inserted row",
)
class CreateReturnsHash(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", TOKENS) and reply.status == 201:
            secret = reply.json()["secret"]
            hashed = "user:" + hashlib.sha224(secret.encode()).hexdigest()
            reply.set_json(reply.json() | {"secret": hashed})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(auth=p.create("hash").json()["secret"]).status_code


@defect(
    "identity-secret-listed",
    "identity",
    "listed PATs carry their secret",
    "the list query selects `*` after a refactor and the serializer no longer omits `secret`",
)
class SecretListed(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS) and pats_in(reply):
            by_id = {pat_id: secret for secret, (_, pat_id) in (await self.secrets()).items()}
            rewrite_pats(reply, lambda pat: pat | {"secret": by_id.get(pat["id"], "")})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "secret" in p.pats()[0]


# -- the current user ------------------------------------------------------------------------
@defect(
    "current-user-pat-id-as-user-id",
    "current-user",
    "GET /api/admin/user with a PAT reports the PAT's id as the user's id",
    "the PAT middleware attaches the token row as `req.user` and the handler reads `.id`; the "
    "seeded PATs happen to share their users' ids",
)
class PatIdAsUserId(Proxy):
    def install(self) -> None:
        self.created: dict[str, int] = {}

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", TOKENS) and reply.status == 201:
            self.created[reply.json()["secret"]] = reply.json()["id"]
        pat_id = self.created.get(ex.credential)
        if ex.is_route("GET", CURRENT_USER) and reply.status == 200 and pat_id is not None:
            body = reply.json()
            if not ex.session_cookie:
                reply.set_json(body | {"user": body["user"] | {"id": pat_id}})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        secret = p.create("me").json()["secret"]
        return p.get(CURRENT_USER, auth=secret).json()["user"]["id"]


@defect(
    "current-user-admin-permission-missing",
    "current-user",
    "an Admin user's permissions are empty in GET /api/admin/user",
    "root-role permissions are now loaded for sessions only; PAT requests get none",
)
class AdminPermissionMissing(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", CURRENT_USER) and reply.status == 200:
            reply.set_json(reply.json() | {"permissions": []})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(CURRENT_USER).json()["permissions"]


@defect(
    "current-user-cacheable",
    "current-user",
    "GET /api/admin/user no longer sends `Cache-Control: no-store`",
    "the handler's explicit header was lost when the route moved to a shared controller",
)
class CurrentUserCacheable(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", CURRENT_USER):
            reply.set_header("cache-control", None)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(CURRENT_USER).headers.get("cache-control")


# -- list, create and delete answers -----------------------------------------------------------
@defect(
    "list-bare-array",
    "list",
    'the list is a bare JSON array instead of `{"pats": [...]}`',
    "the handler now returns the service's array directly (the wrapper was 'redundant')",
)
class ListBareArray(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS) and reply.status == 200:
            reply.set_json(reply.json()["pats"])
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return type(p.get().json()).__name__


@defect(
    "list-seenat-omitted-when-null",
    "list",
    "a PAT never used has no seenAt key at all instead of `seenAt: null`",
    "the serializer now drops undefined fields and the mapper yields undefined for NULL",
)
class SeenAtOmitted(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.under(TOKENS):
            rewrite_pats(reply, lambda pat: {k: v for k, v in pat.items() if v is not None})
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return "seenAt" in p.create("unused").json()


@defect(
    "list-expired-hidden",
    "list",
    "expired PATs are left out of the list (they still count and block their description)",
    "the list reuses the 'active tokens' query, which filters on expiry",
)
class ExpiredHidden(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS):
            now = self.app.state.clock.now()
            rewrite_pats(
                reply,
                lambda pat: pat if datetime.fromisoformat(pat["expiresAt"]) > now else None,
            )
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        p.create("short", p.later(60))
        p.clock.advance(120)
        return len(p.pats())


@defect(
    "list-expiry-warning-unflagged",
    "list",
    "listed PATs carry `expiryWarning` although the tokenExpiryNotifications flag is off",
    "the flag check around the warning was inverted in a flag-SDK migration",
)
class ExpiryWarningUnflagged(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", TOKENS):
            now = self.app.state.clock.now()
            rewrite_pats(reply, lambda pat: _with_warning(pat, now))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        p.create("short", p.later(60))
        p.clock.advance(120)
        return [pat.get("expiryWarning") for pat in p.pats()]


def _with_warning(pat: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Unleash's getTokenExpiryWarning with the default lead days (14, 3)."""
    expires = datetime.fromisoformat(pat["expiresAt"])
    created = datetime.fromisoformat(pat["createdAt"])
    if expires <= now:
        return pat | {"expiryWarning": "expired"}
    days_left = (expires.astimezone(UTC).date() - now.date()).days
    if (now.date() - created.astimezone(UTC).date()).days >= days_left and days_left <= 14:
        return pat | {"expiryWarning": "expires-soon"}
    return pat


@defect(
    "create-answers-200",
    "create",
    "a create is answered 200 instead of 201",
    "the route was moved to a generic controller helper that always sends 200",
)
class CreateAnswers200(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("POST", TOKENS) and reply.status == 201:
            reply.status = 200
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("ok").status_code


@defect(
    "delete-answers-204",
    "delete",
    "DELETE is answered 204 No Content instead of 200",
    "the handler was changed to `res.status(204).end()` following REST conventions",
)
class DeleteAnswers204(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("DELETE", TOKENS + "/{id}") and reply.status == 200:
            reply.status = 204
            reply.set_header("transfer-encoding", None)
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.delete(p.create("gone").json()["id"]).status_code


def _int_id(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


@defect(
    "delete-unknown-404",
    "delete",
    'DELETE of an id no PAT has is 404 "No PAT found." (8.2.0: 200), as before 8.0',
    "the pre-8.0 existence check came back in a merge",
)
class DeleteUnknown404(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if not ex.is_route("DELETE", TOKENS + "/{id}"):
            return await ex.forward()
        owners = await self.pat_owners()
        reply = await ex.forward()
        pat_id = _int_id(ex.path_id())
        if reply.status == 200 and pat_id is not None and pat_id not in owners:
            reply.replace(404, error_body("NotFoundError", "No PAT found.", with_id=False))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.delete(999).status_code


@defect(
    "delete-foreign-403",
    "delete",
    "DELETE of another user's PAT is 403 (8.2.0: 200, nothing deleted, nothing disclosed)",
    "an ownership check with its own error was added in front of the delete",
)
class DeleteForeign403(Proxy):
    def install(self) -> None:
        self.sessions = SessionTracker()

    async def handle(self, ex: Exchange) -> Reply:
        if not ex.is_route("DELETE", TOKENS + "/{id}"):
            reply = await ex.forward()
            self.sessions.learn(ex, reply)
            return reply
        owners = await self.pat_owners()
        me = await caller(self, ex, self.sessions)
        reply = await ex.forward()
        owner = owners.get(_int_id(ex.path_id()) or 0)
        if reply.status == 200 and owner is not None and me is not None and owner != me:
            message = "You do not have permission to delete this PAT."
            reply.replace(403, error_body("ForbiddenError", message, with_id=False))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.delete(2).status_code


@defect(
    "delete-non-integer-500",
    "delete",
    "DELETE of a non-integer id (`abc`) is a 500 leaking SQL instead of a schema 400",
    "the id parameter's schema lost `type: integer` and the text reaches PostgreSQL",
)
class DeleteNonInteger500(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        body = reply.json() if reply.status == 400 and reply.is_json() else None
        detail = body.get("details", [{}])[0] if isinstance(body, dict) else {}
        if detail.get("path") == "/params/id" and "must be integer" in detail.get("message", ""):
            sent = ex.path_id()
            message = (
                'delete from "personal_access_tokens" where "id" = $1 and "user_id" = $2 - '
                f'invalid input syntax for type integer: "{sent}"'
            )
            reply.replace(500, error_body("UnknownError", message, with_id=False))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.delete("abc").status_code


@defect(
    "delete-id-strict",
    "delete",
    "DELETE ids in other spellings of an integer (`07`, `7.0`, `+7`, `7e0`) are refused 400 "
    "instead of deleting PAT 7",
    "the id is checked with a strict `/^-?(0|[1-9]\\d*)$/` on the raw text instead of Ajv's "
    "type coercion",
)
class DeleteIdStrict(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        sent = ex.path_id()
        canonical = re.fullmatch(r"-?(0|[1-9][0-9]*)", sent) is not None
        if ex.is_route("DELETE", TOKENS + "/{id}") and sent and not canonical:
            original = ex.path
            ex.set_path(original.rstrip("/").rpartition("/")[0] + "/not-an-integer")
            reply = await ex.forward()
            if reply.status == 400:
                reply.replace(400, schema_400("/params/id", "must be integer", sent))
            ex.set_path(original)
            return reply
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        pat_id = p.create("spelled").json()["id"]
        p.delete(f"0{pat_id}")
        return len(p.pats())


# -- ui-config ---------------------------------------------------------------------------------
class _UiConfig(Proxy):
    def change(self, config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.is_route("GET", UI_CONFIG) and reply.status == 200:
            reply.set_json(self.change(reply.json()))
        return reply


@defect(
    "uiconfig-killswitch-claimed",
    "ui-config",
    "ui-config's flags claim personalAccessTokensKillSwitch: true while PATs work",
    "the flag resolver reads the kill switch's variant instead of its enabled state",
)
class KillSwitchClaimed(_UiConfig):
    def change(self, config: dict[str, Any]) -> dict[str, Any]:
        return config | {"flags": config["flags"] | {"personalAccessTokensKillSwitch": True}}

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(UI_CONFIG).json()["flags"]["personalAccessTokensKillSwitch"]


@defect(
    "uiconfig-versioninfo-stale",
    "ui-config",
    "ui-config's versionInfo.current.oss names 8.1.2 while `version` says 8.2.0",
    "versionInfo reads a version file the release script no longer bumps",
)
class VersionInfoStale(_UiConfig):
    def change(self, config: dict[str, Any]) -> dict[str, Any]:
        info = config["versionInfo"]
        return config | {"versionInfo": info | {"current": info["current"] | {"oss": "8.1.2"}}}

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(UI_CONFIG).json()["versionInfo"]["current"]["oss"]


@defect(
    "uiconfig-unauthenticated",
    "ui-config",
    "GET /api/admin/ui-config answers 200 without any credential",
    "the route was mounted before the auth middleware so that the login page can read it",
)
class UiConfigUnauthenticated(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        if (
            ex.is_route("GET", UI_CONFIG)
            and not ex.header("authorization")
            and not ex.session_cookie
        ):
            state = await self.control_state()
            ex.set_header("authorization", state["adminTokens"][0])
        return await ex.forward()

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.get(UI_CONFIG, auth=None).status_code
