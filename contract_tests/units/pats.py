"""PATs: the kind of object most checks create. A run's PATs carry its description prefix and
are recorded the moment their 201 arrives; cleanup deletes exactly those (by id, and by prefix
for any whose 201 was lost), and never a PAT a user held before the run."""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

from contract_tests.api import RunAborted
from contract_tests.context import FAR, PAT
from contract_tests.oracles import is_date_time, js_number, stored_ms
from contract_tests.units.base import Guard, SuiteUnit

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.context import Context

KIND = PAT
EARLIEST_EXPIRY_MS = 5 * 60 * 1000  # a valid expiry closer than this may be past on arrival


def _ours(ctx: Context, listing: Any) -> set[int]:
    """The listed PATs this run created: by id, or by prefix should a 201 have been lost."""
    return {
        int(p["id"])
        for p in listing.json()["pats"]
        if int(p["id"]) in ctx.ledger.ids(KIND)
        or str(p.get("description", "")).startswith(ctx.prefix)
    }


def cleanup(ctx: Context, api: Api, deleted: list[str]) -> list[str]:
    left: list[str] = []
    for caller in ctx.callers:
        try:
            for pat_id in sorted(_ours(ctx, api.list(caller.token)) - caller.foreign_ids):
                api.delete(caller.token, pat_id)
                deleted.append(f"{caller.label}: PAT {pat_id}")
            left += [
                f"{caller.label}: PAT {i}"
                for i in sorted(_ours(ctx, api.list(caller.token)) - caller.foreign_ids)
            ]
        except (RunAborted, ValueError, KeyError, TypeError) as exc:
            left.append(f"{caller.label}: cleanup failed: {exc}")
    return left


def guards(ctx: Context) -> dict[str, Guard]:
    """How schemathesis' PAT requests stay inside the run: a create carries the prefix and a
    storable expiry, and deletes the run's older PATs first so that creates keep testing the
    rules rather than always meeting the limit; a DELETE never targets a PAT held before."""
    protected = frozenset().union(*(c.foreign_ids for c in ctx.callers))
    room = ctx.expect.pat_limit - len(ctx.callers[0].foreign_ids) - 1  # one slot kept free
    live: list[int] = []

    def prepare_create(ctx: Context, case: Any) -> None:
        if not isinstance(case.body, dict):
            return
        if len(live) >= room:
            for pat_id in live:
                ctx.api.delete(ctx.token, pat_id)
            live.clear()
        description = case.body.get("description")
        if isinstance(description, str):
            case.body["description"] = ctx.prefix + description
        elif ctx.app is None and isinstance(description, bool | int | float):
            # On a deployment every PAT the run may create carries the prefix, so that cleanup
            # finds it even when an interrupt loses its 201; coercion of such descriptions is
            # still exercised against the in-process mock.
            case.body["description"] = ctx.prefix + json.dumps(description)
        expires = case.body.get("expiresAt")
        # A past expiry is a service 400 by design (checked elsewhere), one that PostgreSQL
        # cannot store a known 500; keep schema-valid bodies valid and storable so that
        # positive_data_acceptance keeps its meaning.
        if isinstance(expires, str) and is_date_time(expires, ctx.expect.ajv):
            stored = stored_ms(expires, ctx.expect.ajv)
            if stored is None or stored < time.time() * 1000 + EARLIEST_EXPIRY_MS:
                case.body["expiresAt"] = FAR

    def record_create(ctx: Context, case: Any, response: Any) -> None:
        before = ctx.ledger.ids(KIND)
        ctx.track(ctx.token, response)
        live.extend(sorted(ctx.ledger.ids(KIND) - before))

    def prepare_delete(ctx: Context, case: Any) -> None:
        params = case.path_parameters or {}
        raw = params.get("id")
        # Unleash coerces the id like JavaScript's Number(): "0x2", " 2", "2.0" all mean 2.
        number = js_number(raw) if isinstance(raw, str) else raw
        if (
            isinstance(number, int | float)
            and not isinstance(number, bool)
            and math.isfinite(number)
            and int(number) == number
            and int(number) in protected
        ):
            params["id"] = ctx.expect.max_id

    return {
        "getPats": Guard(),
        "createPat": Guard(prepare_create, record_create),
        "deletePat": Guard(prepare_delete),
    }


UNIT = SuiteUnit(KIND, cleanup, guards)
