"""Layer 3: focused properties that generated requests and the model reach only by luck:
time (expiry), the limit, exact service rules, a second user, an admin API token, the server's
own OpenAPI document, and inputs that make Unleash 8.2.0 answer 500."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import httpx

from contract_tests.api import PATS
from contract_tests.context import (
    FAR,
    PAST,
    SHORT_EXPIRY,
    Context,
    NotApplicable,
    body_of,
    expect,
    expect_delete,
    expect_error,
    listed_pats,
)
from contract_tests.oracles import is_date_time, iso_timestamp, stored_ms, timestamp
from contract_tests.registry import Layer, Need, check

# What leaked SQL looks like in Unleash's 500s (knex and PostgreSQL messages).
SQL = re.compile(
    r"\b(select|insert into|delete from|update)\b.*\b(from|where|set|returning)\b|"
    r"out of range for type|invalid byte sequence",
    re.I | re.S,
)


def create(ctx: Context, token: str, description: str, expires: str = FAR) -> httpx.Response:
    response = ctx.api.create(token, {"description": description, "expiresAt": expires})
    ctx.track(token, response)
    return response


class Created(NamedTuple):
    id: int
    secret: str
    description: str
    response: httpx.Response


def created(ctx: Context, token: str, expires: str = FAR) -> Created:
    description = ctx.description()
    response = create(ctx, token, description, expires)
    expect(response.status_code == 201, "valid_create_accepted", "create failed", response)
    pat = body_of(response)
    ok = isinstance(pat, dict) and isinstance(pat.get("id"), int) and "secret" in pat
    expect(ok, "created_pat_fields", "the 201 lacks an integer id or the secret", response)
    ctx.redact.add(pat["secret"])
    return Created(pat["id"], pat["secret"], description, response)


def no_server_error(response: httpx.Response, check_name: str, what: str) -> None:
    leak = " and leaks SQL" if SQL.search(response.text) else ""
    expect(
        response.status_code < 500,
        check_name,
        f"{what} answers {response.status_code}{leak}",
        response,
    )


def listed_ids(ctx: Context, token: str) -> set[int]:
    return {p.get("id") for p in listed_pats(ctx.api, token, "list_matches_model")[1]}


@check(Layer.PROPERTY)
def bad_tokens_rejected(ctx: Context) -> None:
    """No credentials: 401 AuthenticationRequired; an unknown or altered PAT: 401
    UnauthorizedError. Only GET and (not under --read-only, which sends no write method at
    all) a DELETE of an id nobody holds: nothing can change."""
    requests = [("GET", PATS)]
    if not ctx.settings.read_only:
        requests.append(("DELETE", f"{PATS}/{ctx.expect.max_id}"))
    for method, path in requests:
        response = ctx.api.request(method, path, token=None)
        expect_error(response, ctx.expect.missing_token, "missing_token_rejected", method)
        altered = ctx.token[:-1] + ("0" if ctx.token[-1] != "0" else "1")
        for token in ("user:" + secrets.token_hex(28), altered, "garbage"):
            response = ctx.api.request(method, path, token=token)
            expect_error(response, ctx.expect.unknown_token, "unknown_token_rejected", method)


@check(Layer.PROPERTY)
def rate_limit_headers_as_version(ctx: Context) -> None:
    """RateLimit-* headers on a PAT-authenticated answer exactly when the version limits PAT
    requests (8.2.0: `RateLimit-Policy: 20000;w=60`; before 8.2 no limiter, no headers)."""
    response = ctx.api.list(ctx.token)
    sent = sorted(h for h in response.headers if h.lower().startswith("ratelimit-"))
    if ctx.expect.rate_limit_headers:
        message = f"no RateLimit-Policy/-Limit/-Remaining/-Reset, only {sent}"
        expect(len(sent) == 4, "rate_limit_headers", message, response)
    else:
        expect(not sent, "rate_limit_headers", f"sends {sent}: no limiter here", response)


@check(Layer.PROPERTY, Need.WRITE)
def out_of_range_id_rejected(ctx: Context) -> None:
    """An id outside PostgreSQL's int4 is a 400 BadDataError, never a 500 (it deletes nothing,
    but it is a DELETE: never sent under --read-only)."""
    for pat_id in (ctx.expect.max_id + 1, -ctx.expect.max_id - 2):
        response = ctx.api.delete(ctx.token, pat_id)
        no_server_error(response, "out_of_range_id_rejected", f"DELETE of id {pat_id}")
        expect_error(response, ctx.expect.bad_data, "out_of_range_id_rejected", f"id {pat_id}")


@check(Layer.PROPERTY, Need.WRITE)
def service_rules_enforced(ctx: Context) -> None:
    """Empty description and past expiry: 400 BadDataError; a description the user already has:
    409 NameExistsError; none of them creates a PAT."""
    before = listed_ids(ctx, ctx.token)
    response = create(ctx, ctx.token, "")
    bad_data = ctx.expect.bad_data
    expect_error(response, bad_data, "empty_description_rejected", "empty description")
    response = create(ctx, ctx.token, ctx.description(), PAST)
    expect_error(response, bad_data, "past_expiry_rejected", "past expiresAt")
    minutes_ago = timestamp(datetime.now(UTC) - timedelta(minutes=10))
    response = create(ctx, ctx.token, ctx.description(), minutes_ago)
    expect_error(response, bad_data, "past_expiry_rejected", "an expiresAt minutes ago")
    first = created(ctx, ctx.token)
    response = create(ctx, ctx.token, first.description)
    expect_error(
        response, ctx.expect.duplicate_description, "duplicate_description_rejected", "same one"
    )
    after = listed_ids(ctx, ctx.token)
    expect(after == before | {first.id}, "rejected_create_stored", f"list is {after}", response)


@check(Layer.PROPERTY, Need.WRITE)
def created_listed_and_ids_never_reused(ctx: Context) -> None:
    """A created PAT is listed at once; ids strictly increase and a deleted id is never reused."""
    first = created(ctx, ctx.token)
    listed = listed_ids(ctx, ctx.token)
    expect(first.id in listed, "create_listed", f"{first.id} not listed", first.response)
    ctx.api.delete(ctx.token, first.id)
    second = created(ctx, ctx.token)
    message = f"id {second.id} after id {first.id}"
    expect(second.id > first.id, "ids_increase", message, second.response)


@check(Layer.PROPERTY, Need.WRITE)
def deleted_token_rejected(ctx: Context) -> None:
    """A PAT deleting itself gets 200; then it is unlisted and refused (401), and deleting it
    again is still 200."""
    pat_id, secret, *_ = created(ctx, ctx.token)
    response = ctx.api.list(secret)
    expect(response.status_code == 200, "valid_token_accepted", "new PAT refused", response)
    response = ctx.api.delete(secret, pat_id)
    expect_delete(ctx, response, True, "DELETE of its own id")
    response = listed_pats(ctx.api, ctx.token, "list_matches_model")[0]
    expect(pat_id not in listed_ids(ctx, ctx.token), "delete_removes", "still listed", response)
    response = ctx.api.list(secret)
    expect_error(response, ctx.expect.unknown_token, "deleted_token_rejected", "deleted PAT")
    response = ctx.api.delete(ctx.token, pat_id)
    expect_delete(ctx, response, False, "second DELETE")


@check(Layer.PROPERTY, Need.WRITE)
def expired_token_rejected(ctx: Context) -> None:
    """A PAT works until its expiresAt and is refused (401 UnauthorizedError) after it."""
    expires = datetime.now(UTC) + SHORT_EXPIRY
    secret = created(ctx, ctx.token, timestamp(expires)).secret
    ctx.budget.wait((expires + ctx.clock_margin - datetime.now(UTC)).total_seconds())
    response = ctx.api.list(secret)
    expect_error(response, ctx.expect.unknown_token, "expired_token_rejected", "expired PAT")


@check(Layer.PROPERTY, Need.WRITE)
def pat_limit_enforced(ctx: Context) -> None:
    """At the PAT limit, one more create is refused (8.2.0: 403 OperationDeniedError) and
    stores nothing."""
    ctx.reset()
    limit = ctx.expect.pat_limit
    for _ in range(limit - len(listed_ids(ctx, ctx.token))):
        created(ctx, ctx.token)
    response = create(ctx, ctx.token, ctx.description())
    expect_error(response, ctx.expect.too_many_pats, "pat_limit_enforced", "PAT over limit")
    count = len(listed_ids(ctx, ctx.token))
    expect(count == limit, "pat_limit_enforced", f"{count} PATs listed", response)
    ctx.reset()


@check(Layer.PROPERTY, Need.WRITE, Need.TOKEN_2)
def cross_user_isolation(ctx: Context) -> None:
    """A user never sees, uses or deletes another user's PAT, and may reuse its description."""
    user_1, user_2 = ctx.callers
    theirs, their_secret, description, response = created(ctx, user_2.token)
    mine = listed_ids(ctx, user_1.token)
    expect(theirs not in mine, "other_users_pats_hidden", f"user 1 lists {theirs}", response)
    response = ctx.api.delete(user_1.token, theirs)
    expect_delete(ctx, response, True, "DELETE of another user's id")
    response = listed_pats(ctx.api, user_2.token, "list_matches_model")[0]
    expect(
        theirs in listed_ids(ctx, user_2.token),
        "cross_user_delete_ignored",
        f"user 1 deleted user 2's PAT {theirs}",
        response,
    )
    response, pats = listed_pats(ctx.api, their_secret, "list_matches_model")
    expect(
        all(p.get("userId") == user_2.user_id for p in pats),
        "other_users_pats_hidden",
        "user 2's PAT lists another user's PATs",
        response,
    )
    response = create(ctx, user_1.token, description)
    expect(response.status_code == 201, "description_unique_per_user", "reuse refused", response)


