"""/api/admin/user-admin as Unleash answers it (docs/observations/unleash-8.2.0.md#user-admin,
unleash-7.6.5.md#user-admin): reading, changing and deleting users, what a deletion ends, the
password policy, the ADMIN permission and the create-user limiter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from mock_server.options import Options
from mock_server.units.user_admin.password import problems
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, auth

USER_ADMIN = "/api/admin/user-admin"
ADMIN = auth(ADMIN_API_TOKEN)
STRONG = "Long-enough-Pw-1!"
SCHEMA_400 = (
    "Request validation failed: your request body or params contain invalid data. Refer to the "
    "`details` list for more information."
)
SERVICE_400 = "Request validation failed: your request body or params contain invalid data: "
PERMISSION_TEXT = (
    "You don't have the required permissions to perform this operation. To perform this "
    'action, you need the "ADMIN" permission.'
)


@pytest.fixture(params=["8.2.0", "7.6.5"])
def release(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def client(release: str) -> Iterator[TestClient]:
    with TestClient(create_app(options=Options(unleash_version=release))) as test_client:
        yield test_client


def log_in(client: TestClient, username: str, password: str) -> str:
    """The session's cookie, which the client does not keep: later requests send it only when
    they say so."""
    response = client.post("/auth/simple/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return response.headers["set-cookie"].split(";")[0]


def test_get_user_answers_the_user_object_with_its_role_id(client: TestClient) -> None:
    body = client.get(f"{USER_ADMIN}/2", headers=ADMIN).json()
    assert list(body) == [
        "accountType", "id", "name", "username", "email", "imageUrl", "seenAt", "loginAttempts",
        "createdAt", "scimId", "seatType", "companyRole", "productUpdatesEmailConsent", "rootRole",
    ]  # fmt: skip
    assert (body["id"], body["username"], body["rootRole"], body["seenAt"]) == (2, "alice", 3, None)


def test_get_user_shows_seen_at_of_the_last_login(client: TestClient) -> None:
    log_in(client, "alice", "alice-password-1")
    first = client.get(f"{USER_ADMIN}/2", headers=ADMIN).json()["seenAt"]
    assert first is not None
    # The login's own answer shows the user as it was: seenAt of the login before.
    again = client.post(
        "/auth/simple/login", json={"username": "alice", "password": "alice-password-1"}
    )
    assert again.json()["seenAt"] == first


@pytest.mark.parametrize(
    ("target", "status", "name"),
    [
        ("999", 404, "NotFoundError"),
        ("abc", 400, "BadDataError"),
        ("validate-password", 400, "BadDataError"),
    ],
)
def test_get_user_refuses_unknown_and_non_integer_ids(
    client: TestClient, target: str, status: int, name: str
) -> None:
    response = client.get(f"{USER_ADMIN}/{target}", headers=ADMIN)
    assert (response.status_code, response.json()["name"]) == (status, name)
    if status == 404:
        assert response.json() == {
            "name": "NotFoundError",
            "message": "No user found",
            "details": [{"message": "No user found"}],
        }


def test_a_viewer_gets_403_permission_error_naming_admin(client: TestClient) -> None:
    for method, path in [
        ("GET", f"{USER_ADMIN}/2"),
        ("GET", USER_ADMIN),
        ("DELETE", f"{USER_ADMIN}/1"),
    ]:
        response = client.request(method, path, headers=auth(ALICE_PAT))
        body = response.json()
        assert response.status_code == 403
        assert body.pop("id")
        assert body == {
            "name": "PermissionError",
            "message": PERMISSION_TEXT,
            "details": [{"message": PERMISSION_TEXT}],
            "permissions": ["ADMIN"],
        }  # fmt: skip


def test_an_admin_users_pat_and_session_may_call(client: TestClient) -> None:
    assert client.get(f"{USER_ADMIN}/2", headers=auth(ADMIN_PAT)).status_code == 200
    cookie = log_in(client, "admin", "unleash4all")
    assert client.get(f"{USER_ADMIN}/2", headers={"Cookie": cookie}).status_code == 200


def test_a_demoted_admin_loses_the_permission_at_once(client: TestClient) -> None:
    cookie = log_in(client, "admin", "unleash4all")
    assert (
        client.put(f"{USER_ADMIN}/1", headers=ADMIN, json={"rootRole": "Editor"}).status_code == 200
    )
    assert client.get(f"{USER_ADMIN}/2", headers={"Cookie": cookie}).status_code == 403


def test_current_user_lists_the_permissions_of_the_role_it_has_now(client: TestClient) -> None:
    """docs/observations/unleash-8.2.0.md#root-role-permissions: read at each request, in the
    session the user had, the scope keys first (8.2.0 and 7.6.5 list the same 42)."""
    cookie = log_in(client, "admin", "unleash4all")

    def permissions_after(role: str) -> list[dict[str, str]]:
        changed = client.put(f"{USER_ADMIN}/1", headers=ADMIN, json={"rootRole": role})
        assert changed.status_code == 200
        return client.get("/api/admin/user", headers={"Cookie": cookie}).json()["permissions"]

    editor = permissions_after("Editor")
    assert len(editor) == 42
    assert editor[:2] == [
        {"project": "default", "permission": "CREATE_FEATURE"},
        {"permission": "UPDATE_CONTEXT_FIELD"},
    ]
    assert list(editor[9].items()) == [
        ("project", "default"), ("environment", "production"),
        ("permission", "DELETE_FEATURE_STRATEGY"),
    ]  # fmt: skip
    assert permissions_after("Viewer") == []
    assert permissions_after("Admin") == [{"permission": "ADMIN"}]


@pytest.mark.parametrize(
    ("body", "echoed", "role"),
    [
        ({"rootRole": "Editor"}, "Editor", 2),
        ({"rootRole": 1}, 1, 1),
        ({"rootRole": "2"}, 2, 2),
        ({"rootRole": None}, 0, 3),  # Number(null) is 0: echoed, nothing changed
        ({"name": "Renamed"}, None, 3),
    ],
)
def test_put_echoes_the_role_as_normalised_and_changes_it(
    client: TestClient, body: dict, echoed: object, role: int
) -> None:
    answer = client.put(f"{USER_ADMIN}/2", headers=ADMIN, json=body).json()
    assert answer.get("rootRole") == echoed
    assert ("rootRole" in answer) == ("rootRole" in body)
    assert client.get(f"{USER_ADMIN}/2", headers=ADMIN).json()["rootRole"] == role


def test_put_changes_only_what_is_given_and_not_empty(client: TestClient) -> None:
    answer = client.put(
        f"{USER_ADMIN}/2", headers=ADMIN, json={"name": "", "email": "ALICE2@Example.com", "x": 1}
    ).json()
    assert (answer["name"], answer["email"]) == ("Alice", "alice2@example.com")
    assert client.put(f"{USER_ADMIN}/2", headers=ADMIN, json={"name": 5}).json()["name"] == "5"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"rootRole": "Owner"}, 400, SERVICE_400 + "Could not find rootRole=Owner"),
        ({"rootRole": 7}, 400, SERVICE_400 + "Could not find rootRole=7"),
        ({"email": "notanemail"}, 400, SCHEMA_400),
        ({"name": {}}, 400, SCHEMA_400),
    ],
)
def test_put_refuses_unknown_roles_and_bad_data(
    client: TestClient, body: dict, status: int, message: str
) -> None:
    response = client.put(f"{USER_ADMIN}/2", headers=ADMIN, json=body)
    assert (response.status_code, response.json()["message"]) == (status, message)
    assert client.get(f"{USER_ADMIN}/2", headers=ADMIN).json()["rootRole"] == 3


def test_put_of_an_unknown_user_is_404_and_text_plain_415(client: TestClient) -> None:
    assert client.put(f"{USER_ADMIN}/999", headers=ADMIN, json={"name": "x"}).status_code == 404
    response = client.put(
        f"{USER_ADMIN}/2", headers={**ADMIN, "Content-Type": "text/plain"}, content=b"{}"
    )
    assert (response.status_code, response.json()["name"]) == (415, "ContentTypeError")


def test_delete_ends_the_users_sessions_pats_and_logins(client: TestClient) -> None:
    cookie = log_in(client, "alice", "alice-password-1")
    response = client.delete(f"{USER_ADMIN}/2", headers=ADMIN)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["transfer-encoding"] == "chunked"
    session = client.get("/api/admin/user", headers={"Cookie": cookie})
    assert (session.status_code, session.json()["name"]) == (401, "AuthenticationRequired")
    pat = client.get("/api/admin/user", headers=auth(ALICE_PAT))
    assert (pat.status_code, pat.json()["name"]) == (401, "UnauthorizedError")
    login = client.post(
        "/auth/simple/login", json={"username": "alice", "password": "alice-password-1"}
    )
    assert (login.status_code, login.json()["name"]) == (401, "PasswordMismatch")
    assert client.get(f"{USER_ADMIN}/2", headers=ADMIN).status_code == 404
    assert client.delete(f"{USER_ADMIN}/2", headers=ADMIN).status_code == 404
    assert all(user["id"] != 2 for user in client.get("/_unleash-pat/state").json()["users"])


@pytest.mark.parametrize(
    ("password", "name", "errors"),
    [
        ("", "PasswordUndefinedError", []),
        ("short", "OwaspValidationError", [
            "The password must be at least 10 characters long.",
            "The password must contain at least one uppercase letter.",
            "The password must contain at least one number.",
            "The password must contain at least one special character.",
        ]),
        ("Aaaaaaaa1!", "OwaspValidationError", [
            "The password may not contain sequences of three or more repeated characters.",
        ]),
    ],
)  # fmt: skip
def test_validate_password_refuses_as_the_owasp_test(
    client: TestClient, password: str, name: str, errors: list[str]
) -> None:
    response = client.post(
        f"{USER_ADMIN}/validate-password", headers=auth(ALICE_PAT), json={"password": password}
    )
    body = response.json()
    assert (response.status_code, body["name"]) == (400, name)
    assert body["details"] == [{"validationErrors": errors, "message": body["message"]}]


def test_validate_password_accepts_a_strong_one_with_an_empty_200(client: TestClient) -> None:
    response = client.post(
        f"{USER_ADMIN}/validate-password", headers=ADMIN, json={"password": STRONG}
    )
    assert (response.status_code, response.content) == (200, b"")


def test_owasp_test_counts_utf16_units_and_skips_optional_tests_for_passphrases() -> None:
    assert problems("Aaaaaa1!aaaaaaaaa  b") == [
        "The password may not contain sequences of three or more repeated characters."
    ]
    assert problems("a" * 20) == [
        "The password may not contain sequences of three or more repeated characters."
    ]
    assert problems("Ab1!\U0001f600\U0001f600\U0001f600") == []  # 10 UTF-16 units, no run of 3
    assert "The password must be fewer than 128 characters." in problems("Ab1!" * 40)


def test_change_password_ends_sessions_keeps_pats_and_sets_the_password(client: TestClient) -> None:
    cookie = log_in(client, "alice", "alice-password-1")
    weak = client.post(f"{USER_ADMIN}/2/change-password", headers=ADMIN, json={"password": "short"})
    assert (weak.status_code, weak.json()["name"]) == (400, "OwaspValidationError")
    response = client.post(
        f"{USER_ADMIN}/2/change-password", headers=ADMIN, json={"password": STRONG}
    )
    assert (response.status_code, response.content) == (200, b"")
    assert client.get("/api/admin/user", headers={"Cookie": cookie}).status_code == 401
    assert client.get("/api/admin/user", headers=auth(ALICE_PAT)).status_code == 200
    log_in(client, "alice", STRONG)
    unknown = client.post(
        f"{USER_ADMIN}/999/change-password", headers=ADMIN, json={"password": STRONG}
    )
    assert unknown.status_code == 404  # Unleash: a 500 leaking its SQL (a deliberate difference)


def test_8x_counts_every_post_below_the_path_against_the_create_user_limit() -> None:
    # Routed or not (`validate-password+` is no route: seen counted on 8.2.0).
    app = create_app(options=Options(unleash_version="8.2.0", create_user_rate_limit_per_minute=3))
    with TestClient(app) as client:
        body = {"password": STRONG}
        answers = [
            client.post(f"{USER_ADMIN}/validate-password", headers=auth(ALICE_PAT), json=body),
            client.post(f"{USER_ADMIN}/2/change-password", headers=auth(ALICE_PAT), json=body),
            client.post(f"{USER_ADMIN}/validate-password+", headers=ADMIN, json=body),
            client.post(f"{USER_ADMIN}/validate-password", headers=ADMIN, json=body),
        ]
        # In its case as sent, doubled slashes as one (seen on 8.2.0): the route takes it.
        upper = client.post("/API/ADMIN/USER-ADMIN/validate-password", headers=ADMIN, json=body)
        doubled = client.post("/api//admin/user-admin/validate-password", headers=ADMIN, json=body)
    assert [a.status_code for a in answers] == [200, 403, 404, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[3].headers["ratelimit-policy"] == "3;w=60"
    assert upper.status_code == 200 and "ratelimit-policy" not in upper.headers
    assert doubled.status_code == 429


def test_7x_limits_only_user_creation_after_validation() -> None:
    app = create_app(options=Options(unleash_version="7.6.5", create_user_rate_limit_per_minute=1))
    with TestClient(app) as client:
        checked = client.post(
            f"{USER_ADMIN}/validate-password", headers=ADMIN, json={"password": STRONG}
        )
        assert "ratelimit-remaining" not in checked.headers
        invalid = client.post(USER_ADMIN, headers=ADMIN, json={"username": "zed"})
        assert (invalid.status_code, "ratelimit-remaining" in invalid.headers) == (400, False)
        made = client.post(USER_ADMIN, headers=ADMIN, json={"username": "zed", "rootRole": 3})
        assert (made.status_code, made.headers["ratelimit-remaining"]) == (201, "0")
        refused = client.post(USER_ADMIN, headers=ADMIN, json={"username": "zoe", "rootRole": 3})
        assert refused.status_code == 429


def test_create_user_answers_201_with_invitation_and_the_role_as_sent(client: TestClient) -> None:
    response = client.post(
        USER_ADMIN,
        headers=ADMIN,
        json={"email": "Zed@Example.com", "name": "Zed", "rootRole": "Editor", "sendEmail": False},
    )
    body = response.json()
    assert (response.status_code, response.headers["location"]) == (201, str(body["id"]))
    assert "username" not in body
    assert (body["email"], body["rootRole"], body["emailSent"]) == (
        "zed@example.com",
        "Editor",
        False,
    )
    assert body["inviteLink"].startswith("http://testserver/new-user?token=$2b$10$")
    listed = client.get(USER_ADMIN, headers=ADMIN).json()
    assert [role["name"] for role in listed["rootRoles"]] == ["Admin", "Editor", "Viewer"]
    mine = next(user for user in listed["users"] if user["id"] == body["id"])
    assert (mine["rootRole"], mine["inviteLink"]) == (2, body["inviteLink"])
    assert all(user["inviteLink"] == "" for user in listed["users"] if user["id"] != body["id"])


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"username": "alice", "rootRole": 3}, "User already exists"),
        ({"email": "ALICE@example.com", "rootRole": 3}, "User already exists"),
        ({"rootRole": 3}, "You must specify username or email"),
        ({"username": "zed", "rootRole": "Owner"}, "Could not find rootRole=Owner"),
    ],
)
def test_create_user_refuses_duplicates_and_unknown_roles(
    client: TestClient, body: dict, text: str
) -> None:
    response = client.post(USER_ADMIN, headers=ADMIN, json=body)
    assert (response.status_code, response.json()["details"]) == (400, [{"message": text}])


def test_a_created_user_with_a_password_can_log_in_and_is_viewer_by_id(client: TestClient) -> None:
    made = client.post(
        USER_ADMIN, headers=ADMIN, json={"username": "zed", "rootRole": 3, "password": "short"}
    )
    assert made.status_code == 201
    log_in(client, "zed", "short")  # createUser stores the password unchecked


def older(release: str) -> TestClient:
    return TestClient(create_app(options=Options(unleash_version=release)))


@pytest.mark.parametrize(
    ("release", "keys"),
    [
        ("6.10.1", ["isAPI", "accountType", "id", "name", "username", "email", "imageUrl", "seenAt",
                    "loginAttempts", "createdAt", "scimId", "rootRole"]),
        ("5.6.0", ["isAPI", "accountType", "id", "name", "username", "email", "imageUrl", "seenAt",
                   "loginAttempts", "createdAt", "rootRole"]),
    ],
)  # fmt: skip
def test_older_releases_write_the_user_object_as_their_sessions_see_it(
    release: str, keys: list[str]
) -> None:
    with older(release) as client:
        assert list(client.get(f"{USER_ADMIN}/2", headers=ADMIN).json()) == keys


@pytest.mark.parametrize(
    ("release", "text"),
    [("5.12.8", "ID should be an integer"), ("5.6.0", "User id should be an integer")],
)
def test_5x_refuses_a_non_integer_id_with_a_service_400(release: str, text: str) -> None:
    with older(release) as client:
        body = client.get(f"{USER_ADMIN}/abc", headers=ADMIN).json()
    assert body["details"] == [{"message": text, "description": text}]


def test_5x_password_errors_describe_only_the_empty_password() -> None:
    with older("5.12.8") as client:
        empty, weak = (
            client.post(f"{USER_ADMIN}/validate-password", headers=ADMIN, json={"password": p})
            for p in ("", "short")
        )
        unknown = client.post(
            f"{USER_ADMIN}/999/change-password", headers=ADMIN, json={"password": STRONG}
        )
    assert list(empty.json()["details"][0]) == ["validationErrors", "message", "description"]
    assert list(weak.json()["details"][0]) == ["validationErrors", "message"]
    assert unknown.status_code == 200


@pytest.mark.parametrize(
    ("release", "prefix", "last"),
    [
        ("8.2.0", "$2b$10$", "emailSent"),
        ("6.10.1", "$2a$10$", "emailSent"),
        ("5.6.0", "$2a$10$", "rootRole"),
    ],
)
def test_a_created_users_invitation_and_key_order_follow_the_release(
    release: str, prefix: str, last: str
) -> None:
    with older(release) as client:
        body = client.post(
            USER_ADMIN, headers=ADMIN, json={"username": "zed", "rootRole": 3}
        ).json()
    assert body["inviteLink"].split("token=")[1].startswith(prefix)
    assert list(body)[-1] == last


def test_user_admin_changes_are_kept_in_the_state_file(tmp_path) -> None:
    path = tmp_path / "state.db"
    with TestClient(create_app(state_path=path)) as client:
        client.put(f"{USER_ADMIN}/2", headers=ADMIN, json={"name": "Al", "rootRole": "Editor"})
        client.post(f"{USER_ADMIN}/2/change-password", headers=ADMIN, json={"password": STRONG})
        made = client.post(
            USER_ADMIN, headers=ADMIN, json={"email": "z@example.com", "rootRole": 1}
        )
        client.delete(f"{USER_ADMIN}/1", headers=ADMIN)  # and the admin's PAT with it
    client.app.state.close()  # lets go of the file, as a stopped server does
    with TestClient(create_app(state_path=path)) as client:
        alice = client.get(f"{USER_ADMIN}/2", headers=ADMIN).json()
        assert (alice["name"], alice["rootRole"]) == ("Al", 2)
        log_in(client, "alice", STRONG)
        new_id = made.json()["id"]
        assert client.get(f"{USER_ADMIN}/{new_id}", headers=ADMIN).json()["rootRole"] == 1
        assert client.get(f"{USER_ADMIN}/1", headers=ADMIN).status_code == 404
        assert client.get("/api/admin/user", headers=auth(ADMIN_PAT)).status_code == 401
    client.app.state.close()


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        (USER_ADMIN, "GET,HEAD,POST"),
        (f"{USER_ADMIN}/2", "GET,HEAD,PUT,DELETE"),
        (f"{USER_ADMIN}/validate-password", "POST,GET,HEAD,PUT,DELETE"),
        (f"{USER_ADMIN}/2/change-password", "POST"),
    ],
)
def test_options_lists_methods_in_the_order_unleash_registers_them(
    client: TestClient, path: str, allow: str
) -> None:
    response = client.options(path, headers=ADMIN)
    assert (response.status_code, response.headers["allow"], response.text) == (200, allow, allow)


ROOT_EXTRA = (
    "The root object of the request body does not allow additional properties. Your request "
    "included the `foo` property."
)
BODY_EXTRA = (
    "The `/body` object of the request body does not allow additional properties. Your request "
    "included the `/body/foo` property."
)


@pytest.mark.parametrize(
    ("release", "detail"),
    [
        ("8.2.0", {"path": "/body/foo", "message": BODY_EXTRA}),
        ("5.12.8", {"path": "foo", "description": ROOT_EXTRA, "message": ROOT_EXTRA}),
    ],
)
def test_password_and_creation_bodies_refuse_other_keys(release: str, detail: dict) -> None:
    with older(release) as client:
        checked = client.post(
            f"{USER_ADMIN}/validate-password",
            headers=ADMIN,
            json={"password": STRONG, "confirmPassword": "x", "foo": 1},
        )
        made = client.post(
            USER_ADMIN, headers=ADMIN, json={"username": "z", "rootRole": 3, "foo": 1}
        )
        missing_first = client.post(USER_ADMIN, headers=ADMIN, json={"foo": 1})
    assert checked.json()["details"] == made.json()["details"] == [detail]
    assert "rootRole" in missing_first.json()["details"][0]["path"]


# -- search and access: docs/observations/unleash-8.2.0.md#user-search ------------------------
def _made(client: TestClient, **body: str) -> int:
    created = client.post(USER_ADMIN, headers=ADMIN, json={"rootRole": "Viewer", **body})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _found(client: TestClient, query: str, headers: dict[str, str] = ADMIN) -> list[object]:
    response = client.get(f"{USER_ADMIN}/search{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [user.get("username") or user.get("email") for user in response.json()]


def test_search_finds_a_name_containing_or_a_username_or_email_starting_with_q(
    client: TestClient,
) -> None:
    _made(client, email="carol_x@example.com")
    _made(client, username="bobby", name="Bob")
    assert _found(client, "?q=al") == ["alice"]  # the name "Alice" contains it
    assert _found(client, "?q=LIC") == ["alice"]
    assert _found(client, "?q=example") == []  # an e-mail address only by its start
    assert _found(client, "?q=c_r") == ["carol_x@example.com"]  # `_` is ILIKE's wildcard
    assert _found(client, "?q=a%25") == ["admin", "alice"]
    assert _found(client, "?q=bo", headers=auth(ALICE_PAT)) == ["bobby"]  # any user may search
    for too_short in ("", "?q=", "?q=a", "?q=%25"):
        assert _found(client, too_short) == []


def test_search_answers_the_user_object_without_its_login_keys(client: TestClient) -> None:
    [alice] = client.get(f"{USER_ADMIN}/search?q=alice", headers=ADMIN).json()
    assert list(alice) == [
        "accountType", "id", "name", "username", "email", "imageUrl", "seenAt", "scimId",
        "seatType", "companyRole", "productUpdatesEmailConsent",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("release", "system"),
    [
        ("8.2.0", ["unleash_system_user", "unleash_admin_token"]),
        ("5.8.2", ["unleash_system_user"]),
        ("5.6.0", []),
    ],
)
def test_search_finds_unleashs_system_users_by_username_first(
    release: str, system: list[str]
) -> None:
    with TestClient(create_app(options=Options(unleash_version=release))) as client:
        assert _found(client, "?q=unleash") == system
        assert _found(client, "?q=%25%25") == [*system, "admin", "alice"]
        assert _found(client, "?q=Unleash%20System") == []  # not by its name


@pytest.mark.parametrize(
    ("release", "detail"),
    [
        ("8.2.0", {"message": 'The `/query/q` property must be string. You sent ["a","b"].',
                   "path": "/query/q"}),
        ("5.12.8", {"description": "The `/q` property must be string. You sent undefined.",
                    "message": "The `/q` property must be string. You sent undefined.",
                    "path": "/q"}),
        ("5.6.0", {"description": "The ..q property should be string. You sent undefined.",
                   "message": "The ..q property should be string. You sent undefined.",
                   "path": ".q"}),
    ],
)  # fmt: skip
def test_a_repeated_q_is_refused_in_the_releases_words(release: str, detail: dict) -> None:
    with TestClient(create_app(options=Options(unleash_version=release))) as client:
        response = client.get(f"{USER_ADMIN}/search?q=a&q=b", headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["details"] == [detail]


def test_access_lists_every_users_names_for_any_user(client: TestClient) -> None:
    _made(client, email="carol@example.com")
    response = client.get(f"{USER_ADMIN}/access", headers=auth(ALICE_PAT))
    assert response.json() == {
        "users": [
            {"id": 1, "name": "Admin", "username": "admin", "accountType": "User"},
            {"id": 2, "name": "Alice", "username": "alice", "email": "alice@example.com",
             "accountType": "User"},
            {"id": 3, "email": "carol@example.com", "accountType": "User"},
        ],
        "groups": [],
    }  # fmt: skip


def test_users_come_in_the_tables_order_where_a_written_row_goes_last(
    client: TestClient,
) -> None:
    def order() -> list[int]:
        listed = client.get(USER_ADMIN, headers=ADMIN).json()["users"]
        access = client.get(f"{USER_ADMIN}/access", headers=ADMIN).json()["users"]
        assert [u["id"] for u in access] == [u["id"] for u in listed]
        return [u["id"] for u in listed]

    carol = _made(client, email="carol@example.com", password=STRONG)
    assert order() == [1, 2, carol]
    client.put(f"{USER_ADMIN}/2", headers=ADMIN, json={"rootRole": "Editor"})  # writes the row
    assert order() == [1, carol, 2]
    log_in(client, "admin", "unleash4all")  # a login writes seenAt
    assert order() == [carol, 2, 1]
    client.post(f"{USER_ADMIN}/{carol}/change-password", headers=ADMIN, json={"password": STRONG})
    assert order() == [2, 1, carol]
    client.post("/auth/simple/login", json={"username": "alice", "password": "wrong"})
    assert order() == [2, 1, carol]  # a failed login writes nothing


def test_a_field_beyond_255_characters_is_refused_and_255_stored(client: TestClient) -> None:
    """Unleash's insert or update fails there with a 500 leaking its SQL; trailing spaces
    beyond are cut, as PostgreSQL cuts them."""
    refused = client.put(f"{USER_ADMIN}/2", headers=ADMIN, json={"name": "n" * 256})
    assert refused.status_code == 400
    assert refused.json()["details"] == [
        {"message": "A user's name is at most 255 characters long."}
    ]
    spaced = client.put(f"{USER_ADMIN}/2", headers=ADMIN, json={"name": "n" * 255 + "   "})
    assert spaced.json()["name"] == "n" * 255
    before = client.post(USER_ADMIN, headers=ADMIN, json={"username": "u" * 256, "rootRole": 3})
    assert before.status_code == 400
    assert _made(client, email="next@example.com") == 4  # the failed insert used id 3
