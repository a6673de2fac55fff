"""Values drawn from hypothesis strategies, the same ones for the same seed, without `@given`.

diff generates its traffic up front from `--seed`: every draw gets its own ConjectureData,
seeded by one 64-bit number from the run's `random.Random(seed)`, so a strategy that takes more
or fewer choices never shifts the draws after it (each draw has a fixed shape in the seed's
stream). hypothesis' own provider mixes in constants it collects from whatever modules happen
to be imported; the provider below never does, so a run repeats whatever else is loaded.

This is the one module of diff that uses hypothesis internals (ConjectureData, its provider
and BuildContext, which strategies such as `from_regex` need; the same in every hypothesis the
package allows, >=6.130.12,<7, but for BuildContext's `wrapped_test`, added in between).
"""

from __future__ import annotations

import inspect
import random
from typing import Any, TypeVar

from hypothesis.control import BuildContext
from hypothesis.errors import StopTest
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.conjecture.providers import HypothesisProvider
from hypothesis.strategies import SearchStrategy

T = TypeVar("T")
_ATTEMPTS = 20  # a draw whose filters reject every attempt is a bug in the strategy
_CONTEXT: dict[str, Any] = (
    {"wrapped_test": lambda: None}
    if "wrapped_test" in inspect.signature(BuildContext.__init__).parameters
    else {}
)


class _ConstantFreeProvider(HypothesisProvider):
    """hypothesis' provider without its pool of constants (hypothesis' own and those found
    in the loaded modules' source), which depends on what the process has imported."""

    def _maybe_draw_constant(self, *args: Any, **kwargs: Any) -> None:
        return None


class Draws:
    """`draws(strategy)`: one value, reproducible from the seed and the order of the draws."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def __call__(self, strategy: SearchStrategy[T]) -> T:
        for _ in range(_ATTEMPTS):
            data = ConjectureData(
                random=random.Random(self.random.getrandbits(64)),
                provider=_ConstantFreeProvider,
            )
            try:
                with BuildContext(data, is_final=False, **_CONTEXT):
                    return data.draw(strategy)
            except StopTest:  # filtered out or too large: draw again
                continue
        raise RuntimeError(f"{strategy!r} rejected {_ATTEMPTS} draws in a row")