@check(Layer.PROPERTY, Need.WRITE, Need.ADMIN_TOKEN)
def admin_token_refused(ctx: Context) -> None:
    """An admin API token is no user: 403 ForbiddenError on GET and POST; its DELETE must not
    fail with a 500 (Unleash 8.2.0 leaks SQL there) and deletes nothing."""
    response = ctx.api.list(ctx.admin_token)
    expect_error(response, ctx.expect.not_a_user, "admin_token_refused", "GET as admin token")
    response = create(ctx, ctx.admin_token, ctx.description())
    expect_error(response, ctx.expect.not_a_user, "admin_token_refused", "POST as admin token")
    pat_id = created(ctx, ctx.token).id
    response = ctx.api.delete(ctx.admin_token, pat_id)
    no_server_error(response, "admin_delete_refused", "DELETE as admin token")
    expect(
        pat_id in listed_ids(ctx, ctx.token),
        "admin_delete_refused",
        "an admin API token deleted a user's PAT",
        response,
    )


@check(Layer.PROPERTY, Need.WRITE)
def nul_description_rejected(ctx: Context) -> None:
    """A NUL in the description cannot be stored by PostgreSQL: a 4xx, not a 500."""
    response = create(ctx, ctx.token, ctx.description("nul\u0000"))
    no_server_error(response, "nul_description_rejected", "a NUL in the description")
    expect(
        400 <= response.status_code < 500,
        "nul_description_rejected",
        f"a NUL in the description answers {response.status_code}",
        response,
    )


