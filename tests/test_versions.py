"""The mock answers as each release of releases/: each fact of a release's profile, end to end,
in process. The tests ask the profile what to expect; none compares version strings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app, fixtures, versions
from mock_server.versions import IdCheck, Message, UnknownDelete, VersionProfile
from tests.conftest import (
    ADMIN_API_TOKEN,
    ADMIN_PAT,
    ALICE_PAT,
    TOKENS,
    auth,
    create,
    listed,
)

PROFILES = versions.profiles()
ALL = list(PROFILES)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SECURE_SECRET = re.compile(r"^user:v2_([A-Za-z0-9_-]{22})_([A-Za-z0-9_-]{43})$")
LOGIN = {"username": "admin", "password": "unleash4all"}


def client_as(version: str, **options: object) -> TestClient:
    return TestClient(create_app(options=Options(unleash_version=version, **options)))  # type: ignore[arg-type]


def without_id(body: dict) -> dict:
    """The body with its error id checked (a UUID v4) and taken out."""
    assert UUID.match(body.pop("id")), body
    return body


def _key(profile: VersionProfile) -> tuple[int, ...]:
    return tuple(int(n) for n in profile.version.split("."))


def where(condition: Callable[[VersionProfile], bool]) -> list[str]:
    """The releases whose profile meets `condition`."""
    return [v for v, p in PROFILES.items() if condition(p)]


@pytest.mark.parametrize("major", sorted({v.split(".")[0] for v in ALL}))
def test_a_major_answers_as_its_newest_release(major):
    newest = max((p for v, p in PROFILES.items() if v.split(".")[0] == major), key=_key)
    assert versions.resolve(major) is newest


def test_a_major_with_no_release_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=re.escape(f"Unleash 9 is known (known: {', '.join(ALL)}")):
        create_app(options=Options(unleash_version="9"))


@pytest.mark.parametrize("version", ["4", "4.19.5", "3", "5.0.0"])
def test_a_release_older_than_the_oldest_supported_is_refused(version):
    with pytest.raises(ValueError, match=f"older than the oldest supported release, {ALL[0]}"):
        create_app(options=Options(unleash_version=version))


def test_a_release_never_measured_answers_as_the_nearest_measured_one_before_it():
    between = [(a, b) for a, b in pairwise(ALL) if a.split(".")[0] == b.split(".")[0]]
    older, newer = next(
        (a, b) for a, b in between if _key(PROFILES[b])[1] > _key(PROFILES[a])[1] + 1
    )
    major, minor, _ = _key(PROFILES[older])
    unmeasured = f"{major}.{minor + 1}.3"
    assert versions.resolve(older) is PROFILES[older] and unmeasured not in PROFILES
    state = create_app(options=Options(unleash_version=unmeasured)).state
    assert state.profile is PROFILES[older]
    assert state.version_notice == (
        f"Unleash {unmeasured} was never measured: taken as {older}, the nearest measured "
        "release before it"
    )
    assert create_app(options=Options(unleash_version=newer)).state.version_notice is None


def test_a_release_before_its_majors_oldest_measured_answers_as_that_oldest():
    oldest_of = {}
    for version in ALL:
        oldest_of.setdefault(version.split(".")[0], version)
    major, oldest = next((m, v) for m, v in oldest_of.items() if v != ALL[0])
    profile, notice = versions.choice(f"{major}.0.0")
    assert profile is PROFILES[oldest] and "after it" in (notice or "")


@pytest.mark.parametrize("version", ["eight", "8.2.0.1", "", "8..2"])
def test_a_version_that_is_no_release_number_is_refused(version):
    with pytest.raises(versions.UnsupportedVersion, match="is not an Unleash release"):
        versions.choice(version)


@pytest.mark.parametrize("version", ALL)
def test_ui_config_names_the_version_as_the_real_one_does_for_a_pat(version):
    with client_as(version) as client:
        body = client.get("/api/admin/ui-config", headers=auth(ADMIN_PAT)).json()
        assert list(body) == list(PROFILES[version].ui_config())
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
    profile = PROFILES[version]
    with client_as(version) as client:
        spec = client.get("/docs/openapi.json").json()
    assert spec["info"]["version"] == version
    pat = spec["components"]["schemas"]["patSchema"]["properties"]
    assert ("expiryWarning" in pat) == profile.expiry_warnings
    delete = spec["paths"]["/api/admin/user/tokens/{id}"]["delete"]
    assert delete["parameters"][0]["schema"]["type"] == (
        "integer" if profile.id_check is IdCheck.SCHEMA else "string"
    )
    assert ("429" in delete["responses"]) == profile.pat_rate_limit


@pytest.mark.parametrize("version", ALL)
def test_rate_limit_headers_only_where_the_version_limits_pats(version):
    with client_as(version) as client:
        headers = client.get(TOKENS, headers=auth(ADMIN_PAT)).headers
    assert ("ratelimit-policy" in headers) == PROFILES[version].pat_rate_limit


def not_found(profile: VersionProfile) -> dict:
    """ "No PAT found." as the release words and writes it (its id checked and taken out)."""
    text = profile.message(Message.UNKNOWN_PAT)
    detail = {"message": text}
    if profile.errors.detail_descriptions:
        detail["description"] = text
    return {"name": "NotFoundError", "message": text, "details": [detail]}


@pytest.mark.parametrize("version", ALL)
def test_delete_of_an_id_no_pat_has(version):
    profile = PROFILES[version]
    with client_as(version) as client:
        own = create(client, "gone").json()["id"]
        assert client.delete(f"{TOKENS}/{own}", headers=auth(ADMIN_PAT)).status_code == 200
        for missing in (999999, 0, -1, own):
            response = client.delete(f"{TOKENS}/{missing}", headers=auth(ADMIN_PAT))
            if profile.unknown_delete is UnknownDelete.OK:
                assert (response.status_code, response.content) == (200, b"")
                continue
            assert response.status_code == 404
            body = response.json()
            if profile.errors.every_error_has_id:
                body = without_id(body)
            assert body == not_found(profile)


@pytest.mark.parametrize("version", ALL)
def test_another_users_pat_is_answered_200_and_kept(version):
    with client_as(version) as client:
        alices = listed(client, ALICE_PAT)[0]["id"]
        assert client.delete(f"{TOKENS}/{alices}", headers=auth(ADMIN_PAT)).status_code == 200
        assert [p["id"] for p in listed(client, ALICE_PAT)] == [alices]


@pytest.mark.parametrize("version", ALL)
def test_admin_token_delete_of_a_missing_id_is_404_where_the_pat_is_looked_up_first(version):
    looked_up_first = PROFILES[version].unknown_delete is UnknownDelete.NOT_FOUND
    with client_as(version) as client:
        missing = client.delete(f"{TOKENS}/999999", headers=auth(ADMIN_API_TOKEN))
        assert missing.status_code == (404 if looked_up_first else 403)
        # Real Unleash answers 500 with leaked SQL for an existing id; the mock the 403 meant.
        existing = client.delete(f"{TOKENS}/1", headers=auth(ADMIN_API_TOKEN))
        assert existing.json()["name"] == "ForbiddenError"
        assert len(listed(client)) == 1


@pytest.mark.parametrize("version", ALL)
def test_service_errors_carry_an_id_where_every_error_does(version):
    style = PROFILES[version].errors
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
        assert ("id" in body) == style.every_error_has_id, body
        assert ("description" in body["details"][0]) == style.detail_descriptions


# The mock answers an id no middleware checks (IdCheck.NONE, a 500 leaking SQL in Unleash) as
# id-number-middleware does.
NUMBER_MIDDLEWARE = where(lambda p: p.id_check is not IdCheck.SCHEMA)


@pytest.mark.parametrize("version", NUMBER_MIDDLEWARE)
@pytest.mark.parametrize(
    "raw", ["abc", "1.5", "NaN", "Infinity", "1e3", "0x10", "%20", "7.0", "2147483648"]
)
def test_id_number_middleware_checks_the_id_as_it_and_postgresql_would(version, raw):
    profile = PROFILES[version]
    text = profile.message(Message.NOT_AN_INTEGER)
    detail = {"message": text} | (
        {"description": text} if profile.errors.detail_descriptions else {}
    )
    with client_as(version) as client:
        for token in (ADMIN_PAT, ADMIN_API_TOKEN):
            response = client.delete(f"{TOKENS}/{raw}", headers=auth(token))
            assert response.status_code == 400
            assert without_id(response.json()) == {
                "name": "BadDataError",
                "message": profile.message(Message.SERVICE_INVALID, text=text),
                "details": [detail],
            }


@pytest.mark.parametrize("version", ALL)
def test_a_long_id_that_is_no_number_is_answered_at_once(version):
    with client_as(version) as client:
        started = time.perf_counter()
        response = client.delete(f"{TOKENS}/{'1' * 16_000}x", headers=auth(ADMIN_PAT))
        assert response.status_code == 400
        assert time.perf_counter() - started < 1  # was 20 s: Number()'s regex was quadratic


@pytest.mark.parametrize("version", NUMBER_MIDDLEWARE)
def test_id_number_middleware_reads_an_int4_id_with_spaces_sign_and_leading_zeros(version):
    with client_as(version) as client:
        own = create(client, "spelled").json()["id"]
        assert client.delete(f"{TOKENS}/+000{own}", headers=auth(ADMIN_PAT)).status_code == 200
        assert client.delete(f"{TOKENS}/-0", headers=auth(ADMIN_PAT)).status_code == 404


@pytest.mark.parametrize(
    "version", where(lambda p: p.id_check is IdCheck.SCHEMA and not p.errors.property_paths)
)
def test_the_id_is_checked_against_the_contract_and_named_by_pointer(version):
    with client_as(version) as client:
        detail = client.delete(f"{TOKENS}/abc", headers=auth(ADMIN_PAT)).json()["details"][0]
    assert detail == {
        "message": 'The `/params/id` property must be integer. You sent "abc".',
        "path": "/params/id",
    }


def requires_description(profile: VersionProfile) -> bool:
    """Whether the release's create body schema requires a description (5.8 and older: no)."""
    spec = profile.spec()
    body = spec["paths"]["/api/admin/user/tokens"]["post"]["requestBody"]
    name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    return "description" in spec["components"]["schemas"][name].get("required", [])


