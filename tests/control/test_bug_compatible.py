"""Bug-compatible mode: real Unleash's defects as it answers them, for the selected version;
the default stays corrected."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app, versions
from mock_server.versions import Defect, IdCheck, UnknownDelete
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, FUTURE, TOKENS, auth

# Each request real Unleash 8.2.0 answers with a 500 leaking SQL: (name, method, path, body,
# admin token instead of the PAT).
DEFECTS = [
    ("nul-description", "POST", TOKENS, {"description": "a\x00b", "expiresAt": FUTURE}, False),
    ("delete-with-admin-token", "DELETE", f"{TOKENS}/1", None, True),
    ("delete-id-above-int4", "DELETE", f"{TOKENS}/2147483648", None, False),
    ("delete-id-below-int4", "DELETE", f"{TOKENS}/-2147483649", None, False),
    ("delete-id-huge", "DELETE", f"{TOKENS}/9999999999999999999999", None, False),
    ("delete-id-infinity", "DELETE", f"{TOKENS}/Infinity", None, False),
]


def _send(client, method: str, path: str, body: dict | None, token: str) -> httpx.Response:
    return client.request(method, path, json=body, headers=auth(token))


@pytest.mark.parametrize(("name", "method", "path", "body", "admin"), DEFECTS)
def test_bug_compatible_mode_answers_the_defect_as_a_500_leaking_sql(
    name, method, path, body, admin
):
    with TestClient(create_app(options=Options(bug_compatible=True))) as client:
        response = _send(client, method, path, body, ADMIN_API_TOKEN if admin else ADMIN_PAT)
        assert response.status_code == 500
        error = response.json()
        assert set(error) == {"name", "message", "details"}
        assert error["name"] == "UnknownError"
        assert error["details"] == [{"message": error["message"]}]
        assert "personal_access_tokens" in error["message"]
        if method == "DELETE":  # nothing was deleted
            assert len(client.get(TOKENS, headers=auth(ADMIN_PAT)).json()["pats"]) == 1


@pytest.mark.parametrize(("name", "method", "path", "body", "admin"), DEFECTS)
def test_by_default_the_defects_are_corrected_4xx(name, method, path, body, admin):
    with TestClient(create_app()) as client:
        response = _send(client, method, path, body, ADMIN_API_TOKEN if admin else ADMIN_PAT)
        assert response.status_code in (400, 403)


def test_the_mode_is_switched_at_runtime_through_the_control_api(client):
    path = f"{TOKENS}/2147483648"
    assert client.delete(path, headers=auth(ADMIN_PAT)).status_code == 400
    client.put("/_unleash-pat/options", json={"bug_compatible": True})
    assert client.delete(path, headers=auth(ADMIN_PAT)).status_code == 500


def test_ids_that_are_no_integers_stay_a_400_in_bug_compatible_mode():
    with TestClient(create_app(options=Options(bug_compatible=True))) as client:
        for token in (ADMIN_PAT, ADMIN_API_TOKEN):
            assert client.delete(f"{TOKENS}/abc", headers=auth(token)).status_code == 400


def _versioned(version: str) -> TestClient:
    return TestClient(create_app(options=Options(unleash_version=version, bug_compatible=True)))


LOOKED_UP_FIRST = [
    v for v, p in versions.profiles().items() if p.unknown_delete is UnknownDelete.NOT_FOUND
]


@pytest.mark.parametrize("version", LOOKED_UP_FIRST)
def test_where_the_pat_is_looked_up_first_an_admin_tokens_delete_fails_only_on_an_existing_id(
    version,
):
    with _versioned(version) as client:
        assert client.delete(f"{TOKENS}/999", headers=auth(ADMIN_API_TOKEN)).status_code == 404
        defect = client.delete(f"{TOKENS}/1", headers=auth(ADMIN_API_TOKEN))
        assert defect.status_code == 500
        defects = client.app.state.profile.defects
        assert defect.json()["message"] == defects[Defect.ADMIN_TOKEN_DELETE]


@pytest.mark.parametrize("version", list(versions.profiles()))
def test_an_id_beyond_int4_fails_in_the_query_the_version_runs_first(version):
    looked_up_first = versions.resolve(version).unknown_delete is UnknownDelete.NOT_FOUND
    query = "select" if looked_up_first else "delete"
    with _versioned(version) as client:
        response = client.delete(f"{TOKENS}/2147483648", headers=auth(ADMIN_PAT))
        assert response.status_code == 500
        message = response.json()["message"]
        assert message.startswith(f"{query} * from" if query == "select" else "delete from")
        assert message.endswith('value "2147483648" is out of range for type integer')


@pytest.mark.parametrize(
    "version",
    [v for v, p in versions.profiles().items() if p.id_check is IdCheck.NUMBER_MIDDLEWARE],
)
def test_id_number_middleware_hands_an_id_like_1e3_to_postgresql_as_text(version):
    with _versioned(version) as client:
        response = client.delete(f"{TOKENS}/1e3", headers=auth(ADMIN_PAT))
        assert response.status_code == 500
        assert response.json()["message"].endswith('invalid input syntax for type integer: "1e3"')