@check(Layer.PROPERTY, Need.WRITE)
def declared_headers_sent(ctx: Context) -> None:
    """Every header the server's own /docs/openapi.json declares on the 201 of a create is sent."""
    document = ctx.api.request("GET", "/docs/openapi.json", token=None)
    # A server without the document is not checked here; one that fails to write it is wrong.
    no_server_error(document, "not_a_server_error", "GET /docs/openapi.json")
    if document.status_code != 200:
        raise NotApplicable(f"/docs/openapi.json answered {document.status_code}")
    operation = document.json()["paths"]["/api/admin/user/tokens"]["post"]
    declared = operation["responses"].get("201", {}).get("headers", {})
    response = created(ctx, ctx.token).response
    missing = sorted(name for name in declared if name not in response.headers)
    expect(
        not missing,
        "declared_headers_sent",
        f"/docs/openapi.json declares {missing} on the 201, the response lacks them",
        response,
    )


# expiresAt forms Unleash 8.2.0 reads in its own ways (see oracles.py): zones optional or short,
# other separators, a leap second at an offset, microseconds rounded then milliseconds truncated.
EXPIRY_FORMS = (
    "2030-01-01T00:00:00",
    "2030-01-01t00:00:00z",
    "2030-01-01 00:00:00+02",
    "2030-01-01\t00:00:00-0530",
    "2030-01-01\n00:00:00+15:59",
    "2030-06-30T23:59:60+02:00",
    "2030-01-01T00:00:00.9999995Z",
    "2030-01-01T00:00:00.9995Z",
    "2030-02-29T00:00:00Z",
    "2030-01-01T24:00:00Z",
    "2030-01-01T12:00:00+2",
    "\uff12\uff10\uff13\uff10-01-01T00:00:00Z",  # JavaScript's \\d is ASCII only
    "2030-01-01\v00:00:00Z",  # white space to JavaScript and to PostgreSQL alike
)
# Accepted date-times that PostgreSQL cannot store: Unleash 8.2.0 answers 500.
UNSTORABLE_EXPIRIES = (
    "2030-01-01T00:00:00+16:00",
    "2030-01-01\ufeff00:00:00Z",
    "2030-01-01\u00a000:00:00Z",
    "2030-01-01T00:00:00+02:60",
    "2030-06-30T23:59:60.5Z",
)


