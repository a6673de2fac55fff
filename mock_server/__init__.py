"""unleash-pat's mock of Unleash's personal access token (PAT) API."""

import warnings

# connexion imports starlette's TestClient at import time, which warns on Starlette 1.x.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from mock_server.app import MockApp, create_app
from mock_server.clock import Clock
from mock_server.fixtures import FixtureError, Fixtures
from mock_server.options import Options
from mock_server.state import MockState
from mock_server.store import PatStore
from mock_server.versions import VersionProfile

__all__ = [
    "Clock",
    "FixtureError",
    "Fixtures",
    "MockApp",
    "MockState",
    "Options",
    "PatStore",
    "VersionProfile",
    "create_app",
]
