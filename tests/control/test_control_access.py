"""Who may use the control API: a control token that means something, and no request a web page
could make (another Host, another Origin, a body that is not JSON)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from tests.test_cli_errors import run_cli

C = "/_unleash-pat"


@pytest.mark.parametrize("token", ["", " ", "\t\n"])
def test_an_empty_control_token_is_refused_by_create_app(token):
    with pytest.raises(ValueError, match="control token"):
        create_app(control_token=token)


@pytest.mark.parametrize("token", ["", "   "])
def test_serve_refuses_an_empty_control_token_before_it_serves(token):
    result = run_cli("serve", "--port", "0", "--host", "0.0.0.0", "--control-token", token)
    assert (result.returncode, result.stdout) == (2, "")
    assert "--control-token" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_absent_authorization_never_matches_a_control_token():
    with TestClient(create_app(control_token="s3cret")) as client:
        assert client.get(f"{C}/state").status_code == 401
        assert client.get(f"{C}/state", headers={"Authorization": ""}).status_code == 401
        assert client.get(f"{C}/state", headers={"Authorization": "Bearer "}).status_code == 401
        assert client.get(f"{C}/state", headers={"Authorization": "Bearer s3cret"}).is_success
