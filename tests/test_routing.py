"""Paths and methods outside the three operations, routed the way Express does
(docs/observations/unleash-8.2.0.md#unrouted, #client-api, #contract, #http-details)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.testclient import TestClient

from mock_server import create_app, versions
from mock_server.node import query
from mock_server.node.compression import negotiate
from mock_server.options import Options
from tests.conftest import ADMIN_PAT, ALICE_PAT, TOKENS, auth


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", TOKENS),
        ("PATCH", TOKENS),
        ("DELETE", TOKENS),
        ("GET", f"{TOKENS}/1"),
        ("PUT", f"{TOKENS}/1"),
        ("GET", f"{TOKENS}.json"),
        ("GET", "/api/admin/nothing-here"),
        # Named as sent, escapes kept (seen on 8.2.0).
        ("DELETE", f"{TOKENS}/x/%2e%2e/2147483000"),
        ("GET", "/api/admin/nothing%2Dhere"),
        # Express routes the path as sent: an escape in a route's fixed part is no route.
        ("GET", "/api/admin/user/%74okens"),
        ("POST", "/api/admin/user%2Ftokens"),
        ("DELETE", f"{TOKENS}%2F1"),
        ("OPTIONS", "/api/admin/user/%74okens"),
        ("GET", "/api/admin/%75ser"),
        ("GET", "/api/admin/user%2F"),
        ("GET", "/api/admin/ui%2Dconfig"),
        ("GET", "/api/admin%2Fuser-admin/1"),
    ],
)
def test_unrouted_requests_are_404_naming_the_path(client, method, path):
    response = client.request(method, path, headers=auth(ADMIN_PAT))
    assert response.status_code == 404
    body = response.json()
    assert body.pop("id")
    message = f"The path you were looking for ({path}) is not available."
    assert body == {"name": "NotFoundError", "message": message, "details": [{"message": message}]}


@pytest.mark.parametrize("path", ["/%61pi/admin/user/tokens", "/%68ealth", "/health%2F"])
def test_an_escaped_letter_takes_a_path_out_of_the_api(client, path):
    """docs/observations/unleash-8.2.0.md#unrouted: neither /api nor /health matches."""
    page = client.get(path)
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    posted = client.post(path, headers=auth(ADMIN_PAT), json={})
    assert posted.status_code == 404
    assert f"<pre>Cannot POST {path}</pre>" in posted.text


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ("/api\\admin/x", "/api\\admin/x"),  # not under /api: a backslash is no slash
        ("/a'b&c/x", "/a&#39;b&amp;c/x"),
        ("/a^b|c/x", "/a^b|c/x"),
        ("/a%22b/x", "/a%22b/x"),
        ("/a`b{c}/x", "/a%60b%7Bc%7D/x"),
    ],
)
def test_express_final_handler_names_the_path_as_encodeurl_and_escape_html_write_it(sent, named):
    """Measured on 8.2.0 (docs/observations/unleash-8.2.0.md#front-end-page)."""
    app = create_app()
    scope = {"type": "http", "method": "DELETE", "path": sent, "raw_path": sent.encode(),
             "query_string": b"", "headers": [(b"host", b"x")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1"}  # fmt: skip
    answer: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        answer.append(message)

    asyncio.run(app(scope, receive, send))
    assert answer[0]["status"] == 404
    assert f"<pre>Cannot DELETE {named}</pre>".encode() in answer[1]["body"]


def test_a_path_parameter_is_decoded_after_routing(client):
    created = client.post(
        TOKENS,
        headers=auth(ADMIN_PAT),
        json={"description": "x", "expiresAt": "2099-01-01T00:00:00Z"},
    )
    assert created.status_code == 201
    escaped = "".join(f"%{ord(c):02X}" for c in str(created.json()["id"]))
    assert client.delete(f"{TOKENS}/{escaped}", headers=auth(ADMIN_PAT)).status_code == 200
    refused = client.delete(f"{TOKENS}/1%2F2", headers=auth(ADMIN_PAT))
    assert refused.status_code == 400
    assert refused.json()["details"][0]["message"].endswith('You sent "1/2".')
    # A route of a unit: /api/admin/user-admin/{id} takes `9%2F9` (and then wants ADMIN).
    assert client.delete("/api/admin/user-admin/9%2F9", headers=auth(ALICE_PAT)).status_code == 403


@pytest.mark.parametrize("path", ["/api/admin/nothing-here", "/api", "/api/", "/api/x", "/API/x"])
def test_unauthenticated_unrouted_requests_under_api_are_401(client, path):
    assert client.put(TOKENS).status_code == 401
    response = client.get(path)
    assert (response.status_code, response.json()["name"]) == (401, "AuthenticationRequired")
    assert client.get(path, headers=auth(ADMIN_PAT)).status_code == 404


API_TOKEN_REQUIRED = {
    "message": "This endpoint requires an API token. Please add an authorization header to your "
    "request with a valid token"
}


@pytest.mark.parametrize("path", ["/api/client/features", "/API/Frontend", "/api/proxy/x"])
@pytest.mark.parametrize("authorization", [None, "", "abc", "Bearer abc"])
def test_client_and_front_end_apis_want_an_api_token_in_every_version(client, path, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(path, headers=headers)
    assert (response.status_code, response.json()) == (401, API_TOKEN_REQUIRED)


@pytest.mark.parametrize("version", list(versions.profiles()))
def test_client_api_refuses_a_pat_where_the_release_checks_the_token_type(version):
    refuses = versions.resolve(version).api_token_routes_refuse_user_tokens
    status = 403 if refuses else 404
    client = TestClient(create_app(options=Options(unleash_version=version)))
    response = client.post("/api/client/features", headers=auth(ADMIN_PAT))
    assert response.status_code == status
    if status == 403:
        message = "invalid token: expected a different token type for this endpoint"
        assert response.json() == {"message": message}
    # /api/proxy has no such check: a PAT goes on to the admin guard, then 404.
    assert client.get("/api/proxy/x", headers=auth(ADMIN_PAT)).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/API/ADMIN/USER/TOKENS", "/api/admin/user/Tokens", f"{TOKENS}/", "/api/admin//user/tokens"],
)
def test_paths_match_case_insensitively_with_loose_slashes(client, path):
    assert client.get(path, headers=auth(ADMIN_PAT)).status_code == 200


def test_not_found_message_keeps_the_callers_case(client):
    response = client.put("/API/ADMIN/USER/TOKENS", headers=auth(ADMIN_PAT))
    assert response.json()["message"] == (
        "The path you were looking for (/api/ADMIN/USER/TOKENS) is not available."
    )


@pytest.mark.parametrize(("path", "allow"), [(TOKENS, "GET,HEAD,POST"), (f"{TOKENS}/4", "DELETE")])
def test_options_lists_the_methods(client, path, allow):
    response = client.options(path, headers=auth(ADMIN_PAT))
    assert response.status_code == 200
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == allow


def test_head_on_the_list_is_a_bodiless_200(client):
    response = client.head(TOKENS, headers=auth(ADMIN_PAT))
    assert response.status_code == 200
    assert response.content == b""


def test_health_answers_good_without_auth(client):
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"health": "GOOD"})


