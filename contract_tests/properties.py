"""Layer 3: focused properties that generated requests and the model reach only by luck:
time (expiry), the limit, exact service rules, a second user, an admin API token, the server's
own OpenAPI document, and inputs that make Unleash 8.2.0 answer 500."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import NamedTuple

import httpx

from contract_tests.api import PATS
from contract_tests.lifecycle import FAR, PAST, SHORT_EXPIRY, body_of, expect_error, listed_pats
from contract_tests.suite import PAT_LIMIT, NotApplicable, Suite, check, expect
from mock_server.handlers import timestamp

OUT_OF_RANGE_IDS = (2_147_483_648, -2_147_483_649)
# What leaked SQL looks like in Unleash's 500s (knex and PostgreSQL messages).
SQL = re.compile(
    r"\b(select|insert into|delete from|update)\b.*\b(from|where|set|returning)\b|"
    r"out of range for type|invalid byte sequence",
    re.I | re.S,
)


def create(suite: Suite, token: str, description: str, expires: str = FAR) -> httpx.Response:
    response = suite.api.create(token, {"description": description, "expiresAt": expires})
    suite.track(token, response)
    return response


class Created(NamedTuple):
    id: int
    secret: str
    description: str
    response: httpx.Response


def created(suite: Suite, token: str, expires: str = FAR) -> Created:
    description = suite.description()
    response = create(suite, token, description, expires)
    expect(response.status_code == 201, "valid_create_accepted", "create failed", response)
    pat = body_of(response)
    ok = isinstance(pat, dict) and isinstance(pat.get("id"), int) and "secret" in pat
    expect(ok, "created_pat_fields", "the 201 lacks an integer id or the secret", response)
    suite.redact.add(pat["secret"])
    return Created(pat["id"], pat["secret"], description, response)


def no_server_error(response: httpx.Response, check_name: str, what: str) -> None:
    leak = " and leaks SQL" if SQL.search(response.text) else ""
    expect(
        response.status_code < 500,
        check_name,
        f"{what} answers {response.status_code}{leak}",
        response,
    )


def listed_ids(suite: Suite, token: str) -> set[int]:
    return {p.get("id") for p in listed_pats(suite.api, token, "list_matches_model")[1]}


@check("property")
def bad_tokens_rejected(suite: Suite) -> None:
    """No credentials: 401 AuthenticationRequired; an unknown or altered PAT: 401
    UnauthorizedError. Only GET and a DELETE of an id nobody holds: nothing can change."""
    for method, path in (("GET", PATS), ("DELETE", f"{PATS}/2147483647")):
        response = suite.api.request(method, path, token=None)
        expect_error(response, 401, "AuthenticationRequired", "missing_token_rejected", method)
        altered = suite.token[:-1] + ("0" if suite.token[-1] != "0" else "1")
        for token in ("user:" + secrets.token_hex(28), altered, "garbage"):
            response = suite.api.request(method, path, token=token)
            expect_error(response, 401, "UnauthorizedError", "unknown_token_rejected", method)


@check("property")
def out_of_range_id_rejected(suite: Suite) -> None:
    """An id outside PostgreSQL's int4 is a 400 BadDataError, never a 500 (it deletes nothing,
    so this runs in --read-only too)."""
    for pat_id in OUT_OF_RANGE_IDS:
        response = suite.api.delete(suite.token, pat_id)
        no_server_error(response, "out_of_range_id_rejected", f"DELETE of id {pat_id}")
        expect_error(response, 400, "BadDataError", "out_of_range_id_rejected", f"id {pat_id}")


@check("property", "write")
def service_rules_enforced(suite: Suite) -> None:
    """Empty description and past expiry: 400 BadDataError; a description the user already has:
    409 NameExistsError; none of them creates a PAT."""
    before = listed_ids(suite, suite.token)
    response = create(suite, suite.token, "")
    expect_error(response, 400, "BadDataError", "empty_description_rejected", "empty description")
    response = create(suite, suite.token, suite.description(), PAST)
    expect_error(response, 400, "BadDataError", "past_expiry_rejected", "past expiresAt")
    first = created(suite, suite.token)
    response = create(suite, suite.token, first.description)
    expect_error(
        response, 409, "NameExistsError", "duplicate_description_rejected", "same description"
    )
    after = listed_ids(suite, suite.token)
    expect(after == before | {first.id}, "rejected_create_stored", f"list is {after}", response)


@check("property", "write")
def created_listed_and_ids_never_reused(suite: Suite) -> None:
    """A created PAT is listed at once; ids strictly increase and a deleted id is never reused."""
    first = created(suite, suite.token)
    listed = listed_ids(suite, suite.token)
    expect(first.id in listed, "create_listed", f"{first.id} not listed", first.response)
    suite.api.delete(suite.token, first.id)
    second = created(suite, suite.token)
    message = f"id {second.id} after id {first.id}"
    expect(second.id > first.id, "ids_increase", message, second.response)


@check("property", "write")
def deleted_token_rejected(suite: Suite) -> None:
    """A PAT deleting itself gets 200; then it is unlisted and refused (401), and deleting it
    again is still 200."""
    pat_id, secret, *_ = created(suite, suite.token)
    response = suite.api.list(secret)
    expect(response.status_code == 200, "valid_token_accepted", "new PAT refused", response)
    response = suite.api.delete(secret, pat_id)
    expect(response.status_code == 200, "delete_status", "DELETE is 200", response)
    response = listed_pats(suite.api, suite.token, "list_matches_model")[0]
    expect(pat_id not in listed_ids(suite, suite.token), "delete_removes", "still listed", response)
    response = suite.api.list(secret)
    expect_error(response, 401, "UnauthorizedError", "deleted_token_rejected", "deleted PAT")
    response = suite.api.delete(suite.token, pat_id)
    expect(response.status_code == 200, "delete_status", "second DELETE is 200", response)


@check("property", "write")
def expired_token_rejected(suite: Suite) -> None:
    """A PAT works until its expiresAt and is refused (401 UnauthorizedError) after it."""
    expires = datetime.now(UTC) + SHORT_EXPIRY
    secret = created(suite, suite.token, timestamp(expires)).secret
    time.sleep(max(0.0, (expires + suite.clock_margin - datetime.now(UTC)).total_seconds()))
    response = suite.api.list(secret)
    expect_error(response, 401, "UnauthorizedError", "expired_token_rejected", "expired PAT")


@check("property", "write")
def pat_limit_enforced(suite: Suite) -> None:
    """With 10 PATs, an 11th create is 403 OperationDeniedError and stores nothing."""
    suite.reset()
    for _ in range(PAT_LIMIT - len(listed_ids(suite, suite.token))):
        created(suite, suite.token)
    response = create(suite, suite.token, suite.description())
    expect_error(response, 403, "OperationDeniedError", "pat_limit_enforced", "11th PAT")
    count = len(listed_ids(suite, suite.token))
    expect(count == PAT_LIMIT, "pat_limit_enforced", f"{count} PATs listed", response)
    suite.reset()


@check("property", "write", "token_2")
def cross_user_isolation(suite: Suite) -> None:
    """A user never sees, uses or deletes another user's PAT, and may reuse its description."""
    user_1, user_2 = suite.callers
    theirs, their_secret, description, response = created(suite, user_2.token)
    mine = listed_ids(suite, user_1.token)
    expect(theirs not in mine, "other_users_pats_hidden", f"user 1 lists {theirs}", response)
    response = suite.api.delete(user_1.token, theirs)
    expect(response.status_code == 200, "delete_status", "DELETE is 200", response)
    response = listed_pats(suite.api, user_2.token, "list_matches_model")[0]
    expect(
        theirs in listed_ids(suite, user_2.token),
        "cross_user_delete_ignored",
        f"user 1 deleted user 2's PAT {theirs}",
        response,
    )
    response, pats = listed_pats(suite.api, their_secret, "list_matches_model")
    expect(
        all(p.get("userId") == user_2.user_id for p in pats),
        "other_users_pats_hidden",
        "user 2's PAT lists another user's PATs",
        response,
    )
    response = create(suite, user_1.token, description)
    expect(response.status_code == 201, "description_unique_per_user", "reuse refused", response)


