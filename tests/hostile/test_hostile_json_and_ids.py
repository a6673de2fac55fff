"""Hostile JSON bodies, numbers and DELETE ids: each answers what real Unleash 8.2.0 answers
(docs/observations/unleash-8.2.0.md#malformed-json, #json-errors, #deep-body, #coercion,
#delete-id-schema), or the corrected 400 where it answers a 500
(docs/observations/unleash-8.2.0.md#delete-id-range), in the same shape, and `/health` keeps
answering within 100 ms while it is in flight. V8's messages as Node 20's JSON.parse gives them;
sizes far past Python's own limits where the 100 kB body limit allows."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from mock_server.node.javascript import js_number

pytestmark = pytest.mark.hostile

ADMIN_PAT = "user:8a9cd91daa6c7d94da92681820a0934d8cf5d1684e138bff7054b09a"
TOKENS = "/api/admin/user/tokens"
JSON = {"Content-Type": "application/json"}
FUTURE = '"2099-01-01T00:00:00Z"'
LIMIT = 100 * 1024


@pytest.fixture
def post(served_mock, health_stays_responsive):
    """POST a JSON body to the served mock while /health is probed."""

    def send(path: str, body: bytes, **headers: str) -> httpx.Response:
        url, all_headers = served_mock.url + path, {**JSON, **headers}
        return health_stays_responsive(lambda: httpx.post(url, content=body, headers=all_headers))

    return send


@pytest.fixture
def delete(served_mock, health_stays_responsive):
    """DELETE a PAT id, as the fixture admin, while /health is probed."""

    def send(ident: str) -> httpx.Response:
        url = f"{served_mock.url}{TOKENS}/{ident}"
        auth = {"Authorization": ADMIN_PAT}
        return health_stays_responsive(lambda: httpx.delete(url, headers=auth))

    return send


def assert_bad_data(response: httpx.Response, path: str, message: str) -> None:
    """Unleash's schema error: 400 BadDataError with an id and one detail."""
    assert response.status_code == 400
    body: dict[str, Any] = response.json()
    assert set(body) == {"id", "name", "message", "details"}
    assert body["name"] == "BadDataError"
    assert body["details"] == [{"message": f"The `{path}` property {message}.", "path": path}]


# --- JSON the body parser rejects: V8's message, before any authentication ------------------

DEEP_INVALID = [
    pytest.param(b"[" * LIMIT, "Unexpected end of JSON input", id="100kB-of-open-brackets"),
    pytest.param(
        b"[" * 50_000 + b"1 2" + b"]" * 50_000,
        "Expected ',' or ']' after array element in JSON at position 50002",
        id="missing-comma-50000-deep",
    ),
    pytest.param(
        b'{"a":' * 16_000 + b"1" + b"]" * 16_000,
        "Expected ',' or '}' after property value in JSON at position 80001",
        id="wrong-closer-16000-objects-deep",
    ),
    pytest.param(
        b"[" * 50_000 + b"]" * 50_001,
        "Unexpected non-whitespace character after JSON at position 100000",
        id="extra-closer-50000-deep",
    ),
    pytest.param(
        b"[" * 1500 + b"]" * 1499 + b"}",
        "Expected ',' or ']' after array element in JSON at position 2999",
        id="mismatched-closer-1500-deep",
    ),
    pytest.param(
        b"[" * 30_000 + b'"\\x"' + b"]" * 30_000,
        "Bad escaped character in JSON at position 30002",
        id="bad-escape-30000-deep",
    ),
    pytest.param(
        b"[" * 30_000 + b"-" + b"]" * 30_000,
        "No number after minus sign in JSON at position 30001",
        id="bare-minus-30000-deep",
    ),
]


@pytest.mark.parametrize(("body", "message"), DEEP_INVALID)
def test_deep_invalid_json_is_rejected_with_v8s_message(post, body, message):
    response = post(TOKENS, body)
    assert (response.status_code, response.json()) == (400, {"message": message})


def test_deep_invalid_json_inside_a_valid_create_is_rejected_not_created(post, served_mock):
    """Nested past Python's recursion limit, this body was read loosely and the PAT created."""
    body = (
        b'{"description":"deep","expiresAt":' + FUTURE.encode() + b',"a":'
        + b"[" * 1500 + b"]" * 1499 + b"}"
    )  # fmt: skip
    response = post(TOKENS, body, Authorization=ADMIN_PAT)
    message = "Expected ',' or ']' after array element in JSON at position 3060"
    assert (response.status_code, response.json()) == (400, {"message": message})
    listed = httpx.get(served_mock.url + TOKENS, headers={"Authorization": ADMIN_PAT})
    assert "deep" not in [pat["description"] for pat in listed.json()["pats"]]


