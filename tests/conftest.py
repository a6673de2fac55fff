"""Shared fixtures: a fresh in-process mock per test, driven through its ASGI app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mock_server import create_app, fixtures

# The default fixtures' credentials: user 1 `admin`, user 2 `alice`, the admin API token.
DEFAULT_FIXTURES = fixtures.load()
ADMIN_PAT = DEFAULT_FIXTURES.users[0][1][0].secret
ALICE_PAT = DEFAULT_FIXTURES.users[1][1][0].secret
ADMIN_API_TOKEN = DEFAULT_FIXTURES.admin_tokens[0]
TOKENS = "/api/admin/user/tokens"
FUTURE = "2099-12-31T23:59:59.999Z"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": token}


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def create(client: TestClient, description: str, token: str = ADMIN_PAT, expires: str = FUTURE):
    return client.post(
        TOKENS, headers=auth(token), json={"description": description, "expiresAt": expires}
    )


def listed(client: TestClient, token: str = ADMIN_PAT) -> list[dict]:
    response = client.get(TOKENS, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()["pats"]


pytest_plugins = ["pytester"]
