"""Bad input never produces a 500 and never changes state; Express's body parser runs first."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, TOKENS, auth, listed

JSON = {"Content-Type": "application/json"}
VALID = b'{"description":"ok","expiresAt":"2099-01-01T00:00:00Z"}'

BAD_BODIES = [
    pytest.param(b"{not json", id="malformed"),
    pytest.param(b'{"description":"a"', id="truncated"),
    pytest.param(b"\xff\xfe\x00garbage", id="invalid-utf8"),
    pytest.param(b'{"description":"a\\u0000b","expiresAt":"2099-01-01T00:00:00Z"}', id="nul"),
    pytest.param(b'{"description":' + b"[" * 50_000 + b"]" * 50_000 + b"}", id="deep-array"),
    pytest.param(b'{"a":' * 20_000 + b"1" + b"}" * 20_000, id="deep-object"),
    pytest.param(b'{"description":"' + b"x" * 200_000 + b'"}', id="huge"),
    pytest.param(b'{"description":1e999,"expiresAt":"nope"}', id="infinite-number"),
    pytest.param(b'{"description":"x","expiresAt":"2099-01-01T00:00:00+99:99"}', id="bad-offset"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"null", id="null"),
    pytest.param(b"", id="empty"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("credential", [ADMIN_PAT, None], ids=["pat", "anonymous"])
def test_bad_bodies_are_4xx_and_change_nothing(app, client, body, credential):
    headers = {**JSON, **(auth(credential) if credential else {})}
    response = client.post(TOKENS, headers=headers, content=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert [p.id for p in app.state.pats.list(1)] == [1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Expected property name or '}' in JSON at position 1"),
        (b'{"a":1,}', "Expected double-quoted property name in JSON at position 7"),
        (b'{"a" 1}', "Expected ':' after property name in JSON at position 5"),
        (b'{"a":1 "b":2}', "Expected ',' or '}' after property value in JSON at position 7"),
        (b'{"a":1}x', "Unexpected non-whitespace character after JSON at position 7"),
        (b'{"a":"', "Unterminated string in JSON at position 6"),
        (b"[1,2", "Expected ',' or ']' after array element in JSON at position 4"),
        (b'["a\\"{", 1 2]', "Expected ',' or ']' after array element in JSON at position 11"),
        (b"nope", "Unexpected token 'o', \"nope\" is not valid JSON"),
        (
            b'{"description":"ab","expiresAt":x}',
            'Unexpected token \'x\', ..."xpiresAt":x}" is not valid JSON',
        ),
        (
            b'xx{"description":"ab","expiresAt":1}',
            'Unexpected token \'x\', "xx{"descri"... is not valid JSON',
        ),
    ],
)
def test_malformed_json_is_answered_before_auth_with_v8s_message(client, body, message):
    response = client.post(TOKENS, headers=JSON, content=body)
    assert response.status_code == 400
    assert response.json() == {"message": message}
    assert "ratelimit-limit" not in response.headers


def test_body_over_100kb_is_413_even_without_credentials(client):
    response = client.post(TOKENS, headers=JSON, content=b" " * 102_401)
    assert response.status_code == 413
    assert response.json() == {"message": "request entity too large"}
    assert (
        client.post(
            TOKENS,
            headers={**JSON, **auth(ADMIN_PAT)},
            content=VALID + b" " * (102_400 - len(VALID)),
        ).status_code
        == 201
    )


def test_unsupported_charset_and_encoding_are_415_from_the_parser(client):
    latin = client.post(
        TOKENS, headers={"Content-Type": "application/json; charset=latin1"}, content=VALID
    )
    assert (latin.status_code, latin.json()) == (415, {"message": 'unsupported charset "LATIN1"'})
    brotli = client.post(TOKENS, headers={**JSON, "Content-Encoding": "br"}, content=VALID)
    assert brotli.json() == {"message": 'unsupported content encoding "br"'}


def test_gzipped_body_is_inflated(client):
    headers = {**JSON, **auth(ADMIN_PAT), "Content-Encoding": "gzip"}
    assert client.post(TOKENS, headers=headers, content=gzip.compress(VALID)).status_code == 201


def test_invalid_utf8_becomes_replacement_characters(client):
    body = b'{"description":"bad\xff\xfe","expiresAt":"2099-01-01T00:00:00Z"}'
    response = client.post(TOKENS, headers={**JSON, **auth(ADMIN_PAT)}, content=body)
    assert response.json()["description"] == "bad\ufffd\ufffd"


def test_a_byte_order_mark_is_ignored(client):
    response = client.post(
        TOKENS, headers={**JSON, **auth(ADMIN_PAT)}, content=b"\xef\xbb\xbf" + VALID
    )
    assert response.status_code == 201


def test_duplicate_keys_keep_the_last(client):
    body = b'{"description":"a","description":"b","expiresAt":"2099-01-01T00:00:00Z"}'
    response = client.post(TOKENS, headers={**JSON, **auth(ADMIN_PAT)}, content=body)
    assert response.json()["description"] == "b"


def test_deeply_nested_extra_field_is_ignored(client):
    body = (
        b'{"description":"deep","x":'
        + b"[" * 10_000
        + b"]" * 10_000
        + b',"expiresAt":"2099-01-01T00:00:00Z"}'
    )
    assert client.post(TOKENS, headers={**JSON, **auth(ADMIN_PAT)}, content=body).status_code == 201


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        (None, "you didn't provide one"),
        ("text/plain", "text/plain"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("application/merge-patch+json", "application/merge-patch+json"),
        ("application/vnd.api+json", "application/vnd.api+json"),
        ("garbage", "garbage"),
    ],
)
def test_non_json_content_types_are_415_naming_the_type(client, content_type, named):
    headers = auth(ADMIN_PAT) | ({"Content-Type": content_type} if content_type else {})
    response = client.post(TOKENS, headers=headers, content=VALID)
    assert response.status_code == 415
    body = response.json()
    assert body["name"] == "ContentTypeError"
    assert f"({named})" in body["message"]
    assert "id" in body


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "application/json; charset=UTF-8"])
def test_json_content_type_matching_ignores_case_and_parameters(client, content_type):
    response = client.post(
        TOKENS, headers={**auth(ADMIN_PAT), "Content-Type": content_type}, content=VALID
    )
    assert response.status_code == 201


def test_auth_is_checked_before_the_content_type(client):
    response = client.post(TOKENS, headers={"Content-Type": "text/plain"}, content=b"x")
    assert response.status_code == 401


def test_admin_token_with_a_bad_body_gets_the_validation_error_first(client):
    headers = {**JSON, **auth(ADMIN_API_TOKEN)}
    response = client.post(TOKENS, headers=headers, content=b'{"description":"x"}')
    assert response.status_code == 400
    assert listed(client)[0]["id"] == 1
