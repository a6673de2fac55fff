"""Fault rules: make the mock slow, failing or broken for the requests a test chooses.

A rule matches a method, a path (exact, or a prefix with a trailing `*`) and a user id; a field
left out matches anything. It answers a given status and body, adds latency (fixed, or drawn
from a range), drops the connection, or sends a truncated response. It fires for the next
`times` matching requests, or for each with a `probability`, drawn from a generator seeded with
`seed` so that a run repeats exactly; with neither, it fires until cleared. A mock holds at most
MAX_RULES: every request is matched against them.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_RULES = 1_000


class TooManyRules(Exception):
    """A rule beyond MAX_RULES."""


@dataclass
class FaultRule:
    id: int
    method: str | None = None
    path: str | None = None
    user: int | None = None
    status: int | None = None
    body: Any = None
    delay_ms: float | None = None
    delay_range_ms: tuple[float, float] | None = None
    drop: bool = False
    truncate: bool = False
    times: int | None = None  # how many more times it fires
    probability: float | None = None
    seed: int | None = None
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_json(cls, rule_id: int, data: dict[str, Any]) -> FaultRule:
        """From a rule the control API's schema has validated."""
        match = data.get("match", {})
        delay = data.get("delay_ms")
        seed = data.get("seed")
        return cls(
            id=rule_id,
            method=match["method"].upper() if "method" in match else None,
            path=match.get("path"),
            user=match.get("user"),
            status=data.get("status"),
            body=data.get("body"),
            delay_ms=delay if isinstance(delay, int | float) else None,
            delay_range_ms=(delay["min"], delay["max"]) if isinstance(delay, dict) else None,
            drop=data.get("drop", False),
            truncate=data.get("truncate", False),
            times=data.get("times"),
            probability=data.get("probability"),
            seed=seed,
            _rng=random.Random(seed),
        )

    def json(self) -> dict[str, Any]:
        match = {
            k: v
            for k, v in (("method", self.method), ("path", self.path), ("user", self.user))
            if v is not None
        }
        out: dict[str, Any] = {"id": self.id, "match": match, "fired": self.fired}
        if self.delay_range_ms is not None:
            out["delay_ms"] = {"min": self.delay_range_ms[0], "max": self.delay_range_ms[1]}
        elif self.delay_ms is not None:
            out["delay_ms"] = self.delay_ms
        if self.status is not None:
            out |= {"status": self.status, "body": self.body}
        out |= {k: True for k in ("drop", "truncate") if getattr(self, k)}
        if self.times is not None:
            out["times"] = self.times
        if self.probability is not None:
            out |= {"probability": self.probability, "seed": self.seed}
        return out

    def matches(self, method: str, path: str, user: Callable[[], int | None]) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is not None:
            if self.path.endswith("*"):
                if not path.startswith(self.path[:-1]):
                    return False
            elif path != self.path:
                return False
        return self.user is None or user() == self.user

    def delay_seconds(self) -> float:
        if self.delay_range_ms is not None:
            return self._rng.uniform(*self.delay_range_ms) / 1000
        return (self.delay_ms or 0) / 1000


class Faults:
    """The rules in the order they were added; the first that matches and fires applies."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, data: dict[str, Any]) -> FaultRule:
        with self._lock:
            if len(self._rules) >= MAX_RULES:
                raise TooManyRules(f"the mock holds {MAX_RULES} fault rules at most; clear some")
            rule = FaultRule.from_json(next(self._ids), data)
            self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def fire(self, method: str, path: str, user: Callable[[], int | None]) -> FaultRule | None:
        """The rule that applies to this request, counted as fired; None if none does. `user`
        is asked only by rules that match a user: give it a cached callable."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, user):
                    continue
                if rule.probability is not None and rule._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
        return None
