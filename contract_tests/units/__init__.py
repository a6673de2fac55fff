"""The suite's resource units (base.py says what one is). `Settings(units=...)` adds more."""

from __future__ import annotations

from contract_tests.units import pats
from contract_tests.units.base import Guard, SuiteUnit

UNITS: tuple[SuiteUnit, ...] = (pats.UNIT,)

__all__ = ["UNITS", "Guard", "SuiteUnit"]
