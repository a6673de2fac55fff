"""Layer 2: a model-based test of the PAT lifecycle (hypothesis `RuleBasedStateMachine`).

The model holds, per user, the PATs the run created and the secrets of deleted ones. Every rule
sends one request and compares the answer with what the model predicts: create (new, duplicate,
reused and other user's descriptions; far, short and past expiries; the 10-PAT limit), list,
delete (own, other user's, gone, unknown), authenticate with each kind of token, let one expire.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    rule,
    run_state_machine_as_test,
)

from contract_tests.api import Api, RunAborted
from contract_tests.context import (
    FAR,
    PAST,
    PAT,
    SHORT_EXPIRY,
    TIMESTAMP,
    Caller,
    Context,
    Violation,
    body_of,
    expect,
    expect_delete,
    expect_error,
    listed_pats,
)
from contract_tests.oracles import timestamp
from contract_tests.registry import Layer, Need, check
from contract_tests.report import Finding


@dataclass
class ModelPat:
    id: int
    owner: int  # index into ctx.callers
    description: str
    expires_at: str
    secret: str

    def expired(self, now: datetime, margin: timedelta) -> bool | None:
        """True or False when clearly so; None within `margin` of the expiry (clock skew)."""
        moment = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        if now > moment + margin:
            return True
        return False if now < moment - margin else None


def pick(data: st.DataObject, pool: list[Any], label: str) -> Any:
    """An item of `pool`, or None if it is empty, by a draw whose shape never depends on it.

    The pools follow the server's answers (a create the server refused adds nothing), so a
    `sampled_from(pool)` would make hypothesis see a different draw at the same point of two
    runs and stop with FlakyStrategyDefinition."""
    index = data.draw(st.integers(0, 255), label=label)
    return pool[index % len(pool)] if pool else None


def recorded(rule_function: Callable[..., None]) -> Callable[..., None]:
    """Log each step, and keep the first Violation: the model depends on time and the server,
    so hypothesis' replay of a failing example may diverge and report a Flaky error instead."""

    @functools.wraps(rule_function)
    def step(self: Lifecycle, **kwargs: Any) -> None:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if k != "data")
        self.steps.append(f"{rule_function.__name__}({shown})")
        try:
            rule_function(self, **kwargs)
        except Violation as exc:
            exc.add_note("steps: " + "; ".join(self.steps))
            self.violations.append(exc)
            raise

    return step