def invalid(profile: VersionProfile, name: str, predicate: str, sent: str) -> str:
    if profile.ajv == 6:
        predicate = predicate.replace("must", "should", 1)
    return profile.message(Message.PROPERTY_INVALID, name=name, predicate=predicate, sent=sent)


@pytest.mark.parametrize(
    "version", where(lambda p: p.errors.property_paths and requires_description(p))
)
def test_schema_errors_name_the_property_in_the_key_order_of_5x_validator(version):
    profile = PROFILES[version]
    with client_as(version) as client:

        def detail(body: object) -> dict:
            headers = {**auth(ADMIN_PAT), "Content-Type": "application/json"}
            response = client.post(TOKENS, headers=headers, content=json.dumps(body))
            assert response.status_code == 400
            return response.json()["details"][0]

        missing = profile.message(Message.PROPERTY_REQUIRED, name="description")
        assert list(detail({}).items()) == [
            ("path", "description"),
            ("description", missing),
            ("message", missing),
        ]
        wrong = invalid(profile, "description", "must be string", '{"a":1}')
        assert list(detail({"description": {"a": 1}, "expiresAt": "x"}).items()) == [
            ("description", wrong),
            ("message", wrong),
            ("path", "description"),
        ]
        body = invalid(profile, "", "must be object", "undefined")
        for not_an_object in ([], None, "str", 5):
            assert detail(not_an_object) == {"description": body, "message": body, "path": ""}


