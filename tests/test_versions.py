"""The mock answers as Unleash 5.12.8, 6.10.1, 7.6.5 or 8.2.0: each version's behaviours end to
end, in process (what real servers of each version do: issue 12's report, rules R1 to R27)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app, fixtures, versions
from mock_server.versions.contracts import merge_patch
from tests.conftest import (
    ADMIN_API_TOKEN,
    ADMIN_PAT,
    ALICE_PAT,
    TOKENS,
    auth,
    create,
    listed,
)

ALL = sorted(versions.PROFILES)
BEFORE_8_2 = [v for v in ALL if v != "8.2.0"]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SECURE_SECRET = re.compile(r"^user:v2_([A-Za-z0-9_-]{22})_([A-Za-z0-9_-]{43})$")
LOGIN = {"username": "admin", "password": "unleash4all"}


def client_as(version: str, **options: object) -> TestClient:
    return TestClient(create_app(options=Options(unleash_version=version, **options)))  # type: ignore[arg-type]


def without_id(body: dict) -> dict:
    """The body with its error id checked (a UUID v4) and taken out."""
    assert UUID.match(body.pop("id")), body
    return body


@pytest.mark.parametrize(("asked", "version"), [("5", "5.12.8"), ("6", "6.10.1"), ("7", "7.6.5")])
def test_a_major_answers_as_its_newest_profile(asked, version):
    assert versions.resolve(asked).version == version


def test_an_unknown_version_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"'9'.*5\.12\.8, 6\.10\.1, 7\.6\.5, 8\.2\.0"):
        create_app(options=Options(unleash_version="9"))


@pytest.mark.parametrize("version", ALL)
def test_ui_config_names_the_version_as_the_real_one_does_for_a_pat(version):
    with client_as(version) as client:
        body = client.get("/api/admin/ui-config", headers=auth(ADMIN_PAT)).json()
        assert list(body) == list(versions.PROFILES[version].ui_config_keys)
        assert body["version"] == version
        info = body["versionInfo"]
        assert UUID.match(info.pop("instanceId"))
        assert info == {
            "current": {"oss": version, "enterprise": ""},
            "latest": {},
            "isLatest": True,
        }
        assert client.get("/api/admin/ui-config").status_code == 401


@pytest.mark.parametrize("version", ALL)
def test_openapi_json_serves_the_versions_contract(version):
    with client_as(version) as client:
        spec = client.get("/docs/openapi.json").json()
    assert spec["info"]["version"] == version
    pat = spec["components"]["schemas"]["patSchema"]["properties"]
    assert ("expiryWarning" in pat) == (version == "8.2.0")
    delete = spec["paths"]["/api/admin/user/tokens/{id}"]["delete"]
    assert delete["parameters"][0]["schema"]["type"] == (
        "string" if version == "5.12.8" else "integer"
    )
    assert ("429" in delete["responses"]) == (version == "8.2.0")


@pytest.mark.parametrize("version", ALL)
def test_rate_limit_headers_only_where_the_version_limits_pats(version):
    with client_as(version) as client:
        headers = client.get(TOKENS, headers=auth(ADMIN_PAT)).headers
    assert ("ratelimit-policy" in headers) == (version == "8.2.0")


NOT_FOUND = {
    "7.6.5": {
        "name": "NotFoundError",
        "message": "No PAT found.",
        "details": [{"message": "No PAT found."}],
    },
    "6.10.1": {
        "name": "NotFoundError",
        "message": "No PAT found.",
        "details": [{"message": "No PAT found."}],
    },
    "5.12.8": {
        "name": "NotFoundError",
        "message": "No PAT found.",
        "details": [{"message": "No PAT found.", "description": "No PAT found."}],
    },
}


@pytest.mark.parametrize("version", ALL)
def test_delete_of_an_id_no_pat_has(version):
    with client_as(version) as client:
        own = create(client, "gone").json()["id"]
        assert client.delete(f"{TOKENS}/{own}", headers=auth(ADMIN_PAT)).status_code == 200
        for missing in (999999, 0, -1, own):
            response = client.delete(f"{TOKENS}/{missing}", headers=auth(ADMIN_PAT))
            if version == "8.2.0":
                assert (response.status_code, response.content) == (200, b"")
                continue
            assert response.status_code == 404
            body = response.json()
            if version != "7.6.5":  # 5.x and 6.x put an id on every error
                body = without_id(body)
            assert body == NOT_FOUND[version]


@pytest.mark.parametrize("version", ALL)
def test_another_users_pat_is_answered_200_and_kept(version):
    with client_as(version) as client:
        alices = listed(client, ALICE_PAT)[0]["id"]
        assert client.delete(f"{TOKENS}/{alices}", headers=auth(ADMIN_PAT)).status_code == 200
        assert [p["id"] for p in listed(client, ALICE_PAT)] == [alices]


@pytest.mark.parametrize("version", ALL)
def test_admin_token_delete_is_404_for_a_missing_id_before_8_2_and_403_otherwise(version):
    with client_as(version) as client:
        missing = client.delete(f"{TOKENS}/999999", headers=auth(ADMIN_API_TOKEN))
        assert missing.status_code == (403 if version == "8.2.0" else 404)
        # Real Unleash answers 500 with leaked SQL for an existing id; the mock the 403 meant.
        existing = client.delete(f"{TOKENS}/1", headers=auth(ADMIN_API_TOKEN))
        assert existing.json()["name"] == "ForbiddenError"
        assert len(listed(client)) == 1


@pytest.mark.parametrize(
    ("version", "has_id"), [("5.12.8", True), ("6.10.1", True), ("7.6.5", False), ("8.2.0", False)]
)
def test_service_errors_carry_an_id_on_5_and_6_only(version, has_id):
    with client_as(version) as client:
        create(client, "twice")
        duplicate = client.post(
            TOKENS,
            headers=auth(ADMIN_PAT),
            json={"description": "twice", "expiresAt": "2099-01-01T00:00:00Z"},
        ).json()
        forbidden = client.get(TOKENS, headers=auth(ADMIN_API_TOKEN)).json()
        mismatch = client.post("/auth/simple/login", json={**LOGIN, "password": "wrong"}).json()
    for body in (duplicate, forbidden, mismatch):
        assert ("id" in body) == has_id, body
        assert ("description" in body["details"][0]) == (version == "5.12.8")


@pytest.mark.parametrize(
    "raw", ["abc", "1.5", "NaN", "Infinity", "1e3", "0x10", "%20", "7.0", "2147483648"]
)
def test_5_12_checks_the_id_as_id_number_middleware_and_postgresql_would(raw):
    with client_as("5.12.8") as client:
        for token in (ADMIN_PAT, ADMIN_API_TOKEN):
            response = client.delete(f"{TOKENS}/{raw}", headers=auth(token))
            assert response.status_code == 400
            assert without_id(response.json()) == {
                "name": "BadDataError",
                "message": "Request validation failed: your request body or params contain "
                "invalid data: ID should be an integer",
                "details": [
                    {"message": "ID should be an integer", "description": "ID should be an integer"}
                ],
            }


@pytest.mark.parametrize("version", ALL)
def test_a_long_id_that_is_no_number_is_answered_at_once(version):
    with client_as(version) as client:
        started = time.perf_counter()
        response = client.delete(f"{TOKENS}/{'1' * 16_000}x", headers=auth(ADMIN_PAT))
        assert response.status_code == 400
        assert time.perf_counter() - started < 1  # was 20 s: Number()'s regex was quadratic


def test_5_12_reads_an_int4_id_with_spaces_sign_and_leading_zeros():
    with client_as("5.12.8") as client:
        own = create(client, "spelled").json()["id"]
        assert client.delete(f"{TOKENS}/+000{own}", headers=auth(ADMIN_PAT)).status_code == 200
        assert client.delete(f"{TOKENS}/-0", headers=auth(ADMIN_PAT)).status_code == 404


@pytest.mark.parametrize("version", ["6.10.1", "7.6.5"])
def test_6_and_7_check_the_id_against_the_contract(version):
    with client_as(version) as client:
        detail = client.delete(f"{TOKENS}/abc", headers=auth(ADMIN_PAT)).json()["details"][0]
    assert detail == {
        "message": 'The `/params/id` property must be integer. You sent "abc".',
        "path": "/params/id",
    }


def test_5_12_schema_errors_name_the_property_in_its_key_order():
    with client_as("5.12.8") as client:

        def detail(body: object) -> dict:
            headers = {**auth(ADMIN_PAT), "Content-Type": "application/json"}
            response = client.post(TOKENS, headers=headers, content=json.dumps(body))
            assert response.status_code == 400
            return response.json()["details"][0]

        missing = "The `description` property is required. It was not present on the data you sent."
        assert list(detail({}).items()) == [
            ("path", "description"),
            ("description", missing),
            ("message", missing),
        ]
        wrong = 'The `description` property must be string. You sent {"a":1}.'
        assert list(detail({"description": {"a": 1}, "expiresAt": "x"}).items()) == [
            ("description", wrong),
            ("message", wrong),
            ("path", "description"),
        ]
        body = "The `` property must be object. You sent undefined."
        for not_an_object in ([], None, "str", 5):
            assert detail(not_an_object) == {"description": body, "message": body, "path": ""}


@pytest.mark.parametrize("version", ALL)
def test_a_session_cookie_beats_an_admin_token_on_5_only(version):
    with client_as(version) as client:
        cookie = client.post("/auth/simple/login", json=LOGIN).headers["set-cookie"].split(";")[0]
        both = {"Cookie": cookie, **auth(ADMIN_API_TOKEN)}
        client.cookies.clear()
        response = client.get(TOKENS, headers=both)
    assert response.status_code == (200 if version == "5.12.8" else 403)


@pytest.mark.parametrize(("version", "dropped"), [("5.12.8", 0), ("6.10.1", 2), ("8.2.0", 2)])
def test_sessions_per_user_are_capped_at_5_except_on_5(version, dropped):
    with client_as(version) as client:
        cookies = []
        for _ in range(7):
            cookies.append(
                client.post("/auth/simple/login", json=LOGIN).headers["set-cookie"].split(";")[0]
            )
            client.cookies.clear()
        statuses = [client.get(TOKENS, headers={"Cookie": c}).status_code for c in cookies]
    assert statuses == [401] * dropped + [200] * (7 - dropped)


@pytest.mark.parametrize("version", ALL)
def test_set_cookie_is_sent_again_on_a_sessions_first_use_on_8_2_only(version):
    with client_as(version) as client:
        cookie = client.post("/auth/simple/login", json=LOGIN).headers["set-cookie"].split(";")[0]
        client.cookies.clear()
        first = client.get("/api/admin/user", headers={"Cookie": cookie})
    assert ("set-cookie" in first.headers) == (version == "8.2.0")


SESSION_KEYS = {
    "5.12.8": ["scimId"],
    "6.10.1": ["scimId", "deletedSessions", "activeSessions"],
    "7.6.5": list(versions.profile.SESSION_USER_KEYS_7),
    "8.2.0": list(versions.profile.SESSION_USER_KEYS_7),
}


@pytest.mark.parametrize("version", ALL)
def test_user_objects_as_each_version_writes_them(version):
    is_api = version in ("5.12.8", "6.10.1")
    with client_as(version) as client:
        login = list(client.post("/auth/simple/login", json=LOGIN).json())
        client.cookies.clear()
        by_pat = list(client.get("/api/admin/user", headers=auth(ADMIN_PAT)).json()["user"])
        by_token = list(client.get("/api/admin/user", headers=auth(ADMIN_API_TOKEN)).json()["user"])
    assert (login[0] == "isAPI") == is_api
    assert login[login.index("createdAt") + 1 :] == SESSION_KEYS[version]
    assert (by_pat[0] == "isAPI") == is_api and by_pat[-1] == "createdAt"
    assert (by_token[0] == "isAPI") == is_api


@pytest.mark.parametrize("version", ALL)
def test_expiry_warnings_exist_from_8_1(version):
    clock = Clock()
    clock.freeze(datetime(2031, 3, 1, 12, tzinfo=UTC))
    options = Options(unleash_version=version, token_expiry_notifications=True)
    with TestClient(create_app(options=options, clock=clock)) as client:
        create(client, "soon", expires=(clock.now() + timedelta(days=10)).isoformat())
        clock.advance(8 * 24 * 3600)
        warnings = {p["description"]: p.get("expiryWarning") for p in listed(client)}
    assert warnings == {"default": None, "soon": "expires-soon" if version == "8.2.0" else None}


def test_secure_account_tokens_make_v2_secrets_and_both_formats_authenticate():
    with client_as("8.2.0", secure_account_tokens=True) as client:
        created = create(client, "secure").json()
        assert SECURE_SECRET.match(created["secret"]) and len(created["secret"]) == 74
        assert list(created) == [
            "id",
            "description",
            "expiresAt",
            "userId",
            "createdAt",
            "seenAt",
            "secret",
        ]
        for token in (created["secret"], "Bearer " + created["secret"], ADMIN_PAT):
            assert client.get(TOKENS, headers=auth(token)).status_code == 200
        assert client.get(TOKENS, headers=auth(created["secret"][:-1])).status_code == 401


@pytest.mark.parametrize("version", BEFORE_8_2)
def test_secure_account_tokens_are_refused_where_the_version_has_none(version):
    with pytest.raises(ValueError, match="no secure account tokens"):
        create_app(options=Options(unleash_version=version, secure_account_tokens=True))


def test_fixtures_accept_secure_account_token_secrets():
    secret = "user:v2_W34yz08Iy_n21Xy1k6N4UA_m5X_emYENsqJuIFjJohhUst2m0c4w2OJaxqwBlb4dNI"
    seeded = fixtures.parse(
        {
            "users": [
                {
                    "id": 7,
                    "username": "v2",
                    "pats": [
                        {"description": "v2", "secret": secret, "expiresAt": "2099-01-01T00:00:00Z"}
                    ],
                }
            ]
        }
    )
    with TestClient(create_app(seeded, options=Options(unleash_version="7.6.5"))) as client:
        assert client.get(TOKENS, headers=auth(secret)).status_code == 200


def test_the_contract_overlays_are_merge_patches():
    assert merge_patch({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": None, "e": 3}, "d": [2]}) == {
        "a": {"c": 2, "e": 3},
        "d": [2],
    }


def test_serve_refuses_an_unknown_version_and_an_option_the_version_lacks():
    serve = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "1"]
    unknown = subprocess.run(
        [*serve, "--unleash-version", "4"], capture_output=True, text=True, timeout=30
    )
    assert unknown.returncode == 2 and "unknown Unleash version '4'" in unknown.stderr
    lacking = subprocess.run(
        [*serve, "--unleash-version", "7", "--secure-account-tokens"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (
        lacking.returncode == 2 and "Unleash 7.6.5 has no secure account tokens" in lacking.stderr
    )


def test_the_pytest_plugin_answers_as_the_ini_version(pytester):
    pytester.makeini("[pytest]\nunleash_pat_version = 6\n")
    pytester.makepyfile(
        """
        import httpx

        def test_version(unleash):
            config = httpx.get(unleash.url + "/api/admin/ui-config",
                               headers={"Authorization": unleash.token}).json()
            assert config["version"] == "6.10.1"
            assert unleash.state.profile.version == "6.10.1"
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.parametrize("version", ALL)
def test_every_versions_contract_is_valid_openapi_naming_its_version(version):
    profile = versions.PROFILES[version]
    for path in profile.contract_overlays:
        assert isinstance(yaml.safe_load(path.read_text()), dict)
    validate(profile.spec())
    assert profile.spec()["info"]["version"] == version