def test_deep_valid_json_is_parsed_and_named_too_deep_to_display(post):
    """Past about 4,088 nested arrays real 8.2.0's JSON.stringify overflows its stack, and
    Unleash names the value instead of printing it (checked up to 51,200 levels)."""
    body = b"[" * 5000 + b"]" * 5000
    response = post(TOKENS, body, Authorization=ADMIN_PAT)
    assert_bad_data(
        response, "/body", "must be object. You sent [value too large or deeply nested to display]"
    )


def test_a_megabyte_of_nesting_is_too_large_before_it_is_parsed(post):
    response = post(TOKENS, b"[" * 1_000_000)
    assert (response.status_code, response.json()) == (413, {"message": "request entity too large"})


# --- JSON numbers past a double's range: Infinity, as V8 reads them, never a 500 --------------

BIG = "9" * 43_000  # ten times the 4,300 digits of Python's int-string limit


@pytest.mark.parametrize(("number", "stored"), [(BIG, "Infinity"), ("-" + "9" * 400, "-Infinity")])
def test_a_huge_integer_description_is_coerced_to_infinity(post, number, stored):
    body = f'{{"description":{number},"expiresAt":{FUTURE}}}'.encode()
    response = post(TOKENS, body, Authorization=ADMIN_PAT)
    assert response.status_code == 201
    assert response.json()["description"] == stored


def test_a_huge_integer_expiry_is_the_string_infinity_and_no_date(post):
    body = f'{{"description":"x","expiresAt":{BIG}}}'.encode()
    response = post(TOKENS, body, Authorization=ADMIN_PAT)
    assert_bad_data(
        response, "/body/expiresAt", 'must match format "date-time". You sent "Infinity"'
    )


def test_a_huge_integer_inside_an_object_prints_as_null(post):
    body = f'{{"description":{{"a":{BIG}}},"expiresAt":{FUTURE}}}'.encode()
    response = post(TOKENS, body, Authorization=ADMIN_PAT)
    assert_bad_data(response, "/body/description", 'must be string. You sent {"a":null}')


def test_a_huge_integer_login_body_is_not_an_object(post):
    response = post("/auth/simple/login", ("9" * 99_000).encode())
    assert_bad_data(response, "/body", "must be object. You sent null")


def test_a_huge_integer_username_is_a_password_mismatch(post):
    body = f'{{"username":{BIG},"password":"x"}}'.encode()
    response = post("/auth/simple/login", body)
    assert response.status_code == 401
    assert response.json()["name"] == "PasswordMismatch"


# --- DELETE ids: linear Number() coercion; past the largest double, Infinity ------------------


@pytest.mark.parametrize(
    "ident",
    ["0x" + "f" * 3000, "0b" + "1" * 11_000, "0o" + "7" * 4000, "9" * 4000],
    ids=["hex", "binary", "octal", "decimal"],
)
def test_an_id_past_the_largest_double_is_infinity_above_int4(delete, ident):
    """Real 8.2.0 answers 500 (PostgreSQL cannot read "Infinity"); the mock answers the 400 of
    its int4 bound, as for the id Infinity (tests/parity/deliberate_differences.yaml)."""
    assert_bad_data(delete(ident), "/params/id", "must be <= 2147483647. You sent null")


def test_a_long_id_that_is_no_number_is_answered_at_once(delete):
    """15,000 digits and an x, under Node's 16 kB header limit (real 8.2.0 answers the same).
    The backtracking regex took about 5 s on this."""
    ident = "1" * 15_000 + "x"
    assert_bad_data(delete(ident), "/params/id", f'must be integer. You sent "{ident}"')


def test_a_640kb_id_is_refused_without_stalling(health_stays_responsive, send_raw):
    ident = "1" * 640_000 + "x"
    request = (
        f"DELETE {TOKENS}/{ident} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {ADMIN_PAT}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    response = health_stays_responsive(lambda: send_raw(request))
    assert (response.status, response.body) == (431, b"")  # Node's limit: 16 kB of head
    assert response.seconds < 0.1


def test_js_number_reads_a_640kb_id_in_linear_time():
    for ident in ["1" * 640_000 + "x", "0x" + "f" * 640_000, "1." + "1" * 640_000 + "e"]:
        started = time.perf_counter()
        js_number(ident)
        assert time.perf_counter() - started < 0.05, ident[-3:]
