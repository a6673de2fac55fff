"""Every control action over HTTP, in process (TestClient on the ASGI app)."""

from __future__ import annotations

import json

import pytest
import yaml
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from mock_server import Options, create_app, versions
from tests.conftest import ADMIN_PAT, ALICE_PAT, FUTURE, TOKENS, auth, create, listed

C = "/_unleash-pat"
NEW_PAT = "user:" + "ab" * 28


@pytest.fixture
def control(client: TestClient) -> TestClient:
    return client


def test_the_control_api_serves_a_valid_openapi_document(control):
    document = control.get(f"{C}/openapi.json").json()
    validate(document)
    assert {"/reset", "/state", "/fixtures", "/clock", "/clock/advance", "/faults"} <= set(
        document["paths"]
    )


def test_reset_restores_the_fixtures_and_empties_journal_and_faults(control):
    create(control, "extra")
    control.post(f"{C}/faults", json={"match": {"path": "/nowhere"}, "status": 500})
    assert control.post(f"{C}/reset").status_code == 204
    assert [p["description"] for p in listed(control)] == ["default"]
    assert control.get(f"{C}/faults").json() == {"faults": []}
    assert control.get(f"{C}/journal").json()["count"] == 1  # the list above, after the reset


def test_state_holds_users_pats_with_their_secrets_sessions_and_the_clock(control):
    control.post("/auth/simple/login", json={"username": "admin", "password": "unleash4all"})
    state = control.get(f"{C}/state").json()
    assert state["users"][0]["pats"][0]["secret"] == ADMIN_PAT
    assert state["adminTokens"] == ["*:*.unleash-insecure-admin-api-token"]
    assert state["sessions"] == 1
    assert set(state["clock"]) == {"now", "frozen"}


def test_fixtures_added_as_json_join_the_current_state(control):
    body = {"users": [{"id": 3, "username": "carol", "pats": [_seed_pat("carol")]}]}
    response = control.post(f"{C}/fixtures?mode=add", json=body)
    assert response.status_code == 200
    assert [u["username"] for u in response.json()["users"]] == ["admin", "alice", "carol"]
    assert listed(control, NEW_PAT)[0]["description"] == "carol"


def test_fixtures_replacing_as_yaml_hold_until_a_reset_restores_the_started_ones(control):
    text = yaml.safe_dump({"users": [{"id": 9, "username": "zed", "pats": [_seed_pat("z")]}]})
    response = control.post(
        f"{C}/fixtures?mode=replace", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert [u["username"] for u in response.json()["users"]] == ["zed"]
    assert control.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 401
    assert listed(control, NEW_PAT)[0]["userId"] == 9
    control.post(f"{C}/reset")
    assert control.get(TOKENS, headers=auth(NEW_PAT)).status_code == 401
    assert listed(control)[0]["description"] == "default"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"users": [{"id": 1, "username": "again"}]}, 409, "user 1 (again) exists"),
        ({"users": [{"id": 5, "username": "x", "pats": [None]}]}, 400, "pats/0"),
        (
            {
                "users": [
                    {
                        "id": 5,
                        "username": "x",
                        "pats": [{"description": "d", "secret": ADMIN_PAT, "expiresAt": FUTURE}],
                    }
                ]
            },
            409,
            "its secret is in use",
        ),
        ({"unknown": 1}, 400, "unknown"),
    ],
)
def test_fixtures_that_clash_or_are_invalid_change_nothing(control, body, status, words):
    response = control.post(f"{C}/fixtures", json=body)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert ADMIN_PAT not in response.text
    assert [u["username"] for u in control.get(f"{C}/state").json()["users"]] == [
        "admin",
        "alice",
    ]