README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_START, TABLE_END = "<!-- versions-table:start -->", "<!-- versions-table:end -->"
ROWS: list[tuple[str, Callable[[versions.VersionProfile], str]]] = [
    ("`RateLimit-*` headers, 429 on PAT requests", lambda p: _yes(p.pat_rate_limit)),
    (
        "DELETE of an id no PAT has",
        lambda p: (
            "200, empty"
            if p.unknown_delete is versions.UnknownDelete.OK
            else '404 "No PAT found." (admin token too)'
        ),
    ),
    (
        "DELETE of a non-integer id",
        lambda p: (
            "schema 400 (`/params/id`)"
            if p.id_check is versions.IdCheck.SCHEMA
            else 'service 400 "ID should be an integer"'
        ),
    ),
    (
        "`id` on error bodies",
        lambda p: (
            "every error" if p.errors.every_error_has_id else "401, 404 route, 415, schema 400"
        ),
    ),
    ("`description` beside each error detail", lambda p: _yes(p.errors.detail_descriptions)),
    (
        "schema errors name",
        lambda p: (
            "the property (`description`)"
            if p.errors.property_paths
            else "a pointer (`/body/description`)"
        ),
    ),
    (
        "session cookie and admin token together",
        lambda p: (
            "the cookie's user acts" if p.cookie_beats_admin_token else "the admin token acts"
        ),
    ),
    ("sessions per user", lambda p: str(p.max_sessions_per_user or "unlimited")),
    ("Set-Cookie again on a session's first use", lambda p: _yes(p.resends_session_cookie)),
    ("`isAPI` on user objects", lambda p: _yes(p.user_is_api)),
    (
        "`application/json;` (a Content-Type whose parameters do not parse)",
        lambda p: (
            "415 `ContentTypeError`"
            if p.strict_content_type_check
            else "400: the body is not read (`description` is required)"
        ),
    ),
    (
        "a PAT on `/api/client`, `/api/frontend`",
        lambda p: (
            '403 "invalid token: expected a different token type…"'
            if p.api_token_routes_refuse_user_tokens
            else "not mocked (real: the client API answers, the front-end API 401); mock: 404"
        ),
    ),
    ("a session's user keys after `createdAt`", lambda p: ", ".join(p.session_user_keys)),
    ("`expiryWarning` (`--token-expiry-notifications`)", lambda p: _yes(p.expiry_warnings)),
    ("`user:v2_…` secrets (`--secure-account-tokens`)", lambda p: _yes(p.secure_account_tokens)),
    (
        "contract (`/docs/openapi.json`)",
        lambda p: " + ".join(["openapi.yaml", *(o.name for o in p.contract_overlays)]),
    ),
]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def versions_table() -> str:
    profiles = sorted(
        versions.PROFILES.values(), key=lambda p: tuple(int(n) for n in p.version.split("."))
    )
    lines = [
        "| | " + " | ".join(p.version for p in profiles) + " |",
        "|---" * (len(profiles) + 1) + "|",
    ]
    lines += [
        f"| {label} | " + " | ".join(cell(p) for p in profiles) + " |" for label, cell in ROWS
    ]
    return "\n".join(lines)


def test_the_readme_table_of_versions_is_rendered_from_the_profiles():
    text = README.read_text(encoding="utf-8")
    table = text.split(TABLE_START)[1].split(TABLE_END)[0].strip()
    assert table == versions_table(), (
        "README's table is stale; replace it with:\n" + versions_table()
    )
