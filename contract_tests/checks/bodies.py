"""Layer 3: bodies that are no JSON. express.json refuses them before anything else with a
400 whose `message` is V8's `JSON.parse` error, naming the position; that text is part of
what a client sees, so a server must write it exactly (the table is in `ctx.expect`)."""

from __future__ import annotations

from contract_tests.api import PATS
from contract_tests.context import Context, body_of, expect
from contract_tests.registry import Layer, Need, check


@check(Layer.PROPERTY, Need.WRITE)
def json_syntax_errors_reported(ctx: Context) -> None:
    """Each malformed body of the version's table answers 400 `{"message": <V8's text>}` and
    creates nothing (still a POST: --read-only sends none)."""
    for body, message in ctx.expect.json_syntax_errors:
        response = ctx.api.request(
            "POST",
            PATS,
            token=ctx.token,
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        ctx.track(ctx.token, response)  # should a server take it, cleanup still finds it
        got = body_of(response) if response.status_code == 400 else None
        expect(
            got == {"message": message},
            "json_syntax_errors_reported",
            f"body {body!r}: expected 400 {{'message': {message!r}}}, got "
            f"{response.status_code} {response.text[:200]!r}",
            response,
        )