def test_yaml_fixtures_with_aliases_are_refused(control):
    text = "a: &a [1, 1]\nb: &b [*a, *a]\nusers: [*b, *b]\n"
    response = control.post(
        f"{C}/fixtures", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 400
    assert "aliases" in response.json()["error"]


def test_the_clock_freezes_sets_advances_resumes_and_resets(control):
    frozen = control.put(f"{C}/clock", json={"frozen": True, "now": "2031-01-01T00:00:00Z"})
    assert frozen.json() == {"now": "2031-01-01T00:00:00.000Z", "frozen": True}
    advanced = control.post(f"{C}/clock/advance", json={"seconds": 86400})
    assert advanced.json()["now"] == "2031-01-02T00:00:00.000Z"
    assert control.put(f"{C}/clock", json={"now": "2032-05-05T00:00:00Z"}).json()["frozen"]
    resumed = control.put(f"{C}/clock", json={"frozen": False}).json()
    assert resumed["frozen"] is False and resumed["now"].startswith("2032-05-05")
    assert control.delete(f"{C}/clock").json()["now"] < "2031"
    assert control.put(f"{C}/clock", json={"now": "yesterday"}).status_code == 400


def test_time_travel_reaches_expiry_warning_then_expiry(client):
    client.put(f"{C}/options", json={"token_expiry_notifications": True})
    client.put(f"{C}/clock", json={"frozen": True, "now": "2031-01-01T00:00:00Z"})
    secret = create(client, "soon", expires="2031-01-21T00:00:00Z").json()["secret"]
    assert "expiryWarning" not in listed(client, secret)[-1]
    client.post(f"{C}/clock/advance", json={"seconds": 15 * 86400})
    assert listed(client, secret)[-1]["expiryWarning"] == "expires-soon"
    client.post(f"{C}/clock/advance", json={"seconds": 6 * 86400})
    assert client.get(TOKENS, headers=auth(secret)).status_code == 401


def test_options_turn_the_kill_switch_on_and_off_at_runtime(control):
    on = control.put(f"{C}/options", json={"pats_kill_switch": True})
    assert on.json()["pats_kill_switch"] is True
    assert control.get(TOKENS, headers=auth(ADMIN_PAT)).json()["message"] == "PATs are disabled."
    control.put(f"{C}/options", json={"pats_kill_switch": False})
    assert control.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200


def test_options_set_the_rate_limit_at_runtime(control):
    control.put(f"{C}/options", json={"rate_limit_per_minute": 2})
    statuses = [control.get(TOKENS, headers=auth(ADMIN_PAT)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    "body", [{"unleash_version": "7"}, {"no_such_option": True}, {"rate_limit_per_minute": 0}]
)
def test_options_refuse_what_the_mock_cannot_do(control, body):
    response = control.put(f"{C}/options", json=body)
    assert response.status_code == 400
    assert control.get(f"{C}/options").json()["unleash_version"] == versions.default().version


def test_the_version_by_its_major_is_accepted(control):
    assert control.put(f"{C}/options", json={"unleash_version": "8"}).status_code == 200


def test_control_requests_never_enter_the_journal_nor_the_rate_limit(control):
    control.put(f"{C}/options", json={"rate_limit_per_minute": 1})
    for _ in range(5):
        control.get(f"{C}/state", headers=auth(ADMIN_PAT))
    assert control.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200
    journal = control.get(f"{C}/journal").json()
    assert [e["path"] for e in journal["requests"]] == [TOKENS]


def test_unknown_control_routes_and_methods_are_refused(control):
    assert control.get(f"{C}/nothing").status_code == 404
    response = control.patch(f"{C}/clock", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT, DELETE"


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 503, "times": 1, "probability": 0.5},
        {"match": {"path": "/x"}},
        {"body": {}, "delay_ms": 5},
        {"status": 503, "drop": True},
        {"delay_ms": {"min": 9, "max": 1}},
        {"delay_ms": 5, "times": 0},
        {"delay_ms": 5, "match": {"verb": "GET"}},
    ],
)
def test_fault_rules_that_make_no_sense_are_refused(control, rule):
    assert control.post(f"{C}/faults", json=rule).status_code == 400
    assert control.get(f"{C}/faults").json() == {"faults": []}


