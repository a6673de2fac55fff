"""Layer 3: what a client meets before any PAT rule: how the `Authorization` header is read, how
Express routes a path and a method, which headers every answer carries, and the PAT rate
limiter's headers as values, not only as names. Each property was learnt from real Unleash
releases (docs/observations) and holds for every release where its fact says so."""

from __future__ import annotations

import re
import secrets

import httpx

from contract_tests.api import PATS
from contract_tests.context import Context, body_of, expect, expect_error
from contract_tests.registry import Layer, check

USER = "/api/admin/user"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _listing(response: httpx.Response) -> object:
    """The PATs a list answers, without `seenAt`: using a PAT writes it a little later (Unleash
    flushes uses every 180 s), so two lists a flush apart differ there alone."""
    pats = body_of(response).get("pats") if response.status_code == 200 else None
    if not isinstance(pats, list):
        return pats
    return [
        {k: v for k, v in p.items() if k != "seenAt"} if isinstance(p, dict) else p for p in pats
    ]


@check(Layer.PROPERTY)
def credentials_read_exactly(ctx: Context) -> None:
    """The PAT is matched exactly: its case changed, cut short, lengthened, or after any scheme
    but `Bearer`, it is an unknown token (401 UnauthorizedError with an `id`). Where the release
    reads the `Bearer` scheme, it does so in any case and after any spaces or tabs; an empty
    header is no header (401 AuthenticationRequired)."""
    token = ctx.token
    expected = _listing(ctx.api.list(token))
    accepted = [token]
    if ctx.expect.bearer:
        accepted += [f"bearer {token}", f"BEARER {token}", f"Bearer  {token}", f"Bearer\t{token}"]
    for form in accepted:
        response = ctx.api.list(form)
        shown = ctx.redact(form)
        message = f"Authorization {shown!r} answered {response.status_code}, not the same list"
        ok = response.status_code == 200 and _listing(response) == expected
        expect(ok, "credentials_read_exactly", message, response)
    prefix, _, secret = token.partition(":")
    refused = [
        f"{prefix}:{secret.upper()}",
        token[:-1],
        token + secret[-1],
        f"Token {token}",
        f"Basic {token}",
        f"{token} {token}",
    ]
    if not ctx.expect.bearer:
        refused.append(f"Bearer {token}")
    for form in refused:
        response = ctx.api.list(form)
        expect_error(response, ctx.expect.unknown_token, "credentials_read_exactly", "altered")
        _has_error_id(response, "credentials_read_exactly")
    response = ctx.api.request("GET", PATS, token=None, headers={"Authorization": ""})
    expect_error(response, ctx.expect.missing_token, "credentials_read_exactly", "empty header")
    _has_error_id(response, "credentials_read_exactly")


def _has_error_id(response: httpx.Response, name: str) -> None:
    error_id = body_of(response).get("id")
    message = f"the {response.status_code} carries no error `id` (a UUID), but {error_id!r}"
    expect(isinstance(error_id, str) and UUID.match(error_id), name, message, response)


@check(Layer.PROPERTY)
def routes_as_express(ctx: Context) -> None:
    """Express routes a path in any case, with a trailing slash or doubled slashes; HEAD is a
    GET without a body; every path under /api wants a credential first (401), then an unknown
    path is 404 NotFoundError naming the path as sent; a method no route takes is that 404 too
    (never under --read-only: it sends no method that could write)."""
    expected = _listing(ctx.api.list(ctx.token))
    for path in (PATS.upper(), "/api/Admin/user/Tokens", f"{PATS}/", "/api//admin/user//tokens"):
        response = ctx.api.request("GET", path, token=ctx.token)
        message = f"GET {path} answered {response.status_code}, not the PAT list"
        ok = response.status_code == 200 and _listing(response) == expected
        expect(ok, "routes_as_express", message, response)
    head = ctx.api.request("HEAD", PATS, token=ctx.token)
    get = ctx.api.request("GET", PATS, token=ctx.token, headers={"Accept-Encoding": "identity"})
    same = head.headers.get("content-type") == get.headers.get("content-type")
    message = f"HEAD answered {head.status_code} with {len(head.content)} bytes"
    expect(
        head.status_code == 200 and not head.content and same, "routes_as_express", message, head
    )
    unknown = f"/api/admin/No-Such-{secrets.token_hex(2)}"
    for method in ("GET", "OPTIONS"):
        response = ctx.api.request(method, unknown if method == "GET" else PATS, token=None)
        expect_error(response, ctx.expect.missing_token, "routes_as_express", f"{method} unsent")
    response = ctx.api.request("GET", unknown, token=ctx.token)
    expect_error(response, ctx.expect.not_found, "routes_as_express", "unknown path")
    message = f"the 404 does not name the path as sent ({unknown})"
    expect(
        f"({unknown})" in str(body_of(response).get("message")),
        "routes_as_express",
        message,
        response,
    )
    if not ctx.settings.read_only:
        for method in ("PUT", "PATCH"):
            response = ctx.api.request(method, PATS, token=ctx.token, json={})
            expect_error(response, ctx.expect.not_found, "routes_as_express", f"{method} unrouted")


