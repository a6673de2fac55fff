"""The mock's bug-compatible mode sends real Unleash's defects as they are: the same request to
the real server and to a mock of its version with `bug_compatible` on gets the same answer."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, TOKENS
from tests.control.test_bug_compatible import DEFECTS

pytestmark = pytest.mark.real


@pytest.mark.parametrize(("name", "method", "path", "body", "admin"), DEFECTS)
def test_bug_compatible_answers_equal_real_unleash(
    real_target, target_profile, name, method, path, body, admin
):
    alice = real_target.accounts["alice"]
    # An admin token's DELETE: of a PAT that exists on each side (before 8, a missing one is
    # a 404 first); nothing is deleted.
    real_path = f"{TOKENS}/{alice.pat_id}" if name == "delete-with-admin-token" else path
    token = real_target.admin_token if admin else alice.pat
    expected = real_target.request(method, real_path, json=body, headers={"Authorization": token})
    options = Options(unleash_version=target_profile, bug_compatible=True)
    with TestClient(create_app(options=options)) as mock:
        mock_token = ADMIN_API_TOKEN if admin else ADMIN_PAT
        got = mock.request(method, path, json=body, headers={"Authorization": mock_token})
    # A 500 where the version has the defect (5.x refuses `Infinity` itself, with a 400).
    assert got.status_code == expected.status_code
    assert got.headers["content-type"] == expected.headers["content-type"]
    real_body, mock_body = expected.json(), got.json()
    assert ("id" in mock_body) == ("id" in real_body)  # a random uuid where the version sends one
    real_body.pop("id", None), mock_body.pop("id", None)
    assert mock_body == real_body