def test_with_control_off_its_paths_answer_as_unknown_paths():
    # As on real Unleash (tests/parity proves it): the front end's page, or Express's 404 page.
    with TestClient(create_app(control=False)) as off:
        for method, status in (("GET", 200), ("POST", 404)):
            ours = off.request(method, f"{C}/state")
            theirs = off.request(method, "/_other/state")
            assert ours.status_code == theirs.status_code == status
            assert ours.headers["content-type"] == "text/html; charset=utf-8"
            assert ours.text == theirs.text.replace("_other", "_unleash-pat")


def test_a_control_token_is_required_when_set():
    with TestClient(create_app(control_token="s3cret")) as guarded:
        assert guarded.get(f"{C}/state").status_code == 401
        assert guarded.get(f"{C}/state", headers=auth("Bearer wrong")).status_code == 401
        assert guarded.get(f"{C}/state", headers=auth("Bearer s3cret")).status_code == 200


def test_a_control_body_over_the_limit_is_refused(control):
    from mock_server.control.routes import MAX_BODY

    response = control.post(
        f"{C}/fixtures",
        content=b"[" * (MAX_BODY + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_options_given_at_creation_are_reported():
    app = create_app(options=Options(token_expiry_notifications=True, bug_compatible=True))
    with TestClient(app) as client:
        options = client.get(f"{C}/options").json()
    assert options["token_expiry_notifications"] and options["bug_compatible"]


def _seed_pat(description: str) -> dict:
    return {"description": description, "secret": NEW_PAT, "expiresAt": FUTURE}


def test_alice_is_untouched_by_a_fixture_add(control):
    control.post(f"{C}/fixtures", json={"adminTokens": ["extra-admin-token"]})
    assert control.get(TOKENS, headers=auth(ALICE_PAT)).status_code == 200
    assert control.delete(f"{TOKENS}/1", headers=auth("extra-admin-token")).status_code == 403
    assert json.loads(control.get(f"{C}/state").text)["adminTokens"][-1] == "extra-admin-token"


def test_deeply_nested_control_bodies_are_a_400(control):
    deep = "[" * 100_000 + "]" * 100_000
    json_body = {"Content-Type": "application/json"}
    assert control.post(f"{C}/faults", content=deep, headers=json_body).status_code == 400
    assert control.post(f"{C}/fixtures", content=deep, headers=json_body).status_code == 400
    yaml_deep = "a: " + "[" * 100_000
    headers = {"Content-Type": "application/yaml"}
    assert control.post(f"{C}/fixtures", content=yaml_deep, headers=headers).status_code == 400


@pytest.mark.parametrize(
    ("start", "seconds"),
    [("9998-12-01T00:00:00Z", 3_000_000_000), ("1970-01-10T00:00:00Z", -3_000_000_000)],
)
def test_the_clock_cannot_leave_the_years_dates_are_written_in(control, start, seconds):
    control.put(f"{C}/clock", json={"frozen": True, "now": start})
    response = control.post(f"{C}/clock/advance", json={"seconds": seconds})
    assert response.status_code == 400
    assert control.get(f"{C}/clock").json()["now"] == start.replace("Z", ".000Z")


def test_the_mock_still_answers_at_the_clock_s_last_second(control):
    beyond = control.put(f"{C}/clock", json={"frozen": True, "now": "9999-01-01T00:00:00Z"})
    assert beyond.status_code == 400
    last = control.put(f"{C}/clock", json={"frozen": True, "now": "9998-12-31T23:59:59Z"})
    assert last.status_code == 200
    assert control.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 401  # expired in 2099
    control.post("/auth/simple/login", json={"username": "admin", "password": "unleash4all"})
    assert control.get(TOKENS).status_code == 200  # by the session cookie
