"""Layer 3: bodies as express.json reads them. A body that is no JSON is refused before anything
else with a 400 whose `message` is V8's `JSON.parse` error, naming the position; that text is
part of what a client sees, so a server must write it exactly (the table is in `ctx.expect`).
A body that is JSON is read as `JSON.parse` reads it, at any nesting depth, and a value the
server shows back (an echoed description, the value an error says was sent) is shown as
JavaScript shows it."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import httpx

from contract_tests.api import PATS
from contract_tests.context import FAR, Context, body_of, expect, expect_error
from contract_tests.oracles import V8_SYNTAX_ERRORS
from contract_tests.registry import Layer, Need, check

BIG = "9" * 400  # an integer past a double's range: JSON.parse reads it as Infinity
EXPIRES = f'"expiresAt":"{FAR}"'
# Create bodies (their members) the schema refuses, and how the 400 says the value was sent:
# `JSON.stringify` of what `JSON.parse` read (array-index keys first and ascending, a repeated
# key's last value at its first place, numbers as Number#toString writes them, Infinity as null,
# lone surrogates escaped, other characters as they are), or for an expiry given as a number,
# the string Ajv coerced it to (`String(number)`). Learnt from the running 8.2.0.
SHOWN = (
    (
        '"description":{"b":1,"4294967295":1,"4294967294":2,"10":3,"9":4,"100":5,"01":6,"0":7,'
        '"é":"ñ😀\\ud800","__proto__":{"x":1},"a":{},"\\u0061":"dup"}',
        '{"0":7,"9":4,"10":3,"100":5,"4294967294":2,"b":1,"4294967295":1,"01":6,'
        '"é":"ñ😀\\ud800","__proto__":{"x":1},"a":"dup"}',
    ),
    (
        '"description":[1e21,-0,1.5e-7,0.1,1e20,123456789012345680000,1.5,0.001,0.000001,'
        "1e-7,1.2e-7,5e-324,1.7976931348623157e308,1e400,-1e400,-2.5,100,0,4294967295,1e300,"
        "123e-20]",
        "[1e+21,0,1.5e-7,0.1,100000000000000000000,123456789012345680000,1.5,0.001,0.000001,"
        "1e-7,1.2e-7,5e-324,1.7976931348623157e+308,null,null,-2.5,100,0,4294967295,1e+300,"
        "1.23e-18]",
    ),
    (
        '"description":[true,false,null,[false],[null,1],[],{},[[1]],[[]],[[[2],3]],'
        '{"k":{"j":[]}},[1,[2]],[1,[[2]]],[[1,[2]],[[3]]],"\\u0000\\u001f\\u007f\\u2028é😀"]',
        '[true,false,null,[false],[null,1],[],{},[[1]],[[]],[[[2],3]],{"k":{"j":[]}},[1,[2]],'
        '[1,[[2]]],[[1,[2]],[[3]]],"\\u0000\\u001f\x7f\u2028é😀"]',
    ),
    ('"description":{"a":' + BIG + ',"b":[1,-' + BIG + ",2]}", '{"a":null,"b":[1,null,2]}'),
)
COERCED = (("1e400", '"Infinity"'), ("-1e400", '"-Infinity"'), ("-1.5e-7", '"-1.5e-7"'))
# Create bodies (their members, `{p}` standing for the run's prefix) and the description the 201
# echoes: escapes resolved, a lone surrogate stored as U+FFFD, a repeated key's last value.
ECHOED = (
    (
        ['"description":"{p}e\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t\\u0001\\ud83d\\ude00\\ud800"'],
        'eé\n"\\/\b\f\r\t\x01😀\ufffd',
    ),
    (['"description":"{p}first"', '"description":"{p}second"'], "second"),
    (['"\\u0064escription":"{p}k\\u00e9y"'], "kéy"),
)
NESTING = 2_000  # past a recursive parser's depth (Python's json: about 1,000), within V8's
LIMIT = 100 * 1024  # body-parser's "100kb", in bytes once inflated


def post_raw(ctx: Context, body: str) -> httpx.Response:
    """POST `body` as JSON with the run's token; a 201 is tracked for cleanup."""
    response = ctx.api.request(
        "POST",
        PATS,
        token=ctx.token,
        content=body.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )
    ctx.track(ctx.token, response)
    return response


