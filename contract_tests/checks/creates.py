"""Layer 3: the life of a PAT made during the run, beyond the contract's shapes: how a create's
body is read, how the limit counts, which user a new PAT acts as, how a DELETE's id is read,
and the `seenAt` that a use sets later (Unleash writes uses in batches)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx

from contract_tests.api import PATS
from contract_tests.context import (
    FAR,
    SHORT_EXPIRY,
    Context,
    NotApplicable,
    body_of,
    expect,
    expect_error,
    listed_pats,
)
from contract_tests.oracles import V8_SYNTAX_ERRORS, timestamp
from contract_tests.registry import Layer, Need, check

USER = "/api/admin/user"
JSON = {"Content-Type": "application/json"}
# How long a run waits for a use to show as `seenAt`, by profile: Unleash writes uses in
# batches (its first a few seconds after start, then every few minutes).
SEEN_AT_WAIT = {"ci": 30.0, "thorough": 240.0}


def _post(ctx: Context, body: bytes, headers: dict[str, str], token: str | None) -> httpx.Response:
    response = ctx.api.request("POST", PATS, token=token, content=body, headers=headers)
    ctx.track(token or ctx.token, response)
    return response


def _created(ctx: Context, response: httpx.Response, name: str, why: str) -> dict:
    ok = response.status_code == 201 and isinstance(body_of(response), dict)
    expect(ok, name, f"{why}: answered {response.status_code}, not 201", response)
    return body_of(response)


@check(Layer.PROPERTY, Need.WRITE)
def create_bodies_read_as_unleash_reads_them(ctx: Context) -> None:
    """A create's body as Unleash reads it: parsed before anyone is authenticated (malformed
    JSON without credentials: 400 with V8's message); read only as `application/json` (another
    type, or none: 415); an empty body is `{}` (400 BadDataError); an expiry must be a
    date-time (a date alone, a number: 400); a `createdAt` sent is ignored; a number or `true`
    as description is stored as its text, blank spaces as sent."""
    name = "create_bodies_read_as_unleash_reads_them"
    malformed, message = next((b, m) for b, m in V8_SYNTAX_ERRORS if b == "{a:1}")
    response = _post(ctx, malformed.encode(), JSON, None)
    got = body_of(response) if response.status_code == 400 else None
    why = f"malformed JSON without credentials: expected 400 {{'message': {message!r}}}"
    expect(got == {"message": message}, name, f"{why}, got {response.status_code}", response)
    valid = json.dumps({"description": ctx.description(), "expiresAt": FAR}).encode()
    for kind in ("application/vnd.api+json", None):
        headers = {"Content-Type": kind} if kind else {}
        response = _post(ctx, valid, headers, ctx.token)
        expect(response.status_code == 415, name, f"Content-Type {kind!r}: not 415", response)
    response = _post(ctx, b"", JSON, ctx.token)
    expect_error(response, ctx.expect.bad_data, name, "an empty body")
    for expiry in ("2031-05-06", 1893456000000):
        body = json.dumps({"description": ctx.description(), "expiresAt": expiry}).encode()
        expect_error(_post(ctx, body, JSON, ctx.token), ctx.expect.bad_data, name, f"{expiry}")
    before = datetime.now(UTC) - timedelta(minutes=5)
    body = {"description": ctx.description(), "expiresAt": FAR, "createdAt": PAST_CREATED}
    pat = _created(ctx, _post(ctx, json.dumps(body).encode(), JSON, ctx.token), name, "createdAt")
    created_at = datetime.fromisoformat(str(pat.get("createdAt")).replace("Z", "+00:00"))
    message = f"createdAt {pat.get('createdAt')!r}: the one sent was kept"
    expect(created_at > before, name, message, None)
    number = _unique(ctx)
    for sent, stored in ((number, str(number)), (True, "true"), ("   ", "   ")):
        body = json.dumps({"description": sent, "expiresAt": FAR}).encode()
        response = _post(ctx, body, JSON, ctx.token)
        if response.status_code == 409 and sent is not number:
            continue  # another run's PAT of that description, left on a shared account
        pat = _created(ctx, response, name, f"description {sent!r}")
        message = f"description {sent!r} stored as {pat.get('description')!r}"
        expect(pat.get("description") == stored, name, message, response)
        ctx.api.delete(ctx.token, pat["id"])


PAST_CREATED = "2000-01-01T00:00:00.000Z"


def _unique(ctx: Context) -> int:
    """A number no other run's PAT is likely described by (the description is its text)."""
    return int(time.time_ns() // 1000) % 10**12 + int(ctx.prefix[-9:-1], 16)


@check(Layer.PROPERTY, Need.WRITE)
def limit_counts_every_pat_first(ctx: Context) -> None:
    """The limit counts every PAT the user holds, expired ones too, and is checked before the
    duplicate rule: at the limit, even a description the user already has is refused as one
    too many (403), not as a duplicate (409)."""
    name = "limit_counts_every_pat_first"
    ctx.reset()
    expires = datetime.now(UTC) + SHORT_EXPIRY
    body = {"description": ctx.description("expiring"), "expiresAt": timestamp(expires)}
    expiring = ctx.api.create(ctx.token, body)
    ctx.track(ctx.token, expiring)
    _created(ctx, expiring, name, "a PAT expiring soon")
    _, pats = listed_pats(ctx.api, ctx.token, name)
    for _ in range(ctx.expect.pat_limit - len(pats)):
        response = ctx.api.create(ctx.token, {"description": ctx.description(), "expiresAt": FAR})
        ctx.track(ctx.token, response)
        _created(ctx, response, name, "filling up to the limit")
    ctx.budget.wait((expires + ctx.clock_margin - datetime.now(UTC)).total_seconds())
    response = ctx.api.create(ctx.token, {"description": ctx.description(), "expiresAt": FAR})
    ctx.track(ctx.token, response)
    expect_error(response, ctx.expect.too_many_pats, name, "at the limit, one PAT expired")
    response = ctx.api.create(ctx.token, body | {"expiresAt": FAR})
    ctx.track(ctx.token, response)
    expect_error(response, ctx.expect.too_many_pats, name, "at the limit, a duplicate")
    ctx.reset()


@check(Layer.PROPERTY, Need.WRITE)
def new_pats_act_as_their_owner(ctx: Context) -> None:
    """A PAT made during the run acts as its owner: `GET /api/admin/user` names the owner (not
    the PAT's own id), and the PAT lists exactly the owner's PATs."""
    name = "new_pats_act_as_their_owner"
    owner = ctx.callers[0]
    _, expected = listed_pats(ctx.api, owner.token, name)
    made = []
    for _ in range(2):  # two, so that one id differs from the owner's whatever the ids are
        response = ctx.api.create(owner.token, {"description": ctx.description(), "expiresAt": FAR})
        ctx.track(owner.token, response)
        made.append(_created(ctx, response, name, "a new PAT"))
    for pat in made:
        ctx.redact.add(pat["secret"])
        me = ctx.api.request("GET", USER, token=pat["secret"])
        user = body_of(me).get("user") if me.status_code == 200 else None
        got = user.get("id") if isinstance(user, dict) else None
        message = f"PAT {pat['id']} acts as user {got!r}, its owner is {owner.user_id}"
        expect(got == owner.user_id, name, message, me)
        _, listed = listed_pats(ctx.api, pat["secret"], name)
        ids = {p.get("id") for p in listed}
        want = {p.get("id") for p in expected} | {p["id"] for p in made}
        expect(ids == want, name, f"PAT {pat['id']} lists {sorted(ids)}", me)
    for pat in made:
        ctx.api.delete(owner.token, pat["id"])


@check(Layer.PROPERTY, Need.WRITE)
def delete_ids_read_as_numbers(ctx: Context) -> None:
    """A DELETE's id is read as a number: `0<id>` and `+<id>` delete PAT <id>."""
    name = "delete_ids_read_as_numbers"
    for spelling in ("0{}", "+{}"):
        response = ctx.api.create(ctx.token, {"description": ctx.description(), "expiresAt": FAR})
        ctx.track(ctx.token, response)
        pat_id = _created(ctx, response, name, "a PAT to delete")["id"]
        path = spelling.format(pat_id)
        response = ctx.api.delete(ctx.token, path)
        message = f"DELETE …/{path} answered {response.status_code}"
        expect(response.status_code == ctx.expect.delete_status, name, message, response)
        ids = {p.get("id") for p in listed_pats(ctx.api, ctx.token, name)[1]}
        expect(pat_id not in ids, name, f"DELETE …/{path} left PAT {pat_id}", response)


@check(Layer.PROPERTY, Need.WRITE)
def seen_at_written_after_use(ctx: Context) -> None:
    """A use of a PAT sets its `seenAt`, eventually (Unleash writes uses in batches), to an
    instant no earlier than the PAT's creation and no later than now; a PAT not used stays
    `null`. The run waits for it as long as its profile allows (ci 30 s, thorough 240 s)."""
    name = "seen_at_written_after_use"
    made = []
    for _ in range(2):
        response = ctx.api.create(ctx.token, {"description": ctx.description(), "expiresAt": FAR})
        ctx.track(ctx.token, response)
        made.append(_created(ctx, response, name, "a new PAT"))
    used, unused = made
    ctx.redact.add(used["secret"])
    response = ctx.api.list(used["secret"])
    expect(
        response.status_code == 200, name, f"the new PAT answered {response.status_code}", response
    )
    wait = SEEN_AT_WAIT.get(ctx.profile.name, 30.0)
    deadline = time.monotonic() + min(wait, ctx.budget.remaining_seconds())
    while True:
        listing, pats = listed_pats(ctx.api, ctx.token, name)
        by_id = {p.get("id"): p for p in pats}
        seen = by_id.get(used["id"], {}).get("seenAt")
        if seen is not None or time.monotonic() >= deadline:
            break
        ctx.budget.wait(2.0)
    message = f"PAT {unused['id']} was never used, but its seenAt is {by_id.get(unused['id'])}"
    expect(by_id.get(unused["id"], {}).get("seenAt") is None, name, message, listing)
    if seen is None:
        raise NotApplicable(f"no seenAt written within {wait:.0f} s (Unleash writes in batches)")
    at = datetime.fromisoformat(str(seen).replace("Z", "+00:00"))
    created = datetime.fromisoformat(str(used["createdAt"]).replace("Z", "+00:00"))
    now = datetime.now(UTC)
    ok = created - ctx.clock_margin <= at <= now + ctx.clock_margin
    expect(ok, name, f"seenAt {seen} is not between its creation and now", listing)
    for pat in made:
        ctx.api.delete(ctx.token, pat["id"])
