"""Shared fixtures: a fresh in-process mock per test, driven through its ASGI app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mock_server import create_app

ADMIN_PAT = "user:8a9cd91daa6c7d94da92681820a0934d8cf5d1684e138bff7054b09a"
ALICE_PAT = "user:62e1172b05d246d7ba100d6f009ee9e66ecb61962b9c3c824c045b53"
ADMIN_API_TOKEN = "*:*.unleash-insecure-admin-api-token"
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