@check(Layer.PROPERTY, Need.WRITE)
def json_syntax_errors_reported(ctx: Context) -> None:
    """Each malformed body of the version's table answers 400 `{"message": <V8's text>}` and
    creates nothing (still a POST: --read-only sends none)."""
    for body, message in V8_SYNTAX_ERRORS:
        response = post_raw(ctx, body)
        got = body_of(response) if response.status_code == 400 else None
        expect(
            got == {"message": message},
            "json_syntax_errors_reported",
            f"body {body!r}: expected 400 {{'message': {message!r}}}, got "
            f"{response.status_code} {response.text[:200]!r}",
            response,
        )


def _layouts(ctx: Context, members: list[str]) -> Iterator[tuple[str, str]]:
    """The body of `members` as it is, then (where the version answers them) with
    a member nested `NESTING` deep first, second and last: a server whose parser recurses must
    still read every other member as V8 does."""
    yield "flat", "{" + ",".join(members) + "}"
    if ctx.expect.deep_bodies_answered:
        deep = '"nested":' + "[" * NESTING + "]" * NESTING
        for where, at in (("first", 0), ("second", 1), ("last", len(members))):
            yield f"nested {where}", "{" + ",".join([*members[:at], deep, *members[at:]]) + "}"


@check(Layer.PROPERTY, Need.WRITE)
def json_values_read_as_javascript(ctx: Context) -> None:
    """Values in a body, flat or beside a member nested 2,000 levels deep, are read as
    `JSON.parse` reads them and shown as `JSON.stringify` shows them: in the `You sent` of the
    400 for a description of the wrong type, and in the 201's description."""
    name = "json_values_read_as_javascript"
    if ctx.expect.typed_create_member() == "description":
        wrong = [([member, EXPIRES], shown) for member, shown in SHOWN]
    else:  # an untyped description is stored as its text: the value goes where a type is
        named = f'"description":"{ctx.prefix}"'
        wrong = [
            ([named, member.replace('"description":', '"expiresAt":', 1)], shown)
            for member, shown in SHOWN
        ]
    refused = wrong + [
        ([f'"description":"{ctx.prefix}"', f'"expiresAt":{number}'], shown)
        for number, shown in COERCED
    ]
    for members, shown in refused:
        for layout, body in _layouts(ctx, members):
            response = post_raw(ctx, body)
            why = f"{layout} body {','.join(members)[:100]!r}"
            expect_error(response, ctx.expect.bad_data, name, why)
            details = body_of(response).get("details")
            detail = details[0] if isinstance(details, list) and details else None
            message = detail.get("message") if isinstance(detail, dict) else None
            expect(
                isinstance(message, str) and message.endswith(f" You sent {shown}."),
                name,
                f"{why}: the detail should end 'You sent {shown}.', got {message!r}",
                response,
            )
    for members, echoed in ECHOED:
        want = ctx.prefix + echoed
        sent = [*(member.replace("{p}", ctx.prefix) for member in members), EXPIRES]
        for layout, body in _layouts(ctx, sent):
            response = post_raw(ctx, body)
            got = body_of(response).get("description") if response.status_code == 201 else None
            expect(
                got == want,
                name,
                f"{layout} body {sent!r}: expected 201 with description {want!r}, got "
                f"{response.status_code} {got if got is not None else response.text[:200]!r}",
                response,
            )
            ctx.api.delete(ctx.token, response.json()["id"])


