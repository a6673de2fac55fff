"""Time: createdAt, expiry (its checks, formats and offsets), seenAt."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bench.defects import internals
from bench.defects.base import defect
from bench.defects.probe import ADMIN_PAT, Probe, iso
from bench.defects.proxy import (
    TOKENS,
    Exchange,
    Proxy,
    Reply,
    is_rejected,
    rewrite_pats,
    service_400,
)


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 date-time as Python reads it (no zone: UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def shifted(value: str, delta: timedelta) -> str:
    return iso(datetime.fromisoformat(value) + delta)


class _RewritesPats(Proxy):
    """Every PAT object of a list or create answer is changed the same way."""

    def change(self, pat: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        reply = await ex.forward()
        if ex.under(TOKENS):
            rewrite_pats(reply, self.change)
        return reply


class ReadsExpiry(Proxy):
    """POST's expiresAt is read differently: it reaches the stock mock as the regression reads
    it."""

    def read(self, expiry: Any) -> Any:
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        if ex.is_route("POST", TOKENS):
            body = await ex.json_body()
            if isinstance(body, dict) and "expiresAt" in body:
                read = self.read(body["expiresAt"])
                if read is not body["expiresAt"]:
                    await ex.set_json_body({**body, "expiresAt": read})
        return await ex.forward()


class _RefusesExpiry(Proxy):
    """A service rule refuses some expiries (after auth and validation, as Unleash's own)."""

    def refuses(self, expiry: datetime) -> str | None:
        """The refusal's text, or None."""
        raise NotImplementedError

    async def handle(self, ex: Exchange) -> Reply:
        body = await ex.json_body() if ex.is_route("POST", TOKENS) else None
        if isinstance(body, dict) and isinstance(body.get("description"), str):
            expiry = parse_instant(body.get("expiresAt"))
            text = self.refuses(expiry) if body["description"] and expiry else None
            if text is not None:
                reply = await ex.forward_rejected()
                if is_rejected(reply):
                    reply.replace(400, service_400(text))
                return reply
        return await ex.forward()


@defect(
    "time-createdat-shifted-hour",
    "time",
    "createdAt is an hour ahead of the real instant (local time written with `Z`)",
    "createdAt is now set in the application with a local-time formatter on a UTC+1 host",
)
class CreatedAtShifted(_RewritesPats):
    def change(self, pat: dict[str, Any]) -> dict[str, Any]:
        return pat | {"createdAt": shifted(pat["createdAt"], timedelta(hours=1))}

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("when").json()["createdAt"]


@defect(
    "time-created-expires-swapped",
    "time",
    "createdAt and expiresAt are swapped in PAT objects",
    "a row mapper refactor mapped `created_at` and `expires_at` to each other's fields",
)
class CreatedExpiresSwapped(_RewritesPats):
    def change(self, pat: dict[str, Any]) -> dict[str, Any]:
        return pat | {"createdAt": pat["expiresAt"], "expiresAt": pat["createdAt"]}

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("when").json()["expiresAt"]


@defect(
    "time-past-expiry-accepted",
    "time",
    "a PAT with an expiry in the past is created (201) instead of refused 400",
    "the service's `expiresAt < now` check was lost when validation moved to the schema",
)
class PastExpiryAccepted(Proxy):
    def install(self) -> None:
        def create(original: Any, store: Any, *args: Any, **kwargs: Any) -> Any:
            return original(*args, **{**kwargs, "check_expiry": False})

        internals.wrap_store(self.app, "create", create)

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("past", "2020-01-01T00:00:00.000Z").status_code


@defect(
    "time-expiry-compared-by-date",
    "time",
    "an expiry earlier today (already past) is accepted: only the date is compared",
    "the past-expiry check compares `startOfDay(expiresAt)` with today's date after a "
    "date-fns refactor",
)
class ExpiryComparedByDate(Proxy):
    def install(self) -> None:
        def create(
            original: Any,
            store: Any,
            user_id: int,
            description: str,
            expires_at: datetime,
            **kw: Any,
        ) -> Any:
            today = internals.now(self.app).date()
            lenient = expires_at.astimezone(UTC).date() >= today
            return original(user_id, description, expires_at, **kw, check_expiry=not lenient)

        internals.wrap_store(self.app, "create", create)

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("earlier", p.later(-3600)).status_code


@defect(
    "time-min-lifetime-one-day",
    "time",
    "an expiry less than a day ahead is refused 400 (8.2.0 takes any future instant)",
    "a 'minimum lifetime' rule was added to the service for the UI's date picker and applies "
    "to the API too",
)
class MinLifetimeOneDay(_RefusesExpiry):
    def refuses(self, expiry: datetime) -> str | None:
        now = internals.now(self.app)
        if now <= expiry < now + timedelta(days=1):
            return "The expiry date should be at least one day in the future."
        return None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("soon", p.later(3600)).status_code


@defect(
    "time-y2038-expiry",
    "time",
    "an expiry after 2038-01-19T03:14:07Z is refused as 'in the past'",
    "the expiry is checked through epoch seconds truncated with `| 0` (a 32-bit integer), "
    "which wraps to 1901",
)
class Y2038Expiry(_RefusesExpiry):
    def refuses(self, expiry: datetime) -> str | None:
        return "The expiry date should be in future." if expiry.timestamp() >= 2**31 else None

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("far", "2099-01-01T00:00:00.000Z").status_code


_OFFSET = re.compile(r"([+-])([0-9]{2}(?::?[0-9]{2})?)$")


@defect(
    "time-offset-sign-inverted",
    "time",
    "an expiry's UTC offset is applied with the wrong sign (+02:00 stored 2 hours late)",
    "a hand-written offset parser adds the offset instead of subtracting it",
)
class OffsetSignInverted(ReadsExpiry):
    def read(self, expiry: Any) -> Any:
        if isinstance(expiry, str) and _OFFSET.search(expiry) and "T" in expiry.upper():
            sign = {"+": "-", "-": "+"}[_OFFSET.search(expiry)[1]]  # type: ignore[index]
            return _OFFSET.sub(lambda m: sign + m[2], expiry)
        return expiry

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("tz", "2031-01-01T12:00:00+02:00").json()["expiresAt"]


@defect(
    "time-offset-ignored",
    "time",
    "an expiry's UTC offset is ignored: the wall time is stored as UTC",
    "the expiry is parsed with a pattern that captures the local part only",
)
class OffsetIgnored(ReadsExpiry):
    def read(self, expiry: Any) -> Any:
        if isinstance(expiry, str) and _OFFSET.search(expiry) and "T" in expiry.upper():
            return _OFFSET.sub("Z", expiry)
        return expiry

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("tz", "2031-01-01T12:00:00+02:00").json()["expiresAt"]


_NO_ZONE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?")


@defect(
    "time-no-zone-local-time",
    "time",
    "an expiry without a zone is read in the server's zone (UTC+1), not UTC",
    "the database session's TimeZone follows the host (TZ=Europe/Berlin) after a container "
    "image change",
)
class NoZoneLocalTime(ReadsExpiry):
    def read(self, expiry: Any) -> Any:
        if isinstance(expiry, str) and _NO_ZONE.fullmatch(expiry):
            return expiry + "+01:00"
        return expiry

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("local", "2031-01-01T12:00:00").json()["expiresAt"]


_FRACTION = re.compile(r"(.*T[0-9]{2}:[0-9]{2}:[0-9]{2})\.([0-9]{4,})(.*)", re.I)


@defect(
    "time-expiry-fraction-rounded",
    "time",
    "an expiry's sub-millisecond fraction is rounded, not truncated (.9999 becomes the next "
    "second)",
    "the expiry goes through `Math.round(ms)` in a new date helper instead of PostgreSQL's "
    "truncation",
)
class FractionRounded(ReadsExpiry):
    def read(self, expiry: Any) -> Any:
        match = _FRACTION.fullmatch(expiry) if isinstance(expiry, str) else None
        if not match:
            return expiry
        ms = Decimal("0." + match[2]).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        if ms < 1:
            return f"{match[1]}.{str(ms)[2:]}{match[3]}"
        moment = parse_instant(f"{match[1]}{match[3]}")
        return iso(moment + timedelta(seconds=1)) if moment else expiry

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("fraction", "2031-01-01T12:00:00.9999Z").json()["expiresAt"]


@defect(
    "time-seenat-never-written",
    "time",
    "seenAt stays null however often a PAT is used",
    "the scheduled job that flushes buffered PAT uses was removed with a scheduler refactor",
)
class SeenAtNeverWritten(_RewritesPats):
    def change(self, pat: dict[str, Any]) -> dict[str, Any]:
        return pat | {"seenAt": None}

    @staticmethod
    def demo(p: Probe) -> Any:
        p.get()
        p.clock.advance(200)
        return p.pats()[0]["seenAt"]


@defect(
    "time-seenat-set-on-create",
    "time",
    "a new PAT has seenAt = createdAt instead of null until it is used",
    "a migration gave `seen_at` the default `now()`",
)
class SeenAtSetOnCreate(_RewritesPats):
    def change(self, pat: dict[str, Any]) -> dict[str, Any]:
        return pat | {"seenAt": pat["seenAt"] or pat["createdAt"]}

    @staticmethod
    def demo(p: Probe) -> Any:
        return p.create("new").json()["seenAt"]


@defect(
    "time-seenat-wrong-row",
    "time",
    "using a PAT sets the seenAt of the PAT whose id is the user's id, not its own",
    "the batched `UPDATE personal_access_tokens SET seen_at … WHERE id IN (…)` is fed user ids",
)
class SeenAtWrongRow(Proxy):
    def install(self) -> None:
        def authenticate(original: Any, store: Any, secret: str) -> Any:
            found = original(secret)
            if found is not None and found[1].id != found[0].id:
                internals.redirect_seen(store, found[1].id, found[0].id)
            return found

        internals.wrap_store(self.app, "authenticate", authenticate)

    @staticmethod
    def demo(p: Probe) -> Any:
        created = p.create("used").json()
        p.get(auth=created["secret"])
        p.clock.advance(200)
        return {pat["id"]: pat["seenAt"] is not None for pat in p.pats(ADMIN_PAT)}
