"""The request journal: what it records, its filters, its bound, and that it holds no secret."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from mock_server import create_app, fixtures
from mock_server.control.journal import Body, Journal, redact
from mock_server.state import MockState
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, TOKENS, auth, create

C = "/_unleash-pat"


def test_an_entry_records_method_path_query_status_user_and_body_excerpts(client):
    create(client, "ci")
    entry = client.get(f"{C}/journal").json()["requests"][0]
    assert entry["method"] == "POST" and entry["path"] == TOKENS
    assert (entry["status"], entry["user"], entry["auth"]) == (201, 1, "pat")
    # As the client sent it (httpx's JSON spacing differs between versions).
    assert json.loads(entry["requestBody"])["description"] == "ci"
    assert entry["responseBody"].startswith('{"id":3,"description":"ci"')
    assert entry["latencyMs"] > 0
    client.get(TOKENS + "?x=1")
    assert client.get(f"{C}/journal").json()["requests"][-1]["query"] == "x=1"


def test_a_logout_is_journalled_as_routed_with_the_user_who_logged_out(client):
    login = client.post("/auth/simple/login", json={"username": "admin", "password": "unleash4all"})
    client.cookies.clear()
    cookie = {"Cookie": login.headers["set-cookie"].split(";")[0]}
    client.post("/Logout/", headers=cookie, follow_redirects=False)
    entry = client.get(f"{C}/journal").json()["requests"][-1]
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/logout", 302)
    assert (entry["user"], entry["auth"]) == (1, "session")
    assert entry["responseBody"] == "Found. Redirecting to /signed-out"


def test_the_journal_filters_counts_and_clears(client):
    client.get(TOKENS, headers=auth(ALICE_PAT))
    create(client, "a")
    client.delete(f"{TOKENS}/3", headers=auth(ADMIN_PAT))
    client.delete(f"{TOKENS}/3", headers=auth(ADMIN_PAT))

    def count(query: str) -> int:
        return client.get(f"{C}/journal?{query}").json()["count"]

    assert count("method=delete") == 2
    assert count("user=2") == 1
    assert count("status=201") == 1
    assert count("path=/api/admin/user/tokens/*") == 2
    assert count("method=GET&user=1") == 0
    latest = client.get(f"{C}/journal?limit=1").json()
    assert latest["count"] == 4 and [e["seq"] for e in latest["requests"]] == [4]
    assert client.get(f"{C}/journal?user=me").status_code == 400
    assert client.delete(f"{C}/journal").status_code == 204
    assert count("") == 0


def test_the_journal_is_a_bounded_ring():
    state = MockState(fixtures.load(), journal_size=3)
    for n in range(10):
        state.journal.record(
            at=0.0,
            method="GET",
            path=f"/{n}",
            query=b"",
            status=200,
            latency_ms=1.0,
            user=None,
            auth=None,
            request=Body(b"", 0),
            response=Body(b"", 0),
            is_admin_token=lambda _: False,
        )
    assert [e.path for e in state.journal.entries()] == ["/7", "/8", "/9"]


def test_the_journal_never_holds_a_full_secret(client):
    secrets = [ADMIN_PAT, ALICE_PAT, ADMIN_API_TOKEN, "unleash4all"]
    client.post("/auth/simple/login", json={"username": "admin", "password": "unleash4all"})
    client.get(TOKENS, headers={"Cookie": "unleash-session=whatever", **auth(ADMIN_PAT)})
    for n in range(3):
        secrets.append(create(client, f"pat {n}").json()["secret"])
    create(client, f"copy of {ADMIN_PAT} and {ADMIN_API_TOKEN}")
    client.get(f"{TOKENS}?token={ALICE_PAT}", headers=auth(f"Bearer {ALICE_PAT}"))
    client.delete(f"{TOKENS}/1", headers=auth(ADMIN_API_TOKEN))
    client.get("/nowhere", headers=auth(ADMIN_API_TOKEN))
    client.get(f"/{ADMIN_PAT}/{ADMIN_API_TOKEN}")
    # Entries are read back as they were stored: redaction happens as they are recorded.
    journal = client.get(f"{C}/journal").json()
    assert journal["count"] == 10
    text = json.dumps(journal, ensure_ascii=False)
    assert [s for s in secrets if s in text] == []
    assert "user:8a9c…" in text  # a PAT is named by its first four hex digits


def test_redaction_masks_pats_passwords_secrets_and_admin_tokens():
    text = '{"password":"p\\"w","secret":"user:0123456789abcdef","x":"adm-tok"}'
    assert redact(text, {"adm-tok"}.__contains__) == (
        '{"password":"<redacted>","secret":"<redacted>","x":"<redacted>"}'
    )
    assert redact("Bearer user:0123456789") == "Bearer user:0123…"
    assert redact('{"password":"cut off her') == '{"password":"<redacted>"'


def test_a_journal_of_a_mock_without_control_stays_empty():
    app = create_app(control=False)
    with TestClient(app) as client:
        client.get(TOKENS, headers=auth(ADMIN_PAT))
    assert len(app.state.journal) == 0


def test_a_new_journal_holds_its_default_size():
    assert Journal().size == 1000