class Lifecycle(RuleBasedStateMachine):
    ctx: ClassVar[Context]
    waits_left: ClassVar[int]  # expiry waits cost real seconds; bounded per run
    violations: ClassVar[list[Violation]]
    deleted_ids: ClassVar[set[int]]  # across examples: a teardown's deletes must hold too

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []
        self.waited = False
        self.live: dict[int, ModelPat] = {}
        self.gone: list[ModelPat] = []
        self.used: list[set[str]] = [set() for _ in self.callers]  # descriptions ever used
        self.delete_attempts_by_others: set[int] = set()
        self.max_id = max(
            [0, *self.ctx.ledger.ids(PAT), *(i for c in self.callers for i in c.foreign_ids)]
        )
        self.margin = self.ctx.clock_margin

    @property
    def callers(self) -> list[Caller]:
        return self.ctx.callers

    @property
    def api(self) -> Api:
        return self.ctx.api

    def owned(self, who: int) -> list[ModelPat]:
        return [p for p in self.live.values() if p.owner == who]

    # -- rules --------------------------------------------------------------------------------
    @rule(
        data=st.data(),
        naming=st.sampled_from(["new", "duplicate", "reused", "other user's"]),
        expiry=st.sampled_from(["far", "far", "short", "past"]),
    )
    @recorded
    def create(self, data: st.DataObject, naming: str, expiry: str) -> None:
        who = data.draw(st.integers(0, len(self.callers) - 1), label="user")
        description = self.ctx.description()
        mine = {p.description for p in self.owned(who)}
        candidates = {
            "duplicate": sorted(mine),
            "reused": sorted(self.used[who] - mine),
            "other user's": sorted(
                d for i, u in enumerate(self.used) if i != who for d in u - mine
            ),
        }.get(naming)
        reused = pick(data, candidates or [], "description")
        description = description if reused is None else reused
        expires = {
            "far": FAR,
            "past": PAST,
            "short": timestamp(datetime.now(UTC) + SHORT_EXPIRY),
        }[expiry]
        caller = self.callers[who]
        # Counted on the server: on a shared deployment others may hold or free slots too.
        count = len(listed_pats(self.api, caller.token, "list_matches_model")[1])
        response = self.api.create(caller.token, {"description": description, "expiresAt": expires})
        self.ctx.track(caller.token, response)
        errors = self.ctx.expect
        if expiry == "past":
            expect_error(response, errors.bad_data, "past_expiry_rejected", "past expiresAt")
        elif count >= errors.pat_limit:
            expect_error(response, errors.too_many_pats, "pat_limit_enforced", "PAT over limit")
        elif description in mine:
            expect_error(
                response, errors.duplicate_description, "duplicate_description_rejected", "dup"
            )
        else:
            self._created(who, description, expires, response)

    def _created(self, who: int, description: str, expires: str, response: httpx.Response) -> None:
        check = "valid_create_accepted"
        expect(response.status_code == 201, check, f"got {response.status_code}", response)
        pat = body_of(response)
        expect(isinstance(pat, dict), check, "the 201 body is not an object", response)
        secret, pat_id = pat.get("secret"), pat.get("id")
        expect(
            self.ctx.expect.is_secret(secret),
            "secret_format",
            "the 201 has no secret of a format of the version",
            response,
        )
        self.ctx.redact.add(secret)
        expect(
            isinstance(pat_id, int) and pat_id > self.max_id,
            "ids_increase",
            f"id {pat_id!r} is not above every earlier id ({self.max_id})",
            response,
        )
        expected = {
            "description": description,
            "expiresAt": expires,
            "userId": self.callers[who].user_id,
            "seenAt": None,
        }
        wrong = {k: pat.get(k) for k, v in expected.items() if pat.get(k) != v}
        expect(
            not wrong, "created_pat_fields", f"fields differ from the request: {wrong}", response
        )
        expect(
            isinstance(pat.get("createdAt"), str) and TIMESTAMP.match(pat["createdAt"]),
            "created_pat_fields",
            f"createdAt {pat.get('createdAt')!r}",
            response,
        )
        self.max_id = pat_id
        self.live[pat_id] = ModelPat(pat_id, who, description, expires, secret)
        self.used[who].add(description)

    @rule(data=st.data())
    @recorded
    def list_own(self, data: st.DataObject) -> None:
        who = data.draw(st.integers(0, len(self.callers) - 1), label="user")
        self._compare_list(who, self.callers[who].token)

    def _compare_list(self, who: int, token: str) -> None:
        response, pats = listed_pats(self.api, token, "list_matches_model")
        user_id = self.callers[who].user_id
        strangers = [p.get("id") for p in pats if p.get("userId") != user_id]
        expect(not strangers, "other_users_pats_hidden", f"lists {strangers}", response)
        listed = {p.get("id"): p for p in pats}
        mine = {p.id: p for p in self.owned(who)}
        others = {p.id for p in self.live.values() if p.owner != who}
        # PATs the run did not create are left alone: others may use the same account.
        extra = {i for i in set(listed) - set(mine) if i in self.ctx.ledger.ids(PAT)}
        missing = set(mine) - set(listed)
        expect(not extra & others, "other_users_pats_hidden", f"lists {extra}", response)
        gone = {p.id for p in self.gone} | self.deleted_ids
        expect(not extra & gone, "delete_removes", f"lists deleted {extra & gone}", response)
        expect(
            not missing & self.delete_attempts_by_others,
            "cross_user_delete_ignored",
            f"PAT {missing} vanished after another user's DELETE",
            response,
        )
        expect(not missing, "create_listed", f"created PATs {missing} are not listed", response)
        expect(not extra, "list_matches_model", f"unexpected PATs {extra}", response)
        for pat_id, model in mine.items():
            item = listed[pat_id]
            got = (item.get("description"), item.get("expiresAt"), item.get("userId"))
            want = (model.description, model.expires_at, user_id)
            expect(got == want, "list_matches_model", f"PAT {pat_id}: {got} != {want}", response)

    @rule(data=st.data(), victim=st.sampled_from(["own", "other user's", "gone", "unknown"]))
    @recorded
    def delete(self, data: st.DataObject, victim: str) -> None:
        who = data.draw(st.integers(0, len(self.callers) - 1), label="user")
        pool = {
            "own": self.owned(who),
            "other user's": [p for p in self.live.values() if p.owner != who],
            "gone": self.gone,
        }.get(victim)
        pat = pick(data, pool or [], "pat")
        response = self.api.delete(
            self.callers[who].token, pat.id if pat else self.ctx.expect.max_id
        )
        known = pat is not None and pat.id in self.live
        expect_delete(self.ctx, response, known, f"DELETE of {'an' if known else 'no'} PAT's id")
        if pat is not None and pat.owner == who and pat.id in self.live:
            self.gone.append(self.live.pop(pat.id))
            self.deleted_ids.add(pat.id)
        elif pat is not None and pat.owner != who:
            self.delete_attempts_by_others.add(pat.id)

    @rule(
        data=st.data(),
        kind=st.sampled_from(["live", "live", "gone", "unknown", "mutated", "none", "bearer"]),
    )
    @recorded
    def authenticate(self, data: st.DataObject, kind: str) -> None:
        pool = {"live": list(self.live.values()), "mutated": list(self.live.values())}
        pool["bearer"] = pool["live"]
        pool["gone"] = self.gone
        chosen = pool.get(kind)
        pat = pick(data, chosen or [], "pat")
        unknown = self.ctx.expect.unknown_token
        if kind == "none":
            response = self.api.list(None)
            expect_error(response, self.ctx.expect.missing_token, "missing_token_rejected", kind)
        elif kind == "unknown" or pat is None:
            response = self.api.list("user:" + secrets.token_hex(28))
            expect_error(response, unknown, "unknown_token_rejected", kind)
        elif kind == "mutated":
            flipped = pat.secret[:-1] + ("0" if pat.secret[-1] != "0" else "1")
            response = self.api.list(flipped)
            expect_error(response, unknown, "unknown_token_rejected", kind)
        elif kind == "gone":
            response = self.api.list(pat.secret)
            expect_error(response, unknown, "deleted_token_rejected", kind)
        else:
            expired = pat.expired(datetime.now(UTC), self.margin)
            token = pat.secret if kind == "live" else f"Bearer {pat.secret}"
            if kind == "bearer" and not self.ctx.expect.bearer:
                # The release reads no `Bearer` scheme: the header is no token it knows.
                response = self.api.list(token)
                expect_error(response, unknown, "unknown_token_rejected", "Bearer, unread")
            elif expired:
                response = self.api.list(token)
                expect_error(response, unknown, "expired_token_rejected", kind)
            elif expired is False:
                self._compare_list(pat.owner, token)

    # No precondition: which rules may run would then follow the server's answers, and
    # hypothesis needs the same draws at the same point of every run (see `pick`).
    @rule()
    @recorded
    def wait_for_expiry(self) -> None:
        if self.waited or all(p.expires_at == FAR for p in self.live.values()):
            return
        self.waited = True
        if type(self).waits_left <= 0:
            return  # the run's budget of waits (real seconds) is spent
        type(self).waits_left -= 1
        latest = max(p.expires_at for p in self.live.values() if p.expires_at != FAR)
        moment = datetime.fromisoformat(latest.replace("Z", "+00:00"))
        self.ctx.budget.wait((moment + self.margin - datetime.now(UTC)).total_seconds() + 0.05)

    def teardown(self) -> None:
        # Each example starts from the users' own PATs only: the limit stays reachable.
        for pat in list(self.live.values()):
            self.api.delete(self.callers[pat.owner].token, pat.id)
            self.deleted_ids.add(pat.id)


