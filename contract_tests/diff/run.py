"""One diff run: preflight, the run's users on the real server, a private mock mirroring them,
the generated traffic sent to both and compared, differences grouped, shrunk and judged against
the known ones, and the cleanup, whatever ended the run."""

from __future__ import annotations

import json
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from contract_tests.api import Budget, Redactor, RunAborted, RunInterrupted
from contract_tests.diff import known as known_file
from contract_tests.diff.accounts import Accounts, SetupFailed, body_json
from contract_tests.diff.draw import Draws
from contract_tests.diff.findings import (
    Ambient,
    Found,
    Group,
    Instance,
    Signature,
    regroup,
)
from contract_tests.diff.known import Known
from contract_tests.diff.observe import Difference, compare, observe
from contract_tests.diff.sides import Side, session_value
from contract_tests.diff.traffic import (
    DELETABLE,
    UI_CONFIG,
    USER_ADMIN,
    Allowance,
    Item,
    Step,
    admin_auth,
    items,
    limiter_item,
    ph,
    request,
)
from contract_tests.diff.wire import Answer
from contract_tests.expectations import UnknownRelease, choice

SHRINK_REPLAYS = 8  # per group
SHRINK_SHARE = 0.85  # no shrinking once this share of the budget is spent
LIMITER_AFTER = 25  # the login limiter is probed as the 25th item (budgets of 300 and more)
DEFERRED_MAX = 100  # items waiting for the login limit's next window
PROGRESS_EVERY = 50


class CannotRun(Exception):
    """Bad arguments, an unreachable server, a refused admin token: exit code 2."""


@dataclass
class _Effects:
    """What an item did on each side that the tidying undoes: ("pat", id, owner id) and
    ("user", id, 0) it created, and whether it deleted the deletable user."""

    created: dict[str, list[tuple[str, int, int]]] = field(
        default_factory=lambda: {"real": [], "mock": []}
    )
    deleted: bool = False


@dataclass(frozen=True)
class DiffSettings:
    real: str
    admin_token: str
    unleash_version: str = "auto"
    budget: int = 500
    seed: int | None = None
    known: str | Path | None = None  # default: the bundled known_differences.yaml
    max_seconds: float = 1800.0
    tolerance: float = 5.0  # seconds between timestamps that compare equal
    timeout: float = 15.0  # per request
    # Tests only: the real side is itself an unleash-pat mock, whose users are loaded through
    # its control plane.
    real_is_mock: bool = False
    # Tests only: ASGI middleware around the private mock.
    wrap_mock: Callable[[Any], Any] | None = None
    progress: Callable[[str], None] | None = None  # told every PROGRESS_EVERY items


@dataclass
class DiffOutcome:
    version: str = ""
    seed: int = 0
    groups: list[Group] = field(default_factory=list)
    unseen: list[Known] = field(default_factory=list)  # declared for the version, not seen
    items: int = 0
    exchanges: int = 0
    differing: int = 0
    traffic: int = 0  # requests to the real server for the traffic, replays and tidying
    housekeeping: int = 0  # the rest: setup and cleanup
    seconds: float = 0.0
    interrupted_by: signal.Signals | None = None
    stopped: str = ""  # why the traffic ended (budget, time)
    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    redact: Redactor = field(default_factory=Redactor)

    @property
    def undeclared(self) -> list[Group]:
        return [g for g in self.groups if g.known is None]


def _preflight(real: Side, settings: DiffSettings) -> str:
    """The version the mock answers as; CannotRun when the server or the token is unusable."""
    real.bind("ADMIN_TOKEN", settings.admin_token)
    answer = real.send(request("GET", UI_CONFIG, admin_auth()))
    if not answer.status:
        raise CannotRun(f"cannot reach {settings.real}: {answer.error}")
    if answer.status in (401, 403):
        raise CannotRun(f"--admin-token is not accepted by {settings.real} ({answer.status})")
    version = settings.unleash_version
    if version == "auto":
        config = body_json(answer)
        if answer.status != 200 or not isinstance(config, dict) or "version" not in config:
            raise CannotRun(
                f"{settings.real}/api/admin/ui-config names no version ({answer.status_line()}); "
                "give --unleash-version"
            )
        version = str(config["version"])
    try:
        expectations, notice = choice(version)
    except UnknownRelease as exc:
        raise CannotRun(f"the target is Unleash {version}: {exc}") from None
    if notice:
        print(f"unleash-pat diff: {notice}", file=sys.stderr)
    if not settings.real_is_mock:
        users = real.send(request("GET", USER_ADMIN, admin_auth()))
        if users.status != 200:
            raise CannotRun(
                f"--admin-token cannot manage users on {settings.real} "
                f"(GET {USER_ADMIN}: {users.status_line()})"
            )
    return expectations.version


