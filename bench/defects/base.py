"""A defect: a named, documented regression of Unleash 8.2.0, as a variant of the stock mock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.defects.probe import Probe
from bench.defects.proxy import Proxy
from mock_server import Clock, Options, create_app


@dataclass(frozen=True)
class Defect:
    id: str
    kind: str
    description: str  # the regression, in one line, as a client sees it
    plausibility: str  # how a real change to Unleash would cause it
    variant: type[Proxy]
    # One request sequence whose observation differs between this defect and the reference.
    demo: Callable[[Probe], Any]

    def build(self, clock: Clock | None = None) -> Any:
        """A fresh defective app: the stock mock (with the variant's options) behind the
        variant."""
        stock = create_app(options=Options(**self.variant.options), clock=clock)
        return self.variant(stock)


def reference(clock: Clock | None = None) -> Any:
    """Unleash 8.2.0 as the mock answers it: the stock app, unwrapped."""
    return create_app(clock=clock)


def transparent(clock: Clock | None = None) -> Any:
    """The stock app behind a proxy that changes nothing: the stand-in's own control."""
    return Proxy(create_app(clock=clock))


DEFECTS: list[Defect] = []


def defect(
    id: str, kind: str, description: str, plausibility: str
) -> Callable[[type[Proxy]], type[Proxy]]:
    """Register a variant class, whose static `demo(probe)` shows the defect."""

    def register(variant: type[Proxy]) -> type[Proxy]:
        if any(d.id == id for d in DEFECTS):
            raise ValueError(f"duplicate defect id {id}")
        demo = variant.__dict__.get("demo")
        if not isinstance(demo, staticmethod):
            raise TypeError(f"{id}: the variant needs a static demo(probe)")
        DEFECTS.append(Defect(id, kind, description, plausibility, variant, demo.__func__))
        return variant

    return register