@check(Layer.LIFECYCLE, Need.WRITE)
def lifecycle_model(ctx: Context) -> list[Finding]:
    ctx.reset()  # start from the users' own PATs, whatever layer 1 left
    profile = ctx.profile
    machine = type(
        "Lifecycle",
        (Lifecycle,),
        {
            "ctx": ctx,
            "waits_left": 5 if profile.shrink else 1,
            "violations": [],
            "deleted_ids": set(),
        },
    )
    if ctx.settings.seed is not None:
        machine = hypothesis_seed(ctx.settings.seed)(machine)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if profile.shrink else [])
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=profile.machine_examples,
                stateful_step_count=profile.machine_steps,
                deadline=None,
                database=None,
                derandomize=ctx.settings.seed is None,
                phases=phases,
                report_multiple_bugs=False,
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                print_blob=False,
            ),
        )
    except RunAborted:
        raise
    except Exception as exc:  # a Violation, or what hypothesis made of it on replay
        # The raised Violation is the (shrunk) example hypothesis reports; should its replay
        # have diverged, the first Violation recorded is the best evidence there is.
        chosen = exc if isinstance(exc, Violation) else next(iter(machine.violations), None)
        if chosen is None:
            message = f"{type(exc).__name__}: {exc}"
            return [Finding.of("lifecycle_model", message, None, ctx.redact)]
        steps = "\n".join(getattr(chosen, "__notes__", []))
        message = f"{chosen.message}\n{steps}".strip()
        return [Finding.of(chosen.check, message, chosen.response, ctx.redact)]
    return []