@contextmanager
def _signals(budget: Budget) -> Iterator[None]:
    """Ctrl-C and SIGTERM only mark the run interrupted (in the main thread): it stops at its
    next request or wait, and cannot cut the cleanup short."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda n, f: budget.interrupt(n))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_diff(settings: DiffSettings) -> DiffOutcome:
    """The whole run. Raises CannotRun before the traffic (after removing whatever the run
    had made by then)."""
    from contract_tests.target import served_mock

    started = time.monotonic()
    if settings.budget < 1:
        raise CannotRun("--budget must be at least 1")
    try:
        declared = known_file.load(settings.known or known_file.PATH)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CannotRun(f"cannot read the known differences: {exc}") from None
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    outcome = DiffOutcome(seed=seed)
    real = Side("real", settings.real, timeout=settings.timeout)
    outcome.version = _preflight(real, settings)
    declared = [k for k in declared if k.holds_for(outcome.version)]
    budget = Budget(settings.budget, settings.max_seconds)
    prefix = f"unleash-pat-diff-{secrets.token_hex(4)}-"
    # Housekeeping waits (a 429, a free login slot) are not cut short by Ctrl-C: what the run
    # makes it must be able to remove.
    accounts = Accounts(
        real,
        settings.admin_token,
        prefix=prefix,
        real_is_mock=settings.real_is_mock,
        wait=_sleep_within(61.0),
    )
    outcome.redact.add(settings.admin_token)
    setup_done = 0
    failure: CannotRun | None = None
    with _signals(budget):
        try:
            try:
                accounts.setup()
            except SetupFailed as exc:
                raise CannotRun(str(exc)) from None
            for account in accounts.accounts.values():
                outcome.redact.add(account.secret)
                outcome.redact.hide(account.password)
                outcome.redact.hide(account.password2)
            secure = any(a.secret.startswith("user:v2_") for a in accounts.accounts.values())
            with served_mock(
                outcome.version, secure_account_tokens=secure, wrap=settings.wrap_mock
            ) as url:
                mock = Side("mock", url, timeout=settings.timeout)
                try:
                    accounts.mirror(mock)
                except SetupFailed as exc:
                    raise CannotRun(str(exc)) from None
                setup_done = real.sent
                runner = Runner(real, mock, accounts, budget, seed, settings, outcome, declared)
                with suppress(RunInterrupted):
                    runner.run()
        except CannotRun as exc:
            failure = exc
        finally:
            outcome.traffic = real.sent - setup_done if setup_done else 0
            outcome.interrupted_by = budget.interrupted_by
            outcome.deleted, outcome.left = accounts.cleanup()
    if failure is not None:
        left = f"; cleanup incomplete: {'; '.join(outcome.left)}" if outcome.left else ""
        raise CannotRun(f"{failure}{left}")
    outcome.housekeeping = real.sent - outcome.traffic
    groups = outcome.groups
    outcome.unseen = [k for k in declared if not any(g.known is k for g in groups)]
    outcome.groups = sorted(groups, key=lambda g: (g.known is not None, -g.count, g.title()))
    outcome.seconds = time.monotonic() - started
    return outcome


def _sleep_within(limit: float) -> Callable[[float], None]:
    return lambda seconds: time.sleep(min(max(seconds, 0.0), limit))


class Runner:
    """The traffic: items generated, paced, sent to both sides, judged, shrunk."""

    def __init__(
        self,
        real: Side,
        mock: Side,
        accounts: Accounts,
        budget: Budget,
        seed: int,
        settings: DiffSettings,
        outcome: DiffOutcome,
        declared: list[Known],
    ) -> None:
        self.real = real
        self.mock = mock
        self.accounts = accounts
        self.budget = budget
        self.settings = settings
        self.outcome = outcome
        self.declared = declared
        self.draws = Draws(seed)
        self.allowance = Allowance(
            deletions=max(1, settings.budget // 1000), creations=max(2, settings.budget // 300)
        )
        self.ambient = Ambient()
        self.found: list[Found] = []  # every differing item
        self.examples: dict[Signature, Instance] = {}  # the first of each signature, shrunk
        self.replays: list[Found] = []  # shrunk or confirmed examples
        # How each route's unvaried request (by operation and drawn value) differed, if it did.
        self.usual: dict[str, Instance | None] = {}
        self.raced: set[str] = set()  # of the item being sent (`_raced`)
        # The last RateLimit-Remaining each side answered, per window (`_taken`).
        self.remaining: dict[str, dict[tuple[str, str], int]] = {"real": {}, "mock": {}}
        self.limiter_waits = False  # a probe is deferred: no other logins meanwhile

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        deferred: list[Item] = []
        generated = 0
        try:
            while True:
                # A ready probe first: the budget may be kept for it alone.
                ready = sorted(deferred, key=lambda i: i.family != "limiter")
                item = next((i for i in ready if self._ready(i)), None)
                if item is not None:
                    deferred.remove(item)
                elif len(deferred) < DEFERRED_MAX:
                    generated += 1
                    item = self._generate(generated)
                    if not self._ready(item):
                        deferred.append(item)
                        continue
                else:
                    self.budget.wait(min(self._seconds_until_ready(i) for i in deferred))
                    continue
                probe = next((i for i in deferred if i.family == "limiter"), None)
                if (
                    probe is not None
                    and item is not probe
                    and (
                        self.budget.sent + len(item.steps) + len(probe.steps)
                        > self.budget.max_requests
                    )
                ):
                    # The rest of the budget is the probe's: wait for it (a minute at most).
                    deferred.append(item)
                    self.budget.wait(self._seconds_until_ready(probe))
                    continue
                if self.budget.sent + len(item.steps) > self.budget.max_requests:
                    self.outcome.stopped = f"request budget of {self.budget.max_requests} spent"
                    return
                self._judge(item)
        except RunAborted as exc:
            self.outcome.stopped = str(exc)
        finally:
            self.outcome.groups = regroup(self.found, self.replays, self.ambient, self.declared)

    def _generate(self, number: int) -> Item:
        if (
            number == LIMITER_AFTER
            and self.allowance.limiter_probes > 0
            and self.settings.budget >= 300
        ):
            self.allowance.limiter_probes -= 1
            return limiter_item()
        return self.draws(items(self.allowance))

    def _ready(self, item: Item) -> bool:
        if item.family == "limiter":
            # Not the pacer's free slots: the probe spends the limit anyway, and from the
            # same count on both sides.
            self.limiter_waits = not self._windows_agree()
            return not self.limiter_waits
        if item.logins and (self.limiter_waits or item.logins > self.accounts.pacer.free()):
            return False
        now = time.monotonic()
        posts = self.accounts.user_admin_posts
        posts[:] = [t for t in posts if now - t < 61.0]
        # Of the limit's 20 a minute, 5 stay for the tidying after items (restored passwords).
        return len(posts) + item.user_admin_posts <= 15

    def _seconds_until_ready(self, item: Item) -> float:
        if item.family == "limiter":
            return max(self._windows_end() + 1.0 - time.monotonic(), 0.5)
        wait = self.accounts.pacer.seconds_until_free(max(item.logins, 1))
        posts = self.accounts.user_admin_posts
        if item.user_admin_posts and posts:
            wait = max(wait, posts[0] + 61.0 - time.monotonic())
        return max(wait, 0.5)

    # -- one item ----------------------------------------------------------------------------------
    def _judge(self, item: Item) -> None:
        instance = self.execute(item)
        self.outcome.items += 1
        if self.settings.progress and self.outcome.items % PROGRESS_EVERY == 0:
            self.settings.progress(
                f"{self.outcome.items} items, {self.budget.sent} of {self.budget.max_requests} "
                f"requests, {self.outcome.differing} items differed"
            )
        if instance is None:
            return
        self.outcome.differing += 1
        key = instance.operation if item.family == "sequence" else item.variation
        found = self._routed(key, instance)
        self.ambient.note(instance)
        self.found.append(found)
        signature = self.ambient.signature(item.family, key, instance)
        if signature not in self.examples:
            self.examples[signature] = instance
            self._shrink(found, signature)

    def _routed(self, key: str, instance: Instance) -> Found:
        """A sequence step's differences are its operation's; an http item's are its route's
        as far as the route's unvaried request (replayed once per route and drawn value)
        differs alike, with the same statuses, and the variation's beyond that."""
        item = instance.item
        everything = tuple(instance.differences)
        if item.family == "sequence":
            return Found(key, instance, key, everything)
        usual = item.usual
        if item.family != "http" or usual is None:
            return Found(key, instance)
        if usual.request == item.steps[0].request:
            return Found(key, instance, usual.operation, everything)
        if usual.operation not in self.usual:
            try:
                again = self._replay(Item("http", usual.operation, (usual,)))
            except _NoRoom:
                return Found(key, instance)  # undecided, and not remembered
            self.usual[usual.operation] = again
        plain = self.usual[usual.operation]
        if plain is None or plain.statuses() != instance.statuses():
            return Found(key, instance)  # the route agrees, or the variation changed the answer
        return Found(key, instance, usual.operation, tuple(plain.differences))

    def _replay(self, item: Item) -> Instance | None:
        """Run `item` again, for shrinking or confirming; None if it differs nowhere now."""
        if self.budget.sent + len(item.steps) > self.budget.max_requests * SHRINK_SHARE:
            raise _NoRoom()
        return self.execute(item)

    def _shrink(self, found: Found, signature: Signature) -> None:
        """Make the reproduction of a new group smaller: a sequence's steps after the
        difference go at once; then the steps before it, all together, then one by one from
        the last, while the same difference shows. A reproduction that nothing made smaller is
        replayed once, to confirm it."""
        key, example = found.key, self.examples[signature]
        if example.item.family in ("burst", "limiter"):
            return  # races and the login window do not replay alike
        steps = example.item.steps[: example.index + 1]
        current = replace(example, item=replace(example.item, steps=steps))
        replays = 0

        def attempt(removed: set[int]) -> Instance:
            nonlocal replays
            smaller = current.item.without(removed)
            if not smaller.steps or smaller.steps[-1] is not current.item.steps[-1]:
                return current  # the differing step needs a removed one
            replays += 1
            again = self._replay(smaller)
            if again is None or self.ambient.signature(again.item.family, key, again) != signature:
                return current
            steps = again.item.steps[: again.index + 1]
            return replace(
                again, item=replace(again.item, steps=steps), shrunk=True, reproduced=True
            )

        try:
            if current.size > 1:
                current = attempt(set(range(current.size - 1)))
            index = current.size - 2
            while index >= 0 and replays < SHRINK_REPLAYS:
                current = attempt({index})
                index = min(index - 1, current.size - 2)
            if current.reproduced is None:
                again = self._replay(current.item)
                signature_again = again and self.ambient.signature(again.item.family, key, again)
                current = replace(current, reproduced=signature_again == signature)
        except _NoRoom:
            pass
        self.examples[signature] = current
        self.replays.append(replace(found, instance=current))

    # -- sending ---------------------------------------------------------------------------------
    def execute(self, item: Item) -> Instance | None:
        """Send `item`'s steps to both sides, learn from the answers, tidy up; the first step
        whose answers differ, if any."""
        self.raced = _raced(item)
        effects = _Effects()
        found: Instance | None = None
        try:
            index = 0
            while index < len(item.steps):
                step = item.steps[index]
                if step.burst:
                    end = index
                    while end < len(item.steps) and item.steps[end].burst == step.burst:
                        end += 1
                    result = self._burst(item, index, end, effects)
                    index = end
                else:
                    result = self._step(item, index, effects)
                    index += 1
                if result is not None and found is None:
                    found = result
        finally:
            tidy_from = self.real.sent
            problems = self.accounts.tidy(effects.created, item, effects.deleted)
            for secret in (
                self.real.values.get(f"PAT_{DELETABLE}"),
                self.mock.values.get(f"PAT_{DELETABLE}"),
            ):
                self.outcome.redact.add(secret)
            self.outcome.left += problems
            self.real.forget_item()
            self.mock.forget_item()
            self.budget.sent += self.real.sent - tidy_from  # within the budget, unrefused
        return found

    def _spend(self, count: int) -> None:
        for _ in range(count):
            self.budget.spend()

    def _step(self, item: Item, index: int, effects: _Effects) -> Instance | None:
        step = item.steps[index]
        self._spend(1)
        if step.user_admin_post:
            self.accounts.user_admin_posts.append(time.monotonic())
        answers = {}
        for side in (self.real, self.mock):
            answers[side.name] = side.send(step.request)
            if step.login and side is self.real:
                self.accounts.pacer.note()
            if step.login:
                self.accounts.note_login_window(side, answers[side.name])
            self._learn(side, step, answers[side.name], effects)
        self._wait_out(item, step, answers["real"])
        differences = self._compare(step, answers["real"], answers["mock"])
        if not differences:
            return None
        return Instance(item, index, answers["real"], answers["mock"], differences)

    def _windows_end(self) -> float:
        return max((ends for ends, _ in self.accounts.login_windows.values()), default=0.0)

    def _windows_agree(self) -> bool:
        """Whether the login limiter probe may start: both sides' login windows are in step
        (they end within 2 s of each other with as many logins left), or both have ended.
        Otherwise a window ending on one side mid-probe, or logins the other side's clients
        spent (a real server's other users), would show as differences of the limit."""
        windows = self.accounts.login_windows
        if time.monotonic() >= self._windows_end() + 1.0:
            return True
        real, mock = windows.get("real"), windows.get("mock")
        return (
            real is not None
            and mock is not None
            and abs(real[0] - mock[0]) <= 2.0
            and real[1] == mock[1]
        )

    def _burst(self, item: Item, start: int, end: int, effects: _Effects) -> Instance | None:
        steps = item.steps[start:end]
        self._spend(len(steps))
        answers = {}
        for side in (self.real, self.mock):
            answers[side.name] = side.burst([s.request for s in steps])
            for step, answer in zip(steps, answers[side.name], strict=True):
                if step.login:
                    self.accounts.note_login_window(side, answer)
                self._learn(side, step, answer, effects)
        for answer in answers["real"]:
            self._wait_out(item, steps[0], answer)
        # Concurrent answers come in any order: compared sorted, as a multiset; so are the
        # counts of the rate limit they carry, in whatever order the server took them.
        pairs, remaining = [], []
        target = steps[0].request.target
        for side in (self.real, self.mock):
            observed = []
            for answer in answers[side.name]:
                obs = observe(answer, side.binding(), side.fill(target), target)
                obs = {k: _RACED if v in self.raced else v for k, v in obs.items()}
                obs.pop("header.ratelimit-remaining", None)
                observed.append((obs, answer))
            counted = [a for a in answers[side.name] if a.header("ratelimit-remaining")]
            remaining.append(self._taken(side, steps[0], counted) if counted else "")
            pairs.append(
                sorted(observed, key=lambda p: json.dumps(p[0], sort_keys=True, default=str))
            )
        self.outcome.exchanges += len(steps)
        for (obs_real, real), (obs_mock, mock) in zip(*pairs, strict=True):
            differences = compare(obs_real, obs_mock, self.settings.tolerance)
            if differences:
                return Instance(item, start, real, mock, differences)
        if remaining[0] != remaining[1]:
            field_name = "header.ratelimit-remaining (the burst's, sorted)"
            difference = Difference(field_name, remaining[0], remaining[1])
            return Instance(item, start, answers["real"][0], answers["mock"][0], [difference])
        return None

    def _observe(self, side: Side, step: Step, answer: Answer) -> dict[str, Any]:
        target = step.request.target
        obs = observe(answer, side.binding(), side.fill(target), target)
        obs = {k: _RACED if v in self.raced else v for k, v in obs.items()}
        if "header.ratelimit-remaining" in obs:
            obs["header.ratelimit-remaining"] = self._taken(side, step, [answer])
        return obs

    def _taken(self, side: Side, step: Step, answers: list[Answer]) -> str:
        """RateLimit-Remaining as what these requests took from their client's window (sorted,
        for a burst: the server took them in any order), so that a request one side counts and
        the other does not shows as itself, not as every later one."""
        texts = [a.header("ratelimit-remaining") or "" for a in answers]
        if not all(t.isdigit() for t in texts):
            return ",".join(texts)
        values = sorted((int(t) for t in texts), reverse=True)
        # One window per limiter (its policy names it: logins, PATs, user creations) and
        # client address (X-Forwarded-For, as Unleash reads it).
        client = next((v for n, v in step.request.headers if n.lower() == "x-forwarded-for"), "")
        window = (side.fill(client), answers[0].header("ratelimit-policy") or "")
        previous = self.remaining[side.name].get(window)
        self.remaining[side.name][window] = values[-1]
        if previous is None or values[0] >= previous:
            return "a new window"
        return ",".join(f"{previous - v} taken" for v in values)

    def _compare(self, step: Step, real: Answer, mock: Answer) -> list[Difference]:
        self.outcome.exchanges += 1
        return compare(
            self._observe(self.real, step, real),
            self._observe(self.mock, step, mock),
            self.settings.tolerance,
        )

    def _wait_out(self, item: Item, step: Step, answer: Answer) -> None:
        """A 429 from the real server: no login until its window ends (also after a probe of
        the login limit, whatever the path); anything else waits."""
        if answer.status != 429:
            return
        try:
            delay = min(max(float(answer.header("retry-after") or 60), 0.0), 60.0) + 1.0
        except ValueError:
            delay = 60.0
        if step.login or item.family == "limiter":
            self.accounts.pacer.block(delay)
        else:
            self.budget.wait(delay)

    def _learn(self, side: Side, step: Step, answer: Answer, effects: _Effects) -> None:
        req = step.request
        body = body_json(answer) if answer.status in (200, 201) else None
        if answer.status == 201 and isinstance(body, dict) and isinstance(body.get("id"), int):
            if "secret" in body:
                owner = body.get("userId")
                owner = owner if isinstance(owner, int) else 0
                effects.created[side.name].append(("pat", body["id"], owner))
                self.outcome.redact.add(str(body["secret"]))
            elif req.method == "POST" and req.target == USER_ADMIN:
                effects.created[side.name].append(("user", body["id"], 0))
        if (
            answer.status == 200
            and req.method == "DELETE"
            and req.target == f"{USER_ADMIN}/{ph(f'USER_ID_{DELETABLE}')}"
        ):
            effects.deleted = True
        for name, what in step.learn:
            if what == "session":
                value = session_value(answer)
                if value:
                    side.bind(name, value, item=True)
                    self.outcome.redact.add(value)
            elif isinstance(body, dict) and isinstance(body.get("id"), int):
                if what == "secret" and "secret" in body:
                    side.bind(name, str(body["secret"]), item=True)
                elif what == "id":
                    side.bind_pat(name, body["id"], item=True)
                elif what == "user-id":
                    side.bind_user(name, body["id"], item=True)


_RACED = "<a description one of the burst's requests sent>"


def _raced(item: Item) -> set[str]:
    """The descriptions sent by a burst whose requests differ: which of them won is chance."""
    bursts: dict[int, set[bytes]] = {}
    for step in item.steps:
        if step.burst:
            bursts.setdefault(step.burst, set()).add(step.request.body)
    raced = set()
    for bodies in bursts.values():
        if len(bodies) > 1:
            for body in bodies:
                value = json.loads(body).get("description")
                if isinstance(value, str):
                    raced.add(value)
    return raced


class _NoRoom(Exception):
    """Shrinking would spend budget the run keeps for its traffic."""
