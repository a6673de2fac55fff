"""GET and DELETE /api/admin/user/tokens (docs/observations/unleash-8.2.0.md#list, #http-details,
#expiry-warning, #unknown-delete, #delete-other, #delete-response, #delete-id-schema,
#delete-id-range)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app
from mock_server.units.pats.handlers import expiry_warning
from mock_server.units.pats.models import Pat
from tests.conftest import ADMIN_PAT, ALICE_PAT, TOKENS, auth, create, listed


def test_list_shows_only_the_callers_pats_without_secrets(client):
    create(client, "mine")
    create(client, "hers", token=ALICE_PAT)
    pats = listed(client)
    assert [p["description"] for p in pats] == ["default", "mine"]
    for pat in pats:
        assert list(pat) == ["id", "description", "expiresAt", "userId", "createdAt", "seenAt"]
        assert pat["userId"] == 1
    assert [p["description"] for p in listed(client, ALICE_PAT)] == ["alice-default", "hers"]


def test_empty_list_is_an_empty_array(client):
    client.delete(f"{TOKENS}/1", headers=auth(ADMIN_PAT))
    response = client.post(
        "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
    )
    assert response.status_code == 200
    assert client.get(TOKENS).json() == {"pats": []}


def test_query_strings_and_accept_are_ignored(client):
    response = client.get(
        f"{TOKENS}?id=2&foo=bar", headers={**auth(ADMIN_PAT), "Accept": "text/html"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert [p["id"] for p in response.json()["pats"]] == [1]


def test_matching_if_none_match_gives_304(client):
    etag = client.get(TOKENS, headers=auth(ADMIN_PAT)).headers["etag"]
    assert etag.startswith('W/"')
    response = client.get(TOKENS, headers={**auth(ADMIN_PAT), "If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_expired_pats_stay_listed_count_toward_the_limit_and_keep_their_description(app, client):
    app.state.pats.create(1, "expired", datetime.now(UTC) - timedelta(days=1), check_expiry=False)
    assert "expired" in [p["description"] for p in listed(client)]
    assert create(client, "expired").status_code == 409
    for i in range(8):
        assert create(client, f"n{i}").status_code == 201
    assert create(client, "one-too-many").status_code == 403


def test_delete_own_pat_answers_an_empty_chunked_200(client):
    created = create(client, "gone").json()
    response = client.delete(f"{TOKENS}/{created['id']}", headers=auth(ADMIN_PAT))
    assert response.status_code == 200
    assert response.content == b""
    assert "content-type" not in response.headers
    assert "etag" not in response.headers
    assert response.headers["transfer-encoding"] == "chunked"
    assert [p["id"] for p in listed(client)] == [1]


@pytest.mark.parametrize("pat_id", ["999999", "0", "-1", "2147483647", "-2147483648"])
def test_delete_of_a_missing_id_is_still_200(client, pat_id):
    assert client.delete(f"{TOKENS}/{pat_id}", headers=auth(ADMIN_PAT)).status_code == 200
    assert [p["id"] for p in listed(client)] == [1]


def test_deleting_twice_is_200_both_times(client):
    created = create(client, "twice").json()
    for _ in range(2):
        assert (
            client.delete(f"{TOKENS}/{created['id']}", headers=auth(ADMIN_PAT)).status_code == 200
        )


def test_deleting_another_users_pat_answers_200_and_deletes_nothing(client):
    assert client.delete(f"{TOKENS}/2", headers=auth(ADMIN_PAT)).status_code == 200
    assert [p["id"] for p in listed(client, ALICE_PAT)] == [2]
    assert client.get(TOKENS, headers=auth(ALICE_PAT)).status_code == 200


@pytest.mark.parametrize("segment", ["03", "%2B3", "+3", "3.0", "%203", "3%20", "3e0", "0x3"])
def test_delete_ids_are_coerced_like_javascript_numbers(client, segment):
    create(client, "a")  # id 3
    assert client.delete(f"{TOKENS}/{segment}", headers=auth(ADMIN_PAT)).status_code == 200
    assert [p["id"] for p in listed(client)] == [1]


@pytest.mark.parametrize("segment", ["abc", "1.5", "NaN", "1_000"])
def test_non_integer_ids_are_schema_errors_echoing_the_segment(client, segment):
    response = client.delete(f"{TOKENS}/{segment}", headers=auth(ADMIN_PAT))
    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "message": f'The `/params/id` property must be integer. You sent "{segment}".',
            "path": "/params/id",
        }
    ]


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("2147483648", "must be <= 2147483647. You sent 2147483648."),
        ("-2147483649", "must be >= -2147483648. You sent -2147483649."),
        ("9999999999999999999999", "must be <= 2147483647. You sent 1e+22."),
        ("Infinity", "must be <= 2147483647. You sent null."),
    ],
)
def test_ids_outside_int4_are_400_where_unleash_leaks_sql_in_a_500(client, segment, message):
    response = client.delete(f"{TOKENS}/{segment}", headers=auth(ADMIN_PAT))
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": f"The `/params/id` property {message}", "path": "/params/id"}
    ]


def test_delete_ignores_its_body_unless_it_is_malformed_json(client):
    headers = {**auth(ADMIN_PAT), "Content-Type": "text/plain"}
    assert (
        client.request("DELETE", f"{TOKENS}/999", headers=headers, content=b"anything").status_code
        == 200
    )
    headers["Content-Type"] = "application/json"
    response = client.request("DELETE", f"{TOKENS}/999", headers=headers, content=b"{bad")
    assert response.status_code == 400
    assert response.json() == {"message": "Expected property name or '}' in JSON at position 1"}


def test_kill_switch_disables_list_and_create_but_not_delete():
    with TestClient(create_app(options=Options(pats_kill_switch=True))) as client:
        for response in (client.get(TOKENS, headers=auth(ADMIN_PAT)), create(client, "x")):
            assert response.status_code == 404
            assert response.json() == {
                "name": "NotFoundError",
                "message": "PATs are disabled.",
                "details": [{"message": "PATs are disabled."}],
            }
        assert client.delete(f"{TOKENS}/1", headers=auth(ADMIN_PAT)).status_code == 200


def test_expiry_warnings_appear_only_with_the_flag(app):
    now = datetime.now(UTC)
    app.state.pats.create(1, "soon", now + timedelta(days=2), check_expiry=False)
    app.state.pats.create(1, "old", now - timedelta(days=1), check_expiry=False)
    with TestClient(app) as client:
        assert all("expiryWarning" not in p for p in listed(client))
    flagged = create_app(options=Options(token_expiry_notifications=True))
    flagged.state.pats.create(1, "soon", now + timedelta(days=2), check_expiry=False)
    flagged.state.pats.create(1, "old", now - timedelta(days=1), check_expiry=False)
    with TestClient(flagged) as client:
        warnings = {p["description"]: p.get("expiryWarning") for p in listed(client)}
    # "soon" was created today: its life is not half over yet, so no warning (Unleash's rule).
    assert warnings == {"default": None, "soon": None, "old": "expired"}


def test_expires_soon_in_the_second_half_of_a_tokens_life():
    now = datetime(2030, 6, 10, 12, tzinfo=UTC)
    pat = Pat(1, "d", now + timedelta(days=3), 1, now - timedelta(days=20))
    assert expiry_warning(pat, now, (14, 3)) == "expires-soon"
    assert expiry_warning(pat, now, (2,)) is None
