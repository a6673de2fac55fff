"""unleash-pat's mock of Unleash 8.2's personal access token (PAT) API."""

import warnings

# connexion imports starlette's TestClient at import time, which warns on Starlette 1.x.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from mock_server.app import create_app
from mock_server.fixtures import FixtureError, Fixtures
from mock_server.handlers import Options
from mock_server.store import PatStore

__all__ = ["FixtureError", "Fixtures", "Options", "PatStore", "create_app"]
