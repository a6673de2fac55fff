"""What a run created on the target, by kind and id, with the credential that owns each: the
record cleanup works from. Every object is recorded the moment its creation is answered, before
anything else can go wrong."""

from __future__ import annotations

from collections.abc import Iterable


class Ledger:
    def __init__(self, kinds: Iterable[str]) -> None:
        """`kinds`: the kinds the run's units clean up; recording any other fails loudly, so an
        object can never be created without a unit to remove it."""
        self._owners: dict[str, dict[int, str]] = {kind: {} for kind in kinds}

    def record(self, kind: str, object_id: int, owner: str) -> None:
        if kind not in self._owners:
            raise KeyError(f"no unit of the run cleans up {kind!r} objects")
        self._owners[kind][object_id] = owner

    def ids(self, kind: str) -> set[int]:
        return set(self._owners[kind])

    def owner(self, kind: str, object_id: int) -> str | None:
        return self._owners[kind].get(object_id)