@pytest.mark.parametrize("version", ALL)
def test_a_session_cookie_beats_an_admin_token_where_the_release_says(version):
    with client_as(version) as client:
        cookie = client.post("/auth/simple/login", json=LOGIN).headers["set-cookie"].split(";")[0]
        both = {"Cookie": cookie, **auth(ADMIN_API_TOKEN)}
        client.cookies.clear()
        response = client.get(TOKENS, headers=both)
    assert response.status_code == (200 if PROFILES[version].cookie_beats_admin_token else 403)


@pytest.mark.parametrize("version", ALL)
def test_sessions_per_user_are_capped_where_the_release_caps_them(version):
    cap = PROFILES[version].max_sessions_per_user
    dropped = 0 if cap is None else 7 - cap
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
def test_set_cookie_is_sent_again_on_a_sessions_first_use_where_the_release_does(version):
    with client_as(version) as client:
        cookie = client.post("/auth/simple/login", json=LOGIN).headers["set-cookie"].split(";")[0]
        client.cookies.clear()
        first = client.get("/api/admin/user", headers={"Cookie": cookie})
    assert ("set-cookie" in first.headers) == PROFILES[version].resends_session_cookie


@pytest.mark.parametrize("version", ALL)
def test_user_objects_as_each_release_writes_them(version):
    is_api = PROFILES[version].user_is_api
    with client_as(version) as client:
        login = list(client.post("/auth/simple/login", json=LOGIN).json())
        client.cookies.clear()
        by_pat = list(client.get("/api/admin/user", headers=auth(ADMIN_PAT)).json()["user"])
        by_token = list(client.get("/api/admin/user", headers=auth(ADMIN_API_TOKEN)).json()["user"])
    assert (login[0] == "isAPI") == is_api
    assert login[login.index("createdAt") + 1 :] == list(PROFILES[version].session_user_keys)
    assert (by_pat[0] == "isAPI") == is_api and by_pat[-1] == "createdAt"
    assert (by_token[0] == "isAPI") == is_api


