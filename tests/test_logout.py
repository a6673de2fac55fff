"""`POST /logout` as each release answers it (docs/observations/unleash-8.2.0.md#logout, and the
`logout` section of every other release's page): it ends every session of the user, whichever
credential asked, keeps the PAT, clears the cookie and redirects to the release's page. The
tests ask the profile where that page is; none compares version strings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app, versions
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, auth

ALL = list(versions.profiles())
ADMIN = {"username": "admin", "password": "unleash4all"}
ALICE = {"username": "alice", "password": "alice-password-1"}
CLEARED = "unleash-session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
ME = "/api/admin/user"


@pytest.fixture(params=ALL)
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The mock of each release, following no redirect."""
    app = create_app(options=Options(unleash_version=request.param))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def redirect_of(client: TestClient) -> str:
    return client.app.state.profile.logout_redirect  # type: ignore[attr-defined]


def log_in(client: TestClient, who: dict[str, str] = ADMIN) -> dict[str, str]:
    """A new session of `who`, as the Cookie header that sends it."""
    response = client.post("/auth/simple/login", json=who)
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each request states its credentials
    return {"Cookie": response.headers["set-cookie"].split(";")[0]}


def statuses(client: TestClient, *credentials: dict[str, str]) -> list[int]:
    return [client.get(ME, headers=c).status_code for c in credentials]


def test_a_logout_ends_every_session_of_the_user(client: TestClient) -> None:
    first, second, alices = log_in(client), log_in(client), log_in(client, ALICE)
    response = client.post("/logout", headers=first)
    assert response.status_code == 302
    assert statuses(client, first, second) == [401, 401]
    assert statuses(client, alices, auth(ADMIN_PAT)) == [200, 200]  # others, and the PAT, live


def test_a_logout_with_a_pat_ends_the_users_sessions_and_the_pat_stays_valid(
    client: TestClient,
) -> None:
    session, alices = log_in(client), log_in(client, ALICE)
    response = client.post("/logout", headers=auth(ADMIN_PAT))
    assert response.status_code == 302
    assert statuses(client, session, alices, auth(ADMIN_PAT)) == [401, 200, 200]
    assert client.post("/logout", headers=auth(ADMIN_PAT)).status_code == 302  # and again


def test_a_logout_answers_302_to_the_releases_page_clearing_the_cookie(
    client: TestClient,
) -> None:
    response = client.post("/logout", headers=log_in(client))
    page = redirect_of(client)
    assert response.status_code == 302
    assert response.headers["location"] == page
    assert response.content == f"Found. Redirecting to {page}".encode()
    # The cleared cookie only: a session the logout ended is never sent again (8.2.0 resends a
    # session's cookie on its first use, and this was the first).
    assert response.headers.get_list("set-cookie") == [CLEARED]
    assert response.headers["clear-site-data"] == '"cookies", "storage"'
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["vary"] == "Accept, Accept-Encoding"
    assert "etag" not in response.headers


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        (None, "text/plain"),
        ("", "text/plain"),
        ("*/*", "text/plain"),
        ("text/*", "text/plain"),
        ("text/html", "text/html"),
        ("text/html;q=0.5, text/plain;q=0.4", "text/html"),
        ("text/plain;q=0.5, text/html", "text/html"),
        ("image/png, */*;q=0.1", "text/plain"),
        ("text/html;level=1, text/plain;q=0.1", "text/plain"),
        ("application/json", None),
        ("text/plain;q=0", None),
    ],
)
def test_the_redirects_body_is_in_the_type_the_accept_header_prefers(
    accept: str | None, kind: str | None
) -> None:
    with TestClient(create_app(), follow_redirects=False) as client:
        headers = auth(ALICE_PAT) | ({} if accept is None else {"Accept": accept})
        if accept is None:
            client.headers.pop("accept")
        response = client.post("/logout", headers=headers)
    bodies = {
        "text/plain": b"Found. Redirecting to /signed-out",
        "text/html": b"<p>Found. Redirecting to /signed-out</p>",
        None: b"",
    }
    assert response.status_code == 302
    assert response.headers.get("content-type") == (kind and f"{kind}; charset=utf-8")
    assert response.content == bodies[kind]
    assert response.headers["vary"] == ("Accept, Accept-Encoding" if kind else "Accept")


@pytest.mark.parametrize("method", ["POST", "GET", "OPTIONS"])
def test_logout_without_credentials_is_refused_as_the_api_refuses(
    client: TestClient, method: str
) -> None:
    session = log_in(client)
    response = client.request(method, "/logout")
    assert response.status_code == 401
    assert response.json()["name"] == "AuthenticationRequired"
    assert statuses(client, session) == [200]


@pytest.mark.parametrize("authorization", ["user:deadbeef", f"Bearer {ADMIN_PAT}"])
def test_logout_reads_no_bearer_and_refuses_an_unknown_token(
    client: TestClient, authorization: str
) -> None:
    """Unleash strips `Bearer ` under /api only: at /logout the PAT is then no credential."""
    session = log_in(client)
    response = client.post("/logout", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["name"] == "UnauthorizedError"
    assert not [h for h in response.headers if h.startswith("ratelimit-")]
    assert statuses(client, session) == [200]


def test_an_admin_token_ends_only_the_sessions_of_the_cookie_beside_it(
    client: TestClient,
) -> None:
    """The API user has no sessions; the cookie's user's end whichever credential acts (the
    cookie in 5.x and 6.3, the admin token later)."""
    session, alices = log_in(client), log_in(client, ALICE)
    assert client.post("/logout", headers=auth(ADMIN_API_TOKEN)).status_code == 302
    assert statuses(client, session, alices) == [200, 200]
    response = client.post("/logout", headers=alices | auth(ADMIN_API_TOKEN))
    assert response.status_code == 302
    assert statuses(client, session, alices) == [200, 401]


def test_logout_has_a_post_route_only(client: TestClient) -> None:
    """Other methods answer as on any page: GET the front end, OPTIONS the methods, others
    Express's 404; the paths are Express's (case, a trailing slash); /api/admin/logout is no
    route at all."""
    pat = auth(ADMIN_PAT)
    page = client.get("/logout", headers=pat)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    options = client.options("/logout", headers=pat)
    assert (options.status_code, options.text, options.headers["allow"]) == (200, "POST", "POST")
    assert client.put("/logout", headers=pat).text.count("<pre>Cannot PUT /logout</pre>") == 1
    assert client.post("/Logout/", headers=pat).status_code == 302
    assert client.post("/api/admin/logout").status_code == 401
    assert client.post("/api/admin/logout", headers=pat).json()["name"] == "NotFoundError"
    assert statuses(client, pat) == [200]
