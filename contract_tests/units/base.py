"""What a resource unit is to the suite: the kind of object it creates on the target, how a
run removes what it created, and for each of the contract's operations of that family how
schemathesis' generated requests are kept inside the run (`Guard`).

The suite knows families of resources only through units: its cleanup runs each unit's, and its
schemathesis layer sends a writing operation to a deployment only where a unit guards it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.context import Context


@dataclass(frozen=True)
class Guard:
    """`prepare` changes a generated request before it is sent (the run's prefix, an id it may
    touch); `record` notes what the answer created in the run's ledger."""

    prepare: Callable[[Context, Any], None] | None = None
    record: Callable[[Context, Any, Any], None] | None = None


@dataclass(frozen=True)
class SuiteUnit:
    kind: str  # the ledger's kind of the objects it creates, e.g. "pat"
    # Removes what the run created with `api` (a budget of its own), naming each removal in
    # `deleted`; returns what it could not remove.
    cleanup: Callable[[Context, Api, list[str]], list[str]]
    # The run's guards (they may keep state for the run): operationId of the contract -> guard.
    guards: Callable[[Context], Mapping[str, Guard]] = lambda ctx: {}
