"""The mock's bug-compatible mode sends real Unleash's defects byte for byte: the same request
to the real server and to a mock with `bug_compatible` on gets the same 500 and the same body."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT
from tests.control.test_bug_compatible import DEFECTS

pytestmark = pytest.mark.real


@pytest.mark.parametrize(("name", "method", "path", "body", "admin"), DEFECTS)
def test_bug_compatible_answers_equal_real_unleash_byte_for_byte(
    real_target, name, method, path, body, admin
):
    token = real_target.admin_token if admin else real_target.accounts["alice"].pat
    expected = real_target.request(method, path, json=body, headers={"Authorization": token})
    with TestClient(create_app(options=Options(bug_compatible=True))) as mock:
        got = mock.request(
            method,
            path,
            json=body,
            headers={"Authorization": ADMIN_API_TOKEN if admin else ADMIN_PAT},
        )
    assert (got.status_code, got.content) == (expected.status_code, expected.content)
    assert got.headers["content-type"] == expected.headers["content-type"]
