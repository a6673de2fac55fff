"""POST /api/admin/user/tokens (docs/observations/unleash-8.2.0.md#pat-object, #id-sequence,
#timestamps, #coercion, #schema-400, #service-400, #body-not-object, #content-type,
#content-type-params, #duplicate, #limit, #nul-description; where 6.x reads a content type
otherwise: docs/observations/unleash-6.10.1.md#content-type-params)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app, fixtures, versions
from tests.conftest import ADMIN_PAT, ALICE_PAT, TOKENS, auth, create, listed

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SCHEMA_400 = (
    "Request validation failed: your request body or params contain invalid data. "
    "Refer to the `details` list for more information."
)


def schema_error(response) -> dict:
    assert response.status_code == 400
    body = response.json()
    assert body.pop("id")
    assert body["name"] == "BadDataError"
    assert body["message"] == SCHEMA_400
    assert len(body["details"]) == 1
    return body["details"][0]


def service_error(response, status: int, name: str) -> str:
    assert response.status_code == status
    body = response.json()
    assert list(body) == ["name", "message", "details"]  # service errors carry no id
    assert body["name"] == name
    assert body["details"] == [{"message": body["message"]}] or name == "BadDataError"
    return body["message"]


def test_created_pat_has_unleash_shape_and_a_fresh_secret(client):
    before = datetime.now(UTC)
    response = create(client, "ci", expires="2030-05-06T07:08:09.123Z")
    assert response.status_code == 201
    assert "location" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding"
    body = response.json()
    assert list(body) == [
        "id",
        "description",
        "expiresAt",
        "userId",
        "createdAt",
        "seenAt",
        "secret",
    ]
    assert body["id"] == 3  # the fixtures hold PATs 1 and 2
    assert body["description"] == "ci"
    assert body["expiresAt"] == "2030-05-06T07:08:09.123Z"
    assert body["userId"] == 1
    assert body["seenAt"] is None
    assert re.fullmatch(r"user:[0-9a-f]{56}", body["secret"])
    assert TIMESTAMP.match(body["createdAt"])
    created = datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00"))
    assert before - timedelta(milliseconds=1) <= created <= datetime.now(UTC)
    assert client.get(TOKENS, headers=auth(body["secret"])).status_code == 200


def test_secrets_are_distinct(client):
    secrets = {create(client, f"s{i}").json()["secret"] for i in range(9)}
    assert len(secrets) == 9


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2031-01-01T00:00:00+02:00", "2030-12-31T22:00:00.000Z"),
        ("2031-01-01T00:00:00Z", "2031-01-01T00:00:00.000Z"),
        ("2031-01-01t00:00:00.5z", "2031-01-01T00:00:00.500Z"),
        ("2031-01-01T00:00:00.123456Z", "2031-01-01T00:00:00.123Z"),
        ("2031-01-01T00:00:00.9999Z", "2031-01-01T00:00:00.999Z"),  # truncated, not rounded
        ("2031-01-01T12:00:00", "2031-01-01T12:00:00.000Z"),  # no zone: read as UTC
        ("2031-01-01T12:00:00+02", "2031-01-01T10:00:00.000Z"),
        ("2031-01-01T12:00:00+0200", "2031-01-01T10:00:00.000Z"),
        ("2031-01-01 12:00:00Z", "2031-01-01T12:00:00.000Z"),
        ("2031-01-01\v12:00:00Z", "2031-01-01T12:00:00.000Z"),  # white space to Ajv and to C
        ("2031-06-30T23:59:60Z", "2031-07-01T00:00:00.000Z"),
        ("2031-01-01T23:59:60+02:00", "2031-01-01T22:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
    ],
)
def test_expiry_is_normalized_to_utc_milliseconds(client, sent, stored):
    response = create(client, "t", expires=sent)
    assert response.status_code == 201, response.text
    assert response.json()["expiresAt"] == stored


def test_extra_fields_are_ignored(client):
    response = client.post(
        TOKENS,
        headers=auth(ADMIN_PAT),
        json={
            "description": "extra",
            "expiresAt": "2099-01-01T00:00:00Z",
            "id": 999,
            "secret": "user:" + "0" * 56,
            "userId": 2,
            "other": [1],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["userId"]) == (3, 1)
    assert body["secret"] != "user:" + "0" * 56


@pytest.mark.parametrize(
    ("sent", "stored"), [(123, "123"), (True, "true"), (1.0, "1"), (1e21, "1e+21")]
)
def test_scalar_descriptions_are_coerced_to_strings(client, sent, stored):
    response = client.post(
        TOKENS,
        headers=auth(ADMIN_PAT),
        json={"description": sent, "expiresAt": "2099-01-01T00:00:00Z"},
    )
    assert response.status_code == 201
    assert response.json()["description"] == stored


@pytest.mark.parametrize("field", ["description", "expiresAt"])
def test_missing_field_is_a_schema_error(client, field):
    body = {"description": "d", "expiresAt": "2099-01-01T00:00:00Z"}
    del body[field]
    detail = schema_error(client.post(TOKENS, headers=auth(ADMIN_PAT), json=body))
    assert list(detail) == ["path", "message"]
    assert detail == {
        "path": f"/body/{field}",
        "message": f"The `/body/{field}` property is required. "
        "It was not present on the data you sent.",
    }


def test_missing_description_is_reported_before_missing_expiry(client):
    detail = schema_error(client.post(TOKENS, headers=auth(ADMIN_PAT), json={}))
    assert detail["path"] == "/body/description"


def test_object_description_is_a_type_error(client):
    detail = schema_error(
        client.post(
            TOKENS,
            headers=auth(ADMIN_PAT),
            json={"description": {"a": 1}, "expiresAt": "2099-01-01T00:00:00Z"},
        )
    )
    assert list(detail) == ["message", "path"]
    assert detail == {
        "message": 'The `/body/description` property must be string. You sent {"a":1}.',
        "path": "/body/description",
    }


@pytest.mark.parametrize(
    ("sent", "echo"),
    [
        ("", '""'),
        ("tomorrow", '"tomorrow"'),
        ("2031-05-06", '"2031-05-06"'),
        ("2031-02-30T00:00:00.000Z", '"2031-02-30T00:00:00.000Z"'),
        ("2031-01-01T24:00:00Z", '"2031-01-01T24:00:00Z"'),
        ("+010000-01-01T00:00:00.000Z", '"+010000-01-01T00:00:00.000Z"'),
        ("2031-01-01T12:59:60Z", '"2031-01-01T12:59:60Z"'),
        ("2031-01-01T12:00:00.Z", '"2031-01-01T12:00:00.Z"'),
        # JavaScript's `\\d` is ASCII: real 8.2.0 refuses other digits with this 400.
        ("\uff12\uff10\uff13\uff11-01-01T00:00:00Z", '"\uff12\uff10\uff13\uff11-01-01T00:00:00Z"'),
        ("\u0662\u0660\u0663\u0661-01-01T00:00:00Z", '"\u0662\u0660\u0663\u0661-01-01T00:00:00Z"'),
        ("2031-01-01T0\uff10:00:00Z", '"2031-01-01T0\uff10:00:00Z"'),
        # Real Unleash answers these with a 500 leaking SQL (PostgreSQL cannot read them); the
        # mock calls them invalid.
        ("2031-01-01T12:00:00+16:00", '"2031-01-01T12:00:00+16:00"'),
        ("2031-01-01T00:00:00+02:60", '"2031-01-01T00:00:00+02:60"'),
        ("2031-12-31T23:59:60.5Z", '"2031-12-31T23:59:60.5Z"'),
        ("2031-01-01\u00a000:00:00Z", '"2031-01-01\u00a000:00:00Z"'),
        ("2031-01-01\u200300:00:00Z", '"2031-01-01\u200300:00:00Z"'),
        # Real 8.2.0 stores this one (201, `+010000-01-01T14:59:59.000Z`); a Python datetime
        # cannot hold a year past 9999, so the mock refuses it: the safe direction.
        ("9999-12-31T23:59:59-15:00", '"9999-12-31T23:59:59-15:00"'),
        (1893456000000, '"1893456000000"'),
        (None, '""'),
    ],
)
def test_invalid_expiry_is_a_format_error_echoing_the_value(client, sent, echo):
    detail = schema_error(
        client.post(TOKENS, headers=auth(ADMIN_PAT), json={"description": "d", "expiresAt": sent})
    )
    assert detail == {
        "message": 'The `/body/expiresAt` property must match format "date-time". '
        f"You sent {echo}.",
        "path": "/body/expiresAt",
    }


@pytest.mark.parametrize(
    ("body", "echo"),
    [([{"description": "d"}], '[{"description":"d"}]'), (None, "null"), ("str", '"str"')],
)
def test_non_object_body_is_a_type_error(client, body, echo):
    response = client.post(
        TOKENS,
        headers={**auth(ADMIN_PAT), "Content-Type": "application/json"},
        content=json.dumps(body),
    )
    assert schema_error(response) == {
        "message": f"The `/body` property must be object. You sent {echo}.",
        "path": "/body",
    }


def test_empty_description_is_a_service_error(client):
    message = service_error(create(client, ""), 400, "BadDataError")
    assert message == (
        "Request validation failed: your request body or params contain invalid "
        "data: PAT description cannot be empty."
    )
    assert create(client, "").json()["details"] == [{"message": "PAT description cannot be empty."}]


@pytest.mark.parametrize(
    "expires",
    [
        "2020-01-01T00:00:00Z",
        "earlier-today",
        "0000-01-01T00:00:00Z",
        # Real Unleash skips its past check for these (JavaScript cannot parse them) and stores an
        # already expired PAT; the mock always checks.
        "2020-12-31T23:59:60Z",
        "2020-01-01T00:00:00+02",
    ],
)
def test_past_expiry_is_a_service_error(client, expires):
    if expires == "earlier-today":
        expires = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = create(client, "p", expires=expires)
    assert service_error(response, 400, "BadDataError").endswith(
        "invalid data: The expiry date should be in future."
    )


def test_duplicate_description_for_the_same_user_is_409(client):
    assert create(client, "dup").status_code == 201
    response = create(client, "dup")
    assert service_error(response, 409, "NameExistsError") == "PAT description already exists."


def test_an_expiry_postgresql_cannot_store_is_refused_after_every_other_rule(client):
    # Ajv passes it and Unleash's service checks the body first (seen on 8.2.0); only its insert
    # fails (a 500 leaking SQL there, the format's 400 here).
    unstorable = "2031-01-01T12:00:00+16:00"
    empty = service_error(create(client, "", expires=unstorable), 400, "BadDataError")
    assert empty.endswith("PAT description cannot be empty.")
    assert create(client, "taken").status_code == 201
    taken = create(client, "taken", expires=unstorable)
    assert service_error(taken, 409, "NameExistsError") == "PAT description already exists."
    assert schema_error(create(client, "free", expires=unstorable))["path"] == "/body/expiresAt"


def test_same_description_for_another_user_is_fine(client):
    assert create(client, "default", token=ALICE_PAT).status_code == 201


def test_eleventh_pat_is_denied_and_uses_no_id(client):
    ids = [create(client, f"n{i}").json()["id"] for i in range(9)]  # + the fixture's PAT = 10
    response = create(client, "n10")
    assert service_error(response, 403, "OperationDeniedError") == (
        "Too many PATs (10) already exist for this user."
    )
    assert create(client, "other", token=ALICE_PAT).json()["id"] == ids[-1] + 1


def test_limit_is_checked_before_duplicates(client):
    for i in range(9):
        create(client, f"n{i}")
    assert create(client, "n0").status_code == 403


def test_ids_are_one_global_sequence_never_reused(client):
    first = create(client, "a").json()["id"]
    second = create(client, "b", token=ALICE_PAT).json()["id"]
    client.delete(f"{TOKENS}/{second}", headers=auth(ALICE_PAT))
    assert create(client, "c").status_code == 201
    create(client, "a")  # a rejected create uses up no id
    assert [p["id"] for p in listed(client)] == [1, first, second + 1]


def test_nul_in_description_is_a_400_not_a_500(client):
    response = create(client, "a\x00b")
    assert service_error(response, 400, "BadDataError")
    assert [p["id"] for p in listed(client)] == [1]


def test_unicode_descriptions_round_trip(client):
    for text in ["émoji 🎉", "日本語", " padded ", "\u2028"]:
        response = create(client, text)
        assert response.status_code == 201
        assert response.json()["description"] == text


def test_two_hundred_concurrent_creates_give_exactly_ten():
    fresh = {"users": [{"id": 7, "username": "fresh", "password": "pw"}]}
    app = create_app(fixtures.parse(fresh))

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            login = await client.post(
                "/auth/simple/login", json={"username": "fresh", "password": "pw"}
            )
            assert login.status_code == 200
            return await asyncio.gather(
                *(
                    client.post(
                        TOKENS,
                        json={"description": f"c{i % 20}", "expiresAt": "2099-01-01T00:00:00Z"},
                    )
                    for i in range(200)
                )
            )

    responses = asyncio.run(run())
    statuses = [r.status_code for r in responses]
    # Descriptions repeat, but the limit is checked first, so the 190 refusals are all 403.
    assert (statuses.count(201), statuses.count(403)) == (10, 190)
    ids = [r.json()["id"] for r in responses if r.status_code == 201]
    assert len(set(ids)) == 10
    assert len(app.state.pats.list(7)) == 10


@pytest.mark.parametrize(
    ("content_type", "answers"),
    [  # the status where only the media type counts, and where the whole header must parse
        ("application/json ;charset=utf-8", (201, 201)),
        ('application/json; charset="utf-8"; x=y', (201, 201)),
        ("application/json;", (400, 415)),
        ("application/json; foo", (400, 415)),
        ("application/json\t;charset=utf-8", (400, 415)),
        ("application/json;charset=", (400, 415)),
        ("application/json , text/plain", (415, 415)),
    ],
)
@pytest.mark.parametrize("version", list(versions.profiles()))
def test_content_type_is_read_as_each_release_reads_it(version, content_type, answers):
    # Type-is 2 reads the media type alone (express.json then leaves a body it cannot read, so
    # `description` is missing); type-is 1 wants the whole header to parse.
    status = answers[versions.resolve(version).strict_content_type_check]
    client = TestClient(create_app(options=Options(unleash_version=version)))
    response = client.post(
        TOKENS,
        headers={**auth(ADMIN_PAT), "Content-Type": content_type},
        content=b'{"description": "ct", "expiresAt": "2099-01-01T00:00:00Z"}',
    )
    assert response.status_code == status, response.text