@check("property", "write", "admin_token")
def admin_token_refused(suite: Suite) -> None:
    """An admin API token is no user: 403 ForbiddenError on GET and POST; its DELETE must not
    fail with a 500 (Unleash 8.2.0 leaks SQL there) and deletes nothing."""
    response = suite.api.list(suite.admin_token)
    expect_error(response, 403, "ForbiddenError", "admin_token_refused", "GET as admin token")
    response = create(suite, suite.admin_token, suite.description())
    expect_error(response, 403, "ForbiddenError", "admin_token_refused", "POST as admin token")
    pat_id = created(suite, suite.token).id
    response = suite.api.delete(suite.admin_token, pat_id)
    no_server_error(response, "admin_delete_refused", "DELETE as admin token")
    expect(
        pat_id in listed_ids(suite, suite.token),
        "admin_delete_refused",
        "an admin API token deleted a user's PAT",
        response,
    )


@check("property", "write")
def nul_description_rejected(suite: Suite) -> None:
    """A NUL in the description cannot be stored by PostgreSQL: a 4xx, not a 500."""
    response = create(suite, suite.token, suite.description("nul\u0000"))
    no_server_error(response, "nul_description_rejected", "a NUL in the description")
    expect(
        400 <= response.status_code < 500,
        "nul_description_rejected",
        f"a NUL in the description answers {response.status_code}",
        response,
    )


@check("property", "write")
def declared_headers_sent(suite: Suite) -> None:
    """Every header the server's own /docs/openapi.json declares on the 201 of a create is sent."""
    document = suite.api.request("GET", "/docs/openapi.json", token=None)
    if document.status_code != 200:
        raise NotApplicable(f"/docs/openapi.json answered {document.status_code}")
    operation = document.json()["paths"]["/api/admin/user/tokens"]["post"]
    declared = operation["responses"].get("201", {}).get("headers", {})
    response = created(suite, suite.token).response
    missing = sorted(name for name in declared if name not in response.headers)
    expect(
        not missing,
        "declared_headers_sent",
        f"/docs/openapi.json declares {missing} on the 201, the response lacks them",
        response,
    )
