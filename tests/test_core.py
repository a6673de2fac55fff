"""The core's seams: a version profile decides behaviour end to end, one clock drives every time
rule, and creating the mock changes nothing else in the process."""

from __future__ import annotations

import ast
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app, versions
from mock_server.versions import UnknownDelete
from tests.conftest import ADMIN_PAT, TOKENS, auth, create, listed

MOCK_SERVER = Path(__file__).resolve().parent.parent / "mock_server"


def test_a_made_up_version_profile_changes_the_mock_end_to_end():
    made_up = dataclasses.replace(
        versions.default(),
        version="8.2.0-five",
        pat_limit=5,
        unknown_delete=UnknownDelete.NOT_FOUND,
    )
    with TestClient(create_app(options=Options(unleash_version=made_up))) as client:
        statuses = [create(client, f"pat {n}").status_code for n in range(5)]
        assert statuses == [201] * 4 + [403]  # the fixture PAT is the fifth
        assert create(client, "one more").json()["message"] == (
            "Too many PATs (5) already exist for this user."
        )
        missing = client.delete(f"{TOKENS}/999", headers=auth(ADMIN_PAT))
        assert missing.status_code == 404
        assert missing.json() == {
            "name": "NotFoundError",
            "message": "No PAT found.",
            "details": [{"message": "No PAT found."}],
        }
        assert client.delete(f"{TOKENS}/1", headers=auth(ADMIN_PAT)).status_code == 200


def test_the_default_profile_answers_200_for_a_missing_id():
    with TestClient(create_app()) as client:
        assert client.delete(f"{TOKENS}/999", headers=auth(ADMIN_PAT)).status_code == 200


def test_a_major_version_resolves_to_its_newest_profile():
    assert versions.resolve("8") is versions.resolve("8.2.0") is versions.default()


def test_the_one_clock_moves_expiry_warnings_expiry_sessions_and_rate_limit_windows():
    clock = Clock()
    clock.freeze(datetime(2031, 3, 1, 12, tzinfo=UTC))
    options = Options(token_expiry_notifications=True, rate_limit_per_minute=3)
    app = create_app(options=options, clock=clock)
    with TestClient(app) as client:
        expires = (clock.now() + timedelta(days=20)).isoformat()
        secret = create(client, "twenty days", expires=expires).json()["secret"]
        login = client.post(
            "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
        )
        cookie = {"Cookie": login.headers["set-cookie"].split(";")[0]}

        clock.advance(timedelta(days=15).total_seconds())
        warnings = {p["description"]: p.get("expiryWarning") for p in listed(client)}
        assert warnings["twenty days"] == "expires-soon"

        clock.advance(timedelta(days=6).total_seconds())  # 21 days after creation
        assert client.get(TOKENS, headers=auth(secret)).status_code == 401
        # The session (2 days) ended with the clock too.
        assert client.get(TOKENS, headers=cookie).status_code == 401

        for _ in range(3):
            client.get(TOKENS, headers=auth(ADMIN_PAT))
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 429
        clock.advance(60)
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 200


def test_reset_rebuilds_pats_ids_sessions_and_windows_but_keeps_the_clock():
    clock = Clock()
    clock.freeze(datetime(2031, 3, 1, tzinfo=UTC))
    app = create_app(clock=clock, options=Options(rate_limit_per_minute=2))
    with TestClient(app) as client:
        create(client, "gone after reset")
        client.get(TOKENS, headers=auth(ADMIN_PAT))
        assert client.get(TOKENS, headers=auth(ADMIN_PAT)).status_code == 429
        app.state.reset()
        assert [p["description"] for p in listed(client)] == ["default"]
        assert create(client, "again").json()["id"] == 3  # the fixtures hold ids 1 and 2
        assert app.state.clock.now() == datetime(2031, 3, 1, tzinfo=UTC)


def test_the_snapshot_is_json_data_of_users_pats_and_the_clock():
    clock = Clock()
    clock.freeze(datetime(2031, 3, 1, tzinfo=UTC))
    snapshot = create_app(clock=clock).state.snapshot()
    assert snapshot["unleashVersion"] == versions.default().version
    assert snapshot["clock"] == {"now": "2031-03-01T00:00:00.000Z", "frozen": True}
    assert [u["username"] for u in snapshot["users"]] == ["admin", "alice"]
    assert snapshot["users"][0]["pats"][0]["description"] == "default"


def test_no_module_but_the_clock_reads_the_system_time():
    readers = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "today")}
    readers |= {("datetime", "utcnow"), ("time", "time_ns"), ("date", "today")}
    found = []
    for path in MOCK_SERVER.rglob("*.py"):
        if path.name == "clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in readers
            ):
                found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                found += [f"{path.name}:{node.lineno} from time import …" for _ in node.names]
    assert not found


def test_creating_the_mock_leaves_other_starlette_apps_routing_as_before():
    create_app()
    other = Starlette(routes=[Route("/x/{x:int}", lambda request: PlainTextResponse("int"))])
    with TestClient(other) as client:
        assert client.get("/x/12").status_code == 200
        assert client.get("/x/abc").status_code == 404
