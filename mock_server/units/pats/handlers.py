"""The PAT operations of openapi.yaml: thin handlers that pick the caller, call the store and
write the answer in Unleash's format.

Authentication, body parsing and validation happened before (auth.py, node/); the rules live in
the store (models.py).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from starlette.responses import Response

from mock_server.errors import BadDataError, SchemaError, ServiceError, UnleashError, Violation
from mock_server.instants import parse_date_time, timestamp
from mock_server.node import javascript, pg
from mock_server.node.ajv import check
from mock_server.node.responses import EndResponse, json_response, large_json_response
from mock_server.units.accounts.models import User
from mock_server.units.base import Call
from mock_server.units.pats.models import Pat, Rule, StoreError
from mock_server.versions import Defect, ErrorKind, IdCheck, Message, UnknownDelete

# What PostgreSQL reads as an int4: optional spaces, a sign, decimal digits (leading zeros
# aside, at most 10: int() stays cheap, and a longer number is out of range anyway).
_INT4_TEXT = re.compile(r"[ \t\n\r\f\v]*[+-]?0*[0-9]{1,10}[ \t\n\r\f\v]*")
_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1

# Each broken rule as Unleash answers it: a service 400 unless it names another kind.
_RULES: dict[Rule, tuple[Message, ErrorKind]] = {
    Rule.EMPTY_DESCRIPTION: (Message.EMPTY_DESCRIPTION, ErrorKind.BAD_DATA),
    Rule.PAST_EXPIRY: (Message.PAST_EXPIRY, ErrorKind.BAD_DATA),
    Rule.TOO_MANY_PATS: (Message.TOO_MANY_PATS, ErrorKind.TOO_MANY_PATS),
    Rule.NUL_DESCRIPTION: (Message.NUL_DESCRIPTION, ErrorKind.BAD_DATA),
    Rule.DUPLICATE_DESCRIPTION: (Message.DUPLICATE_DESCRIPTION, ErrorKind.DUPLICATE_DESCRIPTION),
}
# What a missing expiry is, where Unleash fails on it with a 500: the schema 400 later releases
# answer.
_EXPIRY_REQUIRED = Violation("/body/expiresAt", "is required")


def expiry_warning(pat: Pat, now: datetime, lead_days: tuple[int, ...]) -> str | None:
    """Unleash's getTokenExpiryWarning: calendar days in UTC."""
    if pat.expires_at <= now:
        return "expired"
    days_left = (pat.expires_at.date() - now.date()).days
    days_since = (now.date() - pat.created_at.date()).days
    if days_since < days_left:
        return None
    return "expires-soon" if any(days_left <= d for d in lead_days) else None


def pat_json(
    pat: Pat, keys: tuple[str, ...], *, secret: str | None = None, warning: str | None = None
) -> dict:
    """The PAT object, its keys in the release's order (`keys`)."""
    values = {
        "id": pat.id,
        "description": pat.description,
        "expiresAt": timestamp(pat.expires_at),
        "userId": pat.user_id,
        "createdAt": timestamp(pat.created_at),
        "seenAt": timestamp(pat.seen_at) if pat.seen_at else None,
        "expiryWarning": warning,
        "secret": secret,
    }
    optional = ("expiryWarning", "secret")
    return {k: values[k] for k in keys if k not in optional or values[k] is not None}


def _defect(call: Call, defect: Defect, **values: object) -> UnleashError | None:
    """Bug-compatible mode: the release's defect as it answers it (a 500 leaking SQL); None
    where the mode is off or the release has no such defect."""
    message = call.state.profile.defects.get(defect)
    if message is None or not call.state.options.bug_compatible:
        return None
    return UnleashError(message.format(**values))


def _id_defect(call: Call, shown: str) -> UnleashError | None:
    """PostgreSQL's refusal of an id int4 cannot hold, `shown` as Unleash sent it."""
    digits = shown.removeprefix("-").isdigit()
    kind = Defect.DELETE_ID_OUT_OF_RANGE if digits else Defect.DELETE_ID_NOT_INT4_SYNTAX
    return _defect(call, kind, value=shown)


def defect_of(call: Call, exc: UnleashError) -> UnleashError | None:
    """Bug-compatible mode, for a DELETE the mock's schema refuses: Unleash declares no bound on
    the id, so one beyond PostgreSQL's int4 fails in its query instead."""
    if not isinstance(exc, SchemaError) or call.scope.get("method") != "DELETE" or not call.caller:
        return None
    # The id as Ajv coerces it (the scope here holds the raw path segment); Ajv refuses what is
    # no integer at all.
    pat_id, error = check({"type": "integer"}, call.params.get("id"), "")
    if error or _INT4_MIN <= pat_id <= _INT4_MAX:
        return None
    # 8.x compiles its DELETE first (an admin token has no user id to bind); earlier releases
    # look the PAT up first, and that query fails on the id.
    if call.caller.user is None and call.state.profile.unknown_delete is UnknownDelete.OK:
        return _defect(call, Defect.ADMIN_TOKEN_DELETE)
    return _id_defect(call, javascript.number_to_string(pat_id))