def test_the_contract_is_served_without_auth(client):
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    assert {"getPats", "createPat", "deletePat"} <= {
        op["operationId"] for ops in response.json()["paths"].values() for op in ops.values()
    }


def test_bodies_of_1kb_or_more_are_gzipped_for_clients_that_accept_it(client):
    response = client.get("/docs/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.json()["info"]["version"] == "8.2.0"  # httpx decoded it


# Accept-Encoding -> the coding compression 1.8 (Negotiator 0.6.4) picks, as Node printed them
# (docs/observations/unleash-8.2.0.md#http-edges).
NEGOTIATED = {
    "*": "br",
    "br, gzip": "br",
    "gzip, deflate, br": "br",
    "gzip, deflate, br, zstd": "br",
    "br;q=0.5, gzip": "gzip",
    "br;q=abc, gzip": "gzip",
    "deflate": "deflate",
    "deflate, gzip": "gzip",
    "gzip;q=0.5, deflate;q=0.5": "gzip",
    "*, gzip;q=0.1": "br",
    "GZIP": "gzip",
    "gzip;Q=0": "gzip",
    "gzip;q=0": None,
    "gzip;q=0, identity": None,
    "x-gzip": None,
    "compress": None,
    "identity": None,
    "*;q=0": None,
    "*;q=0.5, identity;q=0.6": None,
    "": None,
}


@pytest.mark.parametrize(("accept", "coding"), NEGOTIATED.items())
def test_the_coding_is_negotiated_as_express_compression_1_8_does(accept, coding):
    assert negotiate(accept) == coding


def test_brotli_bodies_are_the_bytes_node_sends(client):
    import brotli

    plain = client.get("/docs/openapi.json").content
    with client.stream("GET", "/docs/openapi.json", headers={"Accept-Encoding": "br"}) as sent:
        assert sent.headers["content-encoding"] == "br"
        raw = b"".join(sent.iter_raw())
    # compression 1.8 runs Node's brotli at quality 4; on 8.2.0's ui-config its bytes were
    # brotli's at quality 4 exactly (docs/observations/unleash-8.2.0.md#http-edges).
    assert raw == brotli.compress(plain, quality=4)


@pytest.mark.parametrize("accept", ["identity", "x-gzip", "gzip;q=0", ""])
def test_nothing_is_compressed_without_an_accepted_coding(client, accept):
    response = client.get("/docs/openapi.json", headers={"Accept-Encoding": accept})
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) > 1024


