"""unleash-pat's mock of Unleash's personal access token (PAT) API.

The names below load on first use: the pytest plugin imports this package in every pytest run
of an environment that has it installed, and must not pay for connexion there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.app import MockApp, create_app
    from mock_server.clock import Clock
    from mock_server.fixtures import FixtureError, Fixtures
    from mock_server.options import Options
    from mock_server.state import MockState
    from mock_server.units import UNITS, Unit
    from mock_server.versions import VersionProfile

_HOMES = {
    "Clock": "mock_server.clock",
    "FixtureError": "mock_server.fixtures",
    "Fixtures": "mock_server.fixtures",
    "MockApp": "mock_server.app",
    "MockState": "mock_server.state",
    "Options": "mock_server.options",
    "UNITS": "mock_server.units",
    "Unit": "mock_server.units",
    "VersionProfile": "mock_server.versions",
    "create_app": "mock_server.app",
}

__all__ = [
    "UNITS",
    "Clock",
    "FixtureError",
    "Fixtures",
    "MockApp",
    "MockState",
    "Options",
    "Unit",
    "VersionProfile",
    "create_app",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
