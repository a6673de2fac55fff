"""A user's tests, as README.md and docs/mock.md show them: run by tests/test_install.py against
the checkout and by .ci/run in a venv that held older httpx and hypothesis before the wheel was
installed. Both run them under `-W error`."""

import sys

import httpx


def test_unrelated_test_loads_no_mock():
    assert "connexion" not in sys.modules  # the plugin imported nothing heavy


def test_client_lists_tokens_of_the_served_mock(unleash):
    response = httpx.get(
        f"{unleash.url}/api/admin/user/tokens", headers={"Authorization": unleash.token}
    )
    assert response.status_code == 200
    assert [pat["description"] for pat in response.json()["pats"]] == ["default"]


def test_in_process_app_has_the_fixture_users(unleash_app):
    assert [user.username for user, _ in unleash_app.state.fixtures.users] == ["admin", "alice"]