def _transport_cases(ctx: Context) -> list[tuple[str, bytes, dict[str, str], int, str]]:
    """(what, body, headers, status, the 4xx's `message` or the 201's description): how
    express.json (body-parser 1.20, in every Unleash version) takes the bytes of a body."""

    def create(text: str) -> bytes:
        document = {"description": ctx.prefix + text, "expiresAt": FAR}
        return json.dumps(document, ensure_ascii=False).encode()

    json_type = {"Content-Type": "application/json"}
    oversized = b'{"description":"' + b"a" * LIMIT + b'"}'
    fill = "a" * (LIMIT - len(create("")))  # the body then has exactly LIMIT bytes
    return [
        (
            "gzip of exactly the limit once inflated",
            gzip.compress(create(fill)),
            {**json_type, "Content-Encoding": "gzip"},
            201,
            ctx.prefix + fill,
        ),
        (
            "a UTF charset no decoder has",
            create("utf-bogus"),
            {"Content-Type": "application/json; charset=utf-bogus"},
            415,
            'unsupported charset "UTF-BOGUS"',
        ),
        (
            "gzip",
            gzip.compress(create("gzip")),
            {**json_type, "Content-Encoding": "gzip"},
            201,
            ctx.prefix + "gzip",
        ),
        (
            "deflate",
            zlib.compress(create("deflate")),
            {**json_type, "Content-Encoding": "Deflate"},
            201,
            ctx.prefix + "deflate",
        ),
        (
            "br",
            create("br"),
            {**json_type, "Content-Encoding": "br"},
            415,
            'unsupported content encoding "br"',
        ),
        (
            "no gzip",
            b"{}",
            {**json_type, "Content-Encoding": "gzip"},
            400,
            "incorrect header check",
        ),
        (
            "gzip over the limit once inflated",
            gzip.compress(oversized),
            {**json_type, "Content-Encoding": "gzip"},
            413,
            "request entity too large",
        ),
        (
            "one byte over the limit",
            oversized[: LIMIT + 1],
            json_type,
            413,
            "request entity too large",
        ),
        (
            "latin1",
            create("latin1"),
            {"Content-Type": "application/json; charset=latin1"},
            415,
            'unsupported charset "LATIN1"',
        ),
        (
            "a form in latin1",
            b"a=1",
            {"Content-Type": "application/x-www-form-urlencoded; charset=latin1"},
            415,
            'unsupported charset "LATIN1"',
        ),
        (
            "quoted charset",
            create("quoted"),
            {"Content-Type": 'Application/JSON; Charset="UTF-8"'},
            201,
            ctx.prefix + "quoted",
        ),
        ("byte-order mark", b"\xef\xbb\xbf" + create("bom"), json_type, 201, ctx.prefix + "bom"),
        (
            "invalid UTF-8",
            create("utf8").replace(b"utf8", b"\xff\xfe"),
            json_type,
            201,
            ctx.prefix + "\ufffd\ufffd",
        ),
    ]


@check(Layer.PROPERTY, Need.WRITE)
def bodies_decoded_as_express(ctx: Context) -> None:
    """Bodies gzip- or deflate-encoded are inflated, other encodings refused (415); the 100 kB
    limit holds once inflated (413); a charset other than UTF is refused (415), also on a form;
    a byte-order mark is dropped and invalid UTF-8 read as U+FFFD."""
    name = "bodies_decoded_as_express"
    for what, body, headers, status, said in _transport_cases(ctx):
        response = ctx.api.request("POST", PATS, token=ctx.token, content=body, headers=headers)
        ctx.track(ctx.token, response)
        got = body_of(response) if response.status_code in (201, status) else None
        shown = got.get("description") if status == 201 and isinstance(got, dict) else got
        want = said if status == 201 else {"message": said}
        expect(
            response.status_code == status and shown == want,
            name,
            f"{what}: expected {status} {want!r}, got {response.status_code} "
            f"{response.text[:200]!r}",
            response,
        )
        if status == 201:
            ctx.api.delete(ctx.token, response.json()["id"])