def _create_and_remove(ctx: Context, expires: str) -> httpx.Response:
    response = create(ctx, ctx.token, ctx.description(), expires)
    if response.status_code == 201:
        ctx.api.delete(ctx.token, body_of(response)["id"])  # keep room under the limit
    return response


@check(Layer.PROPERTY, Need.WRITE)
def expiry_forms_stored(ctx: Context) -> None:
    """Each expiresAt form is refused (400) when it is no Ajv "date-time", otherwise stored
    as PostgreSQL reads it and shown as JavaScript's `Date#toISOString`."""
    for expires in EXPIRY_FORMS:
        response = _create_and_remove(ctx, expires)
        if not is_date_time(expires, ctx.expect.ajv):
            expect_error(response, ctx.expect.bad_data, "expiry_forms_stored", repr(expires))
            continue
        stored = stored_ms(expires, ctx.expect.ajv)
        if stored is None:  # Ajv 6 lets a day that does not exist through to PostgreSQL
            no_server_error(response, "unstorable_expiry_rejected", f"expiresAt {expires!r}")
            expect_error(response, ctx.expect.bad_data, "expiry_forms_stored", repr(expires))
            continue
        want = iso_timestamp(stored)
        expect(response.status_code == 201, "expiry_forms_stored", repr(expires), response)
        got = body_of(response).get("expiresAt")
        message = f"expiresAt {expires!r} is stored as {got!r}, Unleash stores {want!r}"
        expect(got == want, "expiry_forms_stored", message, response)


@check(Layer.PROPERTY, Need.WRITE)
def unstorable_expiry_rejected(ctx: Context) -> None:
    """A date-time PostgreSQL cannot store (an offset from 16 h, JavaScript white space as the
    separator) is a 4xx, never a 500 nor a stored PAT."""
    for expires in UNSTORABLE_EXPIRIES:
        response = _create_and_remove(ctx, expires)
        no_server_error(response, "unstorable_expiry_rejected", f"expiresAt {expires!r}")
        expect(
            400 <= response.status_code < 500,
            "unstorable_expiry_rejected",
            f"expiresAt {expires!r} answers {response.status_code}",
            response,
        )
