"""Authentication on the three PAT operations (docs/observations/unleash-8.2.0.md#auth-401,
#bearer, #cookie-over-pat, #admin-token-refused, #delete-other), sessions and rate limits
(docs/observations/unleash-8.2.0.md#login, #sessions, #set-cookie-first-use, #rate-limit,
#rate-limit-429, #user-keys, #seen-at)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from starlette.testclient import TestClient

from mock_server import Clock, Options, create_app, fixtures, versions
from mock_server.node.rate_limit import RateLimiter
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, TOKENS, auth, create, listed

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LOGIN_HINT = (
    "You must log in to use Unleash. Your request had no authorization header, so we could not "
    "authorize you. Try logging in at /auth/simple/login"
)
OPERATIONS = [
    ("GET", TOKENS, None),
    ("POST", TOKENS, {"description": "x", "expiresAt": "2099-01-01T00:00:00.000Z"}),
    ("DELETE", f"{TOKENS}/1", None),
]


def call(client, method: str, path: str, body, headers: dict[str, str]):
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}], ids=["no-header", "empty"])
def test_missing_credentials_get_authentication_required(client, method, path, body, headers):
    response = call(client, method, path, body, headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    data = response.json()
    assert list(data) == ["id", "name", "message", "details", "path", "type", "defaultHidden"]
    assert UUID.match(data.pop("id"))
    assert data == {
        "name": "AuthenticationRequired",
        "message": LOGIN_HINT,
        "details": [{"message": LOGIN_HINT}],
        "path": "/auth/simple/login",
        "type": "password",
        "defaultHidden": False,
    }
    assert "ratelimit-limit" not in response.headers


BAD_CREDENTIALS = [
    "garbage",
    "user:deadbeef",
    ADMIN_PAT[:-1] + ("0" if ADMIN_PAT[-1] != "0" else "1"),
    ADMIN_PAT.upper(),
    f"Token {ADMIN_PAT}",
    "Bearer",
    "Bearer garbage",
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
def test_invalid_credentials_get_unauthorized(client, method, path, body, credential):
    response = call(client, method, path, body, auth(credential))
    assert response.status_code == 401
    data = response.json()
    assert UUID.match(data.pop("id"))
    assert data == {
        "name": "UnauthorizedError",
        "message": "You must log in to use Unleash.",
        "details": [{"message": "You must log in to use Unleash."}],
    }
    assert "ratelimit-limit" not in response.headers


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", "BEARER   "])
def test_bearer_prefix_is_accepted_on_every_operation(client, scheme):
    assert client.get(TOKENS, headers=auth(scheme + ADMIN_PAT)).status_code == 200
    created = create(client, "bearer", token=scheme + ADMIN_PAT)
    assert created.status_code == 201
    deleted = client.delete(f"{TOKENS}/{created.json()['id']}", headers=auth(scheme + ADMIN_PAT))
    assert deleted.status_code == 200
    assert [p["description"] for p in listed(client)] == ["default"]


def test_surrounding_whitespace_in_the_header_is_ignored(client):
    assert client.get(TOKENS, headers=auth(f"  {ADMIN_PAT}  ")).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_admin_api_token_is_forbidden_on_every_operation(client, method, path, body):
    response = call(client, method, path, body, auth(ADMIN_API_TOKEN))
    # Real Unleash answers DELETE with a 500 that leaks SQL; the mock gives the intended 403.
    assert response.status_code == 403
    assert response.json() == {
        "name": "ForbiddenError",
        "message": "PATs require an authenticated user.",
        "details": [{"message": "PATs require an authenticated user."}],
    }
    assert "ratelimit-limit" not in response.headers
    assert [p["id"] for p in listed(client)] == [1]


def test_expired_pat_is_unauthorized(app, client):
    soon = datetime.now(UTC) + timedelta(milliseconds=200)
    _, secret = app.state.pats.create(1, "short-lived", soon)
    assert client.get(TOKENS, headers=auth(secret)).status_code == 200
    time.sleep(0.25)
    response = client.get(TOKENS, headers=auth(secret))
    assert response.status_code == 401
    assert response.json()["name"] == "UnauthorizedError"


def test_deleted_pat_is_unauthorized(client):
    created = create(client, "to-delete").json()
    client.delete(f"{TOKENS}/{created['id']}", headers=auth(ADMIN_PAT))
    assert client.get(TOKENS, headers=auth(created["secret"])).status_code == 401


def test_a_pat_can_delete_itself_and_is_then_rejected(client):
    created = create(client, "self").json()
    own = auth(created["secret"])
    assert client.delete(f"{TOKENS}/{created['id']}", headers=own).status_code == 200
    assert client.get(TOKENS, headers=own).json()["name"] == "UnauthorizedError"


def login(client, username="admin", password="unleash4all"):
    return client.post("/auth/simple/login", json={"username": username, "password": password})


def test_login_sets_a_session_cookie_that_works_on_every_operation(client):
    response = login(client)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert re.fullmatch(
        r"unleash-session=s%3A[^;]+; Path=/; Expires=\w{3}, \d\d \w{3} \d{4} "
        r"[\d:]{8} GMT; HttpOnly; SameSite=Lax",
        cookie,
    )
    assert response.json()["username"] == "admin"
    assert client.get(TOKENS).status_code == 200
    created = client.post(TOKENS, json={"description": "c", "expiresAt": "2099-01-01T00:00:00Z"})
    assert created.status_code == 201
    assert client.delete(f"{TOKENS}/{created.json()['id']}").status_code == 200


def test_first_use_of_a_session_sends_its_cookie_again(client):
    cookie = login(client).headers["set-cookie"]
    # GET /logout (the front end's page, behind authentication) is no use of it (8.2.0).
    page = client.get("/logout")
    assert page.status_code == 200 and "set-cookie" not in page.headers
    assert client.get(TOKENS).headers["set-cookie"] == cookie
    assert "set-cookie" not in client.get(TOKENS).headers


def test_a_sixth_login_ends_the_oldest_session(client):
    def session_of(response) -> str:
        return SimpleCookie(response.headers["set-cookie"])["unleash-session"].value

    client.cookies.clear()
    first = session_of(login(client))
    ended = [login(client).json()["deletedSessions"] for _ in range(5)]
    assert ended == [0, 0, 0, 0, 1]  # as real 8.2.0 says it
    # The session keeps its login's user object: GET /api/admin/user says the same (8.2.0).
    assert client.get("/api/admin/user").json()["user"]["deletedSessions"] == 1
    client.cookies.clear()
    stale = client.get(TOKENS, headers={"Cookie": f"unleash-session={first}"})
    assert stale.status_code == 401


def test_session_cookie_wins_over_another_users_pat(client):
    login(client)
    pats = client.get(TOKENS, headers=auth(ALICE_PAT)).json()["pats"]
    assert [p["userId"] for p in pats] == [1]


def test_session_cookie_wins_over_an_invalid_header(client):
    login(client)
    assert client.get(TOKENS, headers=auth("garbage")).status_code == 200


def test_session_responses_carry_no_rate_limit_headers(client):
    login(client)
    assert "ratelimit-limit" not in client.get(TOKENS).headers


def test_bad_login_is_password_mismatch(client):
    response = login(client, password="wrong")
    assert response.status_code == 401
    assert response.json()["name"] == "PasswordMismatch"
    assert "id" not in response.json()
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("username", "status"),
    [("alice@example.com", 200), ("ALICE@Example.COM", 200), ("Alice", 401), ("alice", 200)],
)
def test_login_takes_the_username_exactly_or_the_email_in_any_case(client, username, status):
    # As real 5.12.8, 7.6.5 and 8.2.0 answer.
    assert login(client, username, "alice-password-1").status_code == status


def test_an_email_is_stored_and_shown_lower_cased_as_unleash_stores_it(tmp_path):
    path = tmp_path / "fixtures.yaml"
    path.write_text(
        "users:\n  - id: 1\n    username: carol\n    password: pw\n    email: Carol@Example.COM\n"
    )
    client = TestClient(create_app(fixtures.load(path)))
    response = login(client, "CAROL@example.com", "pw")
    assert (response.status_code, response.json()["email"]) == (200, "carol@example.com")


def test_current_user_is_the_pat_owner(client):
    response = client.get("/api/admin/user", headers=auth(ALICE_PAT))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == 2
    assert body["user"]["username"] == "alice"
    assert set(body) == {"user", "permissions", "feedback", "splash"}


def test_seen_at_is_written_in_batches_with_the_batch_time():

    clock = Clock()
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
    with TestClient(create_app(clock=clock)) as client:
        client.get(TOKENS, headers=auth(ADMIN_PAT))
        assert listed(client)[0]["seenAt"] is None  # buffered, as in Unleash
        clock.advance(20)
        # The first batch ran 15 s after start; this list is a use too, for the next batch.
        assert listed(client)[0]["seenAt"] == "2030-01-01T00:00:15.000Z"
        clock.advance(170)
        assert listed(client)[0]["seenAt"] == "2030-01-01T00:03:00.000Z"  # every 180 s


def test_a_login_records_when_the_user_was_seen_and_answers_with_the_time_before():
    # Measured on 8.2.0 (docs/observations/unleash-8.2.0.md#login-seen-at).
    clock = Clock()
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
    with TestClient(create_app(clock=clock)) as client:
        assert login(client).json()["seenAt"] is None  # never seen before
        clock.advance(2)
        assert login(client).json()["seenAt"] == "2030-01-01T00:00:00.000Z"
        client.cookies.clear()  # the PAT's view (a session keeps the user as it logged in)
        user = client.get("/api/admin/user", headers=auth(ADMIN_PAT)).json()["user"]
        assert user["seenAt"] == "2030-01-01T00:00:02.000Z"  # the latest login, not PAT use


@pytest.mark.parametrize("version", ["8.2.0", "7.6.5"])
def test_the_login_limit_counts_every_method_on_auth_simple_in_the_releases_case(version):
    # Measured (docs/observations/unleash-8.2.0.md#login-limit-coverage).
    options = Options(login_rate_limit_per_minute=2, unleash_version=version)
    with TestClient(create_app(options=options)) as client:
        assert client.get("/auth/simple/login").headers["ratelimit-remaining"] == "1"
        assert login(client, password="wrong").headers["ratelimit-remaining"] == "0"
        assert login(client).status_code == 429
        doubled = client.post("http://testserver//auth/simple/login", json={"username": "x"})
        assert doubled.status_code == 429  # runs of slashes are one for Unleash's routers
        other_case = client.post(
            "/aUth/simple/login", json={"username": "admin", "password": "unleash4all"}
        )
        profile = client.app.state.profile  # type: ignore[attr-defined]
        if profile.login_limit_case_sensitive:
            assert other_case.status_code == 200
            assert "ratelimit-remaining" not in other_case.headers
        else:
            assert other_case.status_code == 429


LOGIN_BODY = b'{"username":"admin","password":"unleash4all"}'


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary=x",
        "text/plain",
        None,
        "application/x-www-form-urlencoded",
        "application/vnd.api+json",
    ],
)
def test_a_login_that_is_not_json_is_a_415_counted_by_the_limit(client, content_type):
    # Measured on 8.2.0 (docs/observations/unleash-8.2.0.md#login-content).
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/auth/simple/login", content=LOGIN_BODY, headers=headers)
    assert response.status_code == 415 and response.json()["name"] == "ContentTypeError"
    assert response.headers["ratelimit-remaining"] == "9"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Encoding": "br"}, LOGIN_BODY, 415),
        ({"Content-Type": "application/json; charset=latin1"}, LOGIN_BODY, 415),
        ({}, b"{bad", 400),
    ],
)
@pytest.mark.parametrize("version", ["8.2.0", "7.6.5"])
def test_the_login_limit_counts_before_the_body_is_parsed_where_the_release_does(
    version, headers, body, status
):
    # Measured: on 8.2.0 body-parser's refusals of a login carry the limit's headers and are
    # counted; 7.6.5 parses the body first (a br-encoded login: 415, not counted).
    headers = {"Content-Type": "application/json", **headers}
    with TestClient(create_app(options=Options(unleash_version=version))) as client:
        response = client.post("/auth/simple/login", content=body, headers=headers)
        assert response.status_code == status
        counted = versions.profiles()[version].login_limit_before_body
        assert response.headers.get("ratelimit-remaining") == ("9" if counted else None)
        after = login(client, password="wrong").headers["ratelimit-remaining"]
        assert after == ("8" if counted else "9")


def test_rate_limit_headers_count_down_and_429_says_retry_after():

    with TestClient(create_app(options=Options(rate_limit_per_minute=3))) as client:
        remaining = []
        for _ in range(3):
            response = client.get(TOKENS, headers=auth(ADMIN_PAT))
            assert response.headers["ratelimit-policy"] == "3;w=60"
            assert response.headers["ratelimit-limit"] == "3"
            remaining.append(response.headers["ratelimit-remaining"])
        assert remaining == ["2", "1", "0"]
        over = client.get(TOKENS, headers=auth(ADMIN_PAT))
        assert over.status_code == 429
        assert over.headers["retry-after"] == "60"
        assert over.headers["content-type"] == "text/html; charset=utf-8"
        assert over.text == "Too many requests, please try again later."
        # A wrong user: token fails authentication first, so it is still a 401.
        assert client.get(TOKENS, headers=auth("user:deadbeef")).status_code == 401


def test_login_is_limited_to_ten_a_minute(client):
    statuses = [login(client, password="wrong").status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]


def test_a_fresh_rate_limit_window_resets_in_exactly_the_window_at_any_instant():
    clock = Clock()
    limiter = RateLimiter(clock, limit=5)
    for n in range(2_000):
        clock.freeze(datetime(2031, 1, 1, tzinfo=UTC) + timedelta(microseconds=n * 7_919))
        headers, _ = limiter.hit(f"client {n}")
        assert dict(headers)[b"ratelimit-reset"] == b"60"


def test_the_pat_rate_limit_counts_pat_headers_on_every_path_as_unleash_does(client):
    # Outside /api/admin no auth runs: any `user:` header counts, a `Bearer ` one does not.
    counted = client.get("/some/page", headers={"Authorization": "user:not-a-real-pat"})
    assert counted.headers["ratelimit-limit"] == "20000"
    bearer = client.get("/some/page", headers={"Authorization": f"Bearer {ADMIN_PAT}"})
    assert "ratelimit-limit" not in bearer.headers
    # Under /api/admin an unknown PAT ends in the auth middleware first: a 401, not counted.
    refused = client.get(TOKENS, headers={"Authorization": "user:not-a-real-pat"})
    assert refused.status_code == 401 and "ratelimit-limit" not in refused.headers
