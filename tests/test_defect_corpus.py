"""The defect corpus of bench/defects: it loads, every defect is documented, and every defect
really changes what a client observes (its own demo, in process, against the reference)."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.defects import DEFECTS, Defect, reference, transparent  # noqa: E402
from bench.defects.probe import Probe, frozen_clock  # noqa: E402

KINDS = {
    "auth", "admin-token", "session", "login", "time", "limits", "uniqueness", "echo",
    "identity", "current-user", "list", "create", "delete", "errors", "headers", "ratelimit",
    "routing", "methods", "body", "ui-config",
}  # fmt: skip


def observe(make: Callable[..., Any], demo: Callable[[Probe], Any]) -> Any:
    """Run a demo against a fresh app whose clock stands at the probe's fixed instant."""
    clock = frozen_clock()
    probe = Probe(make(clock), clock)
    try:
        return demo(probe)
    finally:
        probe.close()


@functools.cache
def reference_observation(defect_id: str) -> Any:
    """The reference's observation of a demo (a demo is deterministic: run it once)."""
    demo = next(d.demo for d in DEFECTS if d.id == defect_id)
    return observe(reference, demo)


def test_the_corpus_loads_with_at_least_60_documented_defects() -> None:
    assert len(DEFECTS) >= 60
    for d in DEFECTS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", d.id), d.id
        assert d.kind in KINDS, (d.id, d.kind)
        assert d.description.strip() and d.plausibility.strip(), d.id
        assert callable(d.demo), d.id


def test_defect_ids_are_unique() -> None:
    ids = [d.id for d in DEFECTS]
    assert len(ids) == len(set(ids))


def test_the_corpus_spreads_over_many_kinds_of_behaviour() -> None:
    assert len({d.kind for d in DEFECTS}) >= 15


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.id)
def test_the_defect_changes_what_a_client_observes(defect: Defect) -> None:
    assert observe(defect.build, defect.demo) != reference_observation(defect.id)


def test_the_stand_in_without_a_defect_answers_every_demo_as_the_reference() -> None:
    """The proxy every defect is built on changes nothing by itself."""
    different = [
        d.id for d in DEFECTS if observe(transparent, d.demo) != reference_observation(d.id)
    ]
    assert different == []