@pytest.mark.parametrize("version", ALL)
def test_expiry_warnings_exist_where_the_release_has_the_flag(version):
    clock = Clock()
    clock.freeze(datetime(2031, 3, 1, 12, tzinfo=UTC))
    options = Options(unleash_version=version, token_expiry_notifications=True)
    with TestClient(create_app(options=options, clock=clock)) as client:
        create(client, "soon", expires=(clock.now() + timedelta(days=10)).isoformat())
        clock.advance(8 * 24 * 3600)
        warnings = {p["description"]: p.get("expiryWarning") for p in listed(client)}
    soon = "expires-soon" if PROFILES[version].expiry_warnings else None
    assert warnings == {"default": None, "soon": soon}


@pytest.mark.parametrize("version", where(lambda p: p.secure_account_tokens))
def test_secure_account_tokens_make_v2_secrets_and_both_formats_authenticate(version):
    with client_as(version, secure_account_tokens=True) as client:
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


@pytest.mark.parametrize("version", where(lambda p: not p.secure_account_tokens))
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
    without = where(lambda p: not p.secure_account_tokens)
    for version in without:
        with TestClient(create_app(seeded, options=Options(unleash_version=version))) as client:
            assert client.get(TOKENS, headers=auth(secret)).status_code == 200


def test_serve_refuses_an_unknown_version_and_an_option_the_version_lacks():
    serve = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0"]
    unknown = subprocess.run(
        [*serve, "--unleash-version", "99"], capture_output=True, text=True, timeout=30
    )
    assert unknown.returncode == 2 and "no release of Unleash 99 is known" in unknown.stderr
    lacking = where(lambda p: not p.secure_account_tokens)[-1]
    refused = subprocess.run(
        [*serve, "--unleash-version", lacking, "--secure-account-tokens"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert f"Unleash {lacking} has no secure account tokens" in refused.stderr


def test_the_pytest_plugin_answers_as_the_ini_version(pytester):
    six = versions.resolve("6").version
    pytester.makeini("[pytest]\nunleash_pat_version = 6\n")
    pytester.makepyfile(
        """
        import httpx

        def test_version(unleash):
            config = httpx.get(unleash.url + "/api/admin/ui-config",
                               headers={"Authorization": unleash.token}).json()
            assert config["version"] == SIX
            assert unleash.state.profile.version == SIX
        """.replace("SIX", repr(six))
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.parametrize("version", ALL)
def test_every_versions_contract_is_valid_openapi_naming_its_version(version):
    profile = PROFILES[version]
    validate(profile.spec())
    assert profile.spec()["info"]["version"] == version