def test_small_bodies_are_not_compressed(client):
    response = client.get(TOKENS, headers={**auth(ADMIN_PAT), "Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


def test_a_bug_in_the_mock_is_an_unleash_shaped_500_logged_once_without_credentials(
    app, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    # Our own handler on the mock's logger: other tests' logging set-ups cannot hide records.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("mock_server")
    monkeypatch.setattr(log, "disabled", False)
    level = log.level
    log.setLevel(logging.ERROR)
    log.addHandler(handler)
    app.state.pats.list = broken  # a handler-level bug
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get(f"{TOKENS}?token={ADMIN_PAT}", headers=auth(ADMIN_PAT))
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert response.status_code == 500
    assert [r.getMessage() for r in records] == [f"unexpected error answering GET {TOKENS}"]
    assert records[0].exc_info and str(records[0].exc_info[1]) == "boom"
    assert not any(ADMIN_PAT in r.getMessage() for r in records)
    assert response.json() == {
        "name": "UnknownError",
        "message": "An unexpected error occurred in the unleash-pat mock.",
        "details": [{"message": "An unexpected error occurred in the unleash-pat mock."}],
    }


def test_a_bug_before_routing_is_an_unleash_shaped_500(app):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    app.state.pats.find = broken  # fails inside the auth middleware, outside connexion's
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(TOKENS, headers=auth(ADMIN_PAT))
    assert response.status_code == 500
    assert response.json()["name"] == "UnknownError"


@pytest.mark.parametrize(
    ("query_string", "read"),
    [
        (b"q=a+b%20c", "a b c"),
        (b"q=a%zzb%41", "a%zzb%41"),  # decodeURIComponent throws: qs keeps the whole text
        (b"q=a&q=b", ["a", "b"]),
        (b"q[1]=b&q[0]=a", ["a", "b"]),
        (b"q[x]=1", {"x": "1"}),
        (b"q", ""),
    ],
)
def test_the_query_is_read_as_express_qs_reads_it(query_string, read):
    assert query.value(query_string, "q") == read
