"""The 10-PAT limit and description uniqueness: what counts, in which order, how it is said."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench.defects import internals
from bench.defects.base import defect
from bench.defects.probe import ALICE_PAT, Probe
from bench.defects.proxy import Exchange, Proxy, Reply, service_400


class _CreateRule(Proxy):
    """The store's create with its rules changed. Unleash checks, in order: empty description,
    past expiry, the limit, a duplicate description; a variant keeps that order unless its
    regression is the order."""

    def install(self) -> None:
        internals.wrap_store(self.app, "create", self._create)

    def _create(
        self,
        original: Callable[..., Any],
        store: Any,
        user_id: int,
        description: str,
        expires_at: datetime,
        **kw: Any,
    ) -> Any:
        if not description or expires_at < internals.now(self.app):
            return original(user_id, description, expires_at, **kw)  # its own refusal
        return self.create(original, store, user_id, description, expires_at, **kw)

    def create(
        self,
        original: Callable[..., Any],
        store: Any,
        user_id: int,
        description: str,
        expires_at: datetime,
        **kw: Any,
    ) -> Any:
        raise NotImplementedError


@defect(
    "limit-eleven",
    "limits",
    "a user may hold 11 PATs (the limit check is off by one)",
    "`count > limit` replaced `count >= limit` when the limit became configurable",
)
class LimitEleven(Proxy):
    def install(self) -> None:
        internals.on_every_build(self.app, lambda state: internals.set_pat_limit(state.pats, 11))

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.fill(10)[-1]


@defect(
    "limit-global",
    "limits",
    "the 10-PAT limit counts every user's PATs, not the caller's",
    "the count query lost its `WHERE user_id = ?` in a query-builder refactor",
)
class LimitGlobal(_CreateRule):
    def create(
        self, original: Callable[..., Any], store: Any, user_id: int, *args: Any, **kw: Any
    ) -> Any:
        if len(internals.all_pats(store)) >= internals.pat_limit(store):
            raise internals.store_error("limit")
        return original(user_id, *args, **kw)

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.fill(9)[-1]  # 8.2.0: admin's 10th PAT; here the 11th PAT of the instance


@defect(
    "limit-expired-not-counted",
    "limits",
    "expired PATs no longer count towards the 10-PAT limit",
    "the count query was made to reuse the 'active tokens' query, which filters on expiry",
)
class LimitExpiredNotCounted(_CreateRule):
    def create(
        self, original: Callable[..., Any], store: Any, user_id: int, *args: Any, **kw: Any
    ) -> Any:
        now = internals.now(self.app)
        expired = sum(1 for pat in internals.pats_of(store, user_id) if pat.expires_at <= now)
        limit = internals.pat_limit(store) + expired
        return internals.with_pat_limit(store, limit, lambda: original(user_id, *args, **kw))

    @staticmethod
    def demo(p: Probe) -> Any:
        p.fill(9, expires_at=p.later(60))
        p.clock.advance(120)
        return p.create("after-expiry").status_code


@defect(
    "limit-deleted-still-counted",
    "limits",
    "deleted PATs still count towards the limit: after 10, deleting one does not free a place",
    "DELETE became a soft delete (`deleted_at`) and the count query was not updated",
)
class LimitDeletedCounted(_CreateRule):
    def install(self) -> None:
        super().install()
        self.deleted: dict[int, int] = defaultdict(int)

        def delete(original: Any, store: Any, user_id: int, pat_id: int) -> bool:
            done = original(user_id, pat_id)
            self.deleted[user_id] += done
            return done

        internals.wrap_store(self.app, "delete", delete)

    def create(
        self, original: Callable[..., Any], store: Any, user_id: int, *args: Any, **kw: Any
    ) -> Any:
        limit = internals.pat_limit(store) - self.deleted[user_id]
        return internals.with_pat_limit(store, limit, lambda: original(user_id, *args, **kw))

    @staticmethod
    def demo(p: Probe) -> Any:
        p.fill(9)
        p.delete(p.pats()[-1]["id"])
        return p.create("after-delete").status_code


@defect(
    "limit-status-400",
    "limits",
    "the 11th PAT is refused 400 BadDataError instead of 403 OperationDeniedError",
    "the limit error was thrown as a validation error when the service's errors were unified",
)
class LimitStatus400(Proxy):
    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if reply.status == 403 and reply.error_name() == "OperationDeniedError":
            reply.replace(400, service_400(reply.json()["message"]))
        return reply

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.fill(10)[-1]


@defect(
    "limit-checked-after-duplicate",
    "limits",
    "at the limit, a duplicate description is answered 409 instead of 403 (checks reordered)",
    "the uniqueness check moved before the count so that the cheaper query runs first",
)
class LimitAfterDuplicate(_CreateRule):
    def create(
        self,
        original: Callable[..., Any],
        store: Any,
        user_id: int,
        description: str,
        *args: Any,
        **kw: Any,
    ) -> Any:
        kept = internals.clean_description(description)
        if any(pat.description == kept for pat in internals.pats_of(store, user_id)):
            raise internals.store_error("duplicate")
        return original(user_id, description, *args, **kw)

    @staticmethod
    def demo(p: Probe) -> Any:
        p.fill(9)
        return p.create("default").status_code


class _Duplicate(_CreateRule):
    """Another notion of 'the same description', checked where Unleash checks it (after the
    limit)."""

    def taken(self, store: Any, user_id: int, description: str) -> bool:
        raise NotImplementedError

    def create(
        self,
        original: Callable[..., Any],
        store: Any,
        user_id: int,
        description: str,
        *args: Any,
        **kw: Any,
    ) -> Any:
        below_limit = len(internals.pats_of(store, user_id)) < internals.pat_limit(store)
        if below_limit and self.taken(store, user_id, internals.clean_description(description)):
            raise internals.store_error("duplicate")
        return original(user_id, description, *args, **kw)


@defect(
    "unique-case-insensitive",
    "uniqueness",
    "descriptions are unique regardless of letter case (`Default` conflicts with `default`)",
    "a unique index on `lower(description)` was added to stop confusingly similar names",
)
class UniqueCaseInsensitive(_Duplicate):
    def taken(self, store: Any, user_id: int, description: str) -> bool:
        mine = internals.pats_of(store, user_id)
        return any(p.description.lower() == description.lower() for p in mine)

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("Default").status_code


@defect(
    "unique-across-users",
    "uniqueness",
    "a description is refused 409 when another user has a PAT with it",
    "the duplicate query lost its `user_id` condition (a unique index on description alone)",
)
class UniqueAcrossUsers(_Duplicate):
    def taken(self, store: Any, user_id: int, description: str) -> bool:
        return any(p.description == description for p in internals.all_pats(store))

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("alice-default").status_code


@defect(
    "unique-trimmed",
    "uniqueness",
    "descriptions that differ only by surrounding blanks conflict (`default ` is a duplicate)",
    "the duplicate check compares `description.trim()` while the stored value is untrimmed",
)
class UniqueTrimmed(_Duplicate):
    def taken(self, store: Any, user_id: int, description: str) -> bool:
        mine = internals.pats_of(store, user_id)
        return any(p.description.strip() == description.strip() for p in mine)

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("default ").status_code


@defect(
    "unique-kept-after-delete",
    "uniqueness",
    "a deleted PAT's description stays taken: creating it again is 409",
    "DELETE became a soft delete and the duplicate query still sees deleted rows",
)
class UniqueKeptAfterDelete(_Duplicate):
    def install(self) -> None:
        super().install()
        self.gone: dict[int, set[str]] = defaultdict(set)

        def delete(original: Any, store: Any, user_id: int, pat_id: int) -> bool:
            found = internals.pat_by_id(store, pat_id)
            done = original(user_id, pat_id)
            if done and found:
                self.gone[user_id].add(found[1].description)
            return done

        internals.wrap_store(self.app, "delete", delete)

    def taken(self, store: Any, user_id: int, description: str) -> bool:
        return description in self.gone[user_id]

    @staticmethod
    def demo(p: Probe) -> Any:
        p.delete(p.create("again", auth=ALICE_PAT).json()["id"], auth=ALICE_PAT)
        return p.create("again", auth=ALICE_PAT).status_code
