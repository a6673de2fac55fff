"""The one way to declare a contract check, and how the suite finds them.

A leaf: it imports nothing from the rest of the suite. `@check(Layer.PROPERTY, Need.WRITE)` marks
a function, without registering it anywhere; `discover()` imports every module of a package
(`contract_tests.checks` by default) and collects the marked functions, so a check in a new
module runs without editing any list. A check receives the run's `contract_tests.context.Context`
(typed `Any` here to keep this module a leaf) and raises `Violation` on the first broken rule, or
returns its findings.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

CheckFunction = Callable[[Any], list[Any] | None]
_MARK = "__contract_check__"


class Layer(Enum):
    """Where a check belongs; layers run in this order."""

    OPENAPI = "openapi"  # schemathesis over the contract document
    LIFECYCLE = "lifecycle"  # the stateful model
    PROPERTY = "property"  # focused properties


class Need(Enum):
    """What a check requires of the run; it is reported as not run without it."""

    WRITE = "write"  # creates PATs: not under --read-only
    TOKEN_2 = "token_2"  # a second user's PAT
    ADMIN_TOKEN = "admin_token"  # an admin API token
    PASSWORD = "password"  # the first user's username and password: it logs in


@dataclass(frozen=True)
class Check:
    name: str
    layer: Layer
    run: CheckFunction
    needs: frozenset[Need] = frozenset()


def check(layer: Layer, *needs: Need) -> Callable[[CheckFunction], CheckFunction]:
    """Declare `func` a check of `layer` that needs `needs`; raises TypeError on anything that
    is not a Layer or a Need (a misspelt need must never let a writing check run read-only)."""
    if not isinstance(layer, Layer):
        raise TypeError(f"a check's layer must be a Layer, not {layer!r}")
    unknown = [n for n in needs if not isinstance(n, Need)]
    if unknown:
        raise TypeError(f"unknown need(s) {unknown!r}; use {', '.join(map(str, Need))}")

    def mark(func: CheckFunction) -> CheckFunction:
        setattr(func, _MARK, Check(func.__name__, layer, func, frozenset(needs)))
        return func

    return mark


def discover(package: str = "contract_tests.checks") -> list[Check]:
    """Every check in the modules of `package`, in layer order, then module and source order."""
    root = importlib.import_module(package)
    found: list[tuple[int, str, int, Check]] = []
    for info in pkgutil.iter_modules(root.__path__, f"{package}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            declared = getattr(value, _MARK, None)
            if isinstance(declared, Check) and value.__module__ == module.__name__:
                line = value.__code__.co_firstlineno
                found.append((list(Layer).index(declared.layer), info.name, line, declared))
    return [entry[-1] for entry in sorted(found, key=lambda e: e[:3])]