@check(Layer.PROPERTY)
def answers_as_express(ctx: Context) -> None:
    """JSON answers are `application/json; charset=utf-8` with `Vary: Accept-Encoding` and a
    weak ETag; an answer is compressed only for a client that accepts it; `/api/admin/ui-config`
    wants a credential too."""
    for encoding in ("identity", "gzip"):
        response = ctx.api.request(
            "GET", PATS, token=ctx.token, headers={"Accept-Encoding": encoding}
        )
        kind = response.headers.get("content-type")
        expect(
            kind == "application/json; charset=utf-8", "answers_as_express", f"{kind!r}", response
        )
        vary = response.headers.get("vary", "")
        expect("accept-encoding" in vary.lower(), "answers_as_express", f"Vary {vary!r}", response)
        etag = response.headers.get("etag", "")
        expect(etag.startswith('W/"'), "answers_as_express", f"ETag {etag!r}", response)
        coded = response.headers.get("content-encoding")
        if encoding == "identity":
            message = f"encoded {coded!r} for a client that accepts only identity"
            expect(coded in (None, "identity"), "answers_as_express", message, response)
    response = ctx.api.request("GET", "/api/admin/ui-config", token=None)
    expect_error(response, ctx.expect.missing_token, "answers_as_express", "ui-config unsent")


@check(Layer.PROPERTY)
def rate_limit_values(ctx: Context) -> None:
    """Where the release limits PAT requests: `RateLimit-Policy: N;w=60`, `RateLimit-Limit: N`,
    `RateLimit-Remaining` one less on each request of a client (one bucket per
    X-Forwarded-For address, so another address starts full), `RateLimit-Reset` the seconds
    left in the window (0 to 60); a request refused before the limiter (an unknown PAT) carries
    none. Without a limiter, nothing to check."""
    if not ctx.expect.rate_limit_headers:
        return
    # Documentation addresses (RFC 5737), new per run: their buckets start full.
    one, two = (f"{net}.{secrets.randbelow(254) + 1}" for net in ("198.51.100", "203.0.113"))
    answers = [
        ctx.api.request("GET", PATS, token=ctx.token, headers={"X-Forwarded-For": address})
        for address in (one, one, two)
    ]
    values = []
    for response in answers:
        limit = response.headers.get("ratelimit-limit", "")
        policy = response.headers.get("ratelimit-policy", "")
        message = f"RateLimit-Limit {limit!r} and -Policy {policy!r}"
        expect(
            limit.isdigit() and policy == f"{limit};w=60", "rate_limit_values", message, response
        )
        reset = response.headers.get("ratelimit-reset", "")
        ok = reset.isdigit() and 0 <= int(reset) <= 60
        expect(ok, "rate_limit_values", f"RateLimit-Reset {reset!r}", response)
        remaining = response.headers.get("ratelimit-remaining", "")
        expect(remaining.isdigit(), "rate_limit_values", f"Remaining {remaining!r}", response)
        values.append((int(limit), int(remaining)))
    (limit, first), (_, second), (_, other) = values
    message = f"Remaining {first}, then {second} for the same client, {other} for another"
    ok = first == limit - 1 and second == first - 1 and other == limit - 1
    expect(ok, "rate_limit_values", message, answers[1])
    refused = ctx.api.list("user:" + secrets.token_hex(28))
    sent = [h for h in refused.headers if h.lower().startswith("ratelimit-")]
    expect(not sent, "rate_limit_values", f"a refused token's answer carries {sent}", refused)