def _user(call: Call, *, kill_switch: bool = True, defect: Defect | None = None) -> User:
    """The user whose PATs these are; Unleash's kill switch and its refusal of an API user
    (where the release lets an API user through to the store, `defect` is the 500 it meets)."""
    assert call.caller is not None  # the authentication middleware guards every PAT route
    if kill_switch and call.state.options.pats_kill_switch:
        raise ServiceError(Message.PATS_DISABLED, kind=ErrorKind.NOT_FOUND)
    if call.caller.user is None:
        if defect is not None and not call.state.profile.api_user_refused_early:
            raise _defect(call, defect) or _not_a_user()
        raise _not_a_user()
    return call.caller.user


def _not_a_user() -> ServiceError:
    return ServiceError(Message.NOT_A_USER, kind=ErrorKind.NOT_A_USER)


async def get_pats(call: Call) -> Response:
    user = _user(call, defect=Defect.ADMIN_TOKEN_LIST)
    state = call.state
    options, now, keys = state.options, state.clock.now(), state.profile.pat_keys
    notify = options.token_expiry_notifications and state.profile.expiry_warnings
    days = options.token_expiry_notification_days
    pats = [
        pat_json(pat, keys, warning=expiry_warning(pat, now, days) if notify else None)
        for pat in state.pats.list(user.id)
    ]
    return await large_json_response(
        {"pats": pats}, if_none_match=call.headers.get("if-none-match")
    )


async def create_pat(call: Call) -> Response:
    body = call.body
    early = call.state.profile.api_user_refused_early
    user = _user(call) if early else None
    # The description as Unleash's service reads it (`if (!description)`: JavaScript's
    # truthiness), then as node-postgres writes it into the text column; where the release's
    # schema types it, Ajv has already made it a string.
    raw = body.get("description")
    description = pg.text(raw) if pg.truthy(raw) else ""
    # Validation guarantees a date-time where an expiry is sent; one PostgreSQL cannot store
    # (None here) fails at the insert, after every other rule, as a missing one does. Unleash
    # skips its past-expiry check for strings JavaScript's Date cannot parse; the mock checks
    # every storable one.
    expires_at = parse_date_time(body["expiresAt"]) if "expiresAt" in body else None
    try:
        if user is None:
            # The service checks the body before it needs the user; an API user then fails in
            # its first query.
            call.state.pats.check(description, expires_at)
            user = _user(call, defect=Defect.ADMIN_TOKEN_CREATE)
        pat, secret = call.state.pats.create(user.id, description, expires_at)
    except StoreError as exc:
        raise _refusal(call, exc.rule) from None
    keys = call.state.profile.pat_keys
    return json_response(pat_json(pat, keys, secret=secret), 201)


def _refusal(call: Call, rule: Rule) -> UnleashError:
    """A broken rule as the release answers it (or, in bug-compatible mode, its defect)."""
    if rule is Rule.EXPIRY_MISSING and "expiresAt" in call.body:
        # Real Unleash's insert fails with a 500 leaking SQL; the mock answers the 400 meant.
        sent = javascript.stringify(call.body["expiresAt"])
        return SchemaError(Violation("/body/expiresAt", 'must match format "date-time"', sent))
    if rule is Rule.EXPIRY_MISSING:
        return _defect(call, Defect.EXPIRY_MISSING) or SchemaError(_EXPIRY_REQUIRED)
    if rule is Rule.NUL_DESCRIPTION and (defect := _defect(call, Defect.NUL_DESCRIPTION)):
        return defect
    message, kind = _RULES[rule]
    if kind is ErrorKind.BAD_DATA:
        return BadDataError(message)
    return ServiceError(message, kind=kind)


async def delete_pat(call: Call) -> Response:
    pat_id = _pat_id(call, call.params["id"])
    state = call.state
    # Where the release looks the PAT up first, an id no PAT has is a 404 for any caller, an
    # admin API token included; another user's PAT exists, and is answered 200.
    if state.profile.unknown_delete is UnknownDelete.NOT_FOUND and not state.pats.exists(pat_id):
        raise ServiceError(Message.UNKNOWN_PAT, kind=ErrorKind.NOT_FOUND)
    assert call.caller is not None
    if call.caller.user is None and (defect := _defect(call, Defect.ADMIN_TOKEN_DELETE)):
        raise defect
    user = _user(call, kill_switch=False)  # Unleash's kill switch spares DELETE
    state.pats.delete(user.id, pat_id)
    return EndResponse(200)


def _pat_id(call: Call, raw: int | str) -> int:
    """The id as the contract's validator left it, or (where the contract says string) as
    id-number-middleware checks it: `Number.isInteger(Number(id))`."""
    if call.state.profile.id_check is IdCheck.SCHEMA:
        assert isinstance(raw, int)
        return raw
    # IdCheck.NONE (no middleware) fails in PostgreSQL where the middleware refuses: the mock
    # answers as the middleware does (bug-compatible: as PostgreSQL does).
    text = str(raw)
    number = javascript.js_number(text)
    if not (math.isfinite(number) and number % 1 == 0):
        unchecked = call.state.profile.id_check is IdCheck.NONE
        raise (unchecked and _id_defect(call, text)) or BadDataError(Message.NOT_AN_INTEGER)
    # Real 5.x then hands the text itself to PostgreSQL: `1e3`, `0x10`, `107.0` or a value
    # beyond int4 fail there with a 500 leaking SQL, and nothing is deleted. The mock answers
    # the 400 that was meant.
    if not _INT4_TEXT.fullmatch(text) or not _INT4_MIN <= int(text) <= _INT4_MAX:
        raise _id_defect(call, text) or BadDataError(Message.NOT_AN_INTEGER)
    return int(text)
