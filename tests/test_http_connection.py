"""What Node's HTTP server says and does about the connection, as the served mock says and does it
(docs/observations/unleash-8.2.0.md#http-connection): `Connection`/`Keep-Alive` on every answer,
HTTP/1.0 keep-alive without chunked framing, `100 Continue` at once, a 400 for HTTP/1.1 without
`Host`, several Cookie headers read as one, and absolute-form targets."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from tests.conftest import ADMIN_PAT, served


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    with served(create_app()) as url:
        parts = urlsplit(url)
        yield parts.hostname or "", parts.port or 0


def exchange(address: tuple[str, int], raw: bytes, *, read_until_close: bool = True) -> bytes:
    """`raw` sent on a new connection; what came back, until the server closed it (or, where it
    keeps it, the first answer's head and a short wait for more)."""
    with socket.create_connection(address, timeout=5) as connection:
        connection.sendall(raw)
        received = b""
        connection.settimeout(5 if read_until_close else 0.5)
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            if read_until_close:
                raise
        return received


def head_of(answer: bytes) -> list[str]:
    return answer.split(b"\r\n\r\n", 1)[0].decode().lower().split("\r\n")


ME = b"GET /api/admin/user HTTP/1.%d\r\nHost: x\r\nAuthorization: " + ADMIN_PAT.encode()


def test_an_http_1_1_answer_says_the_connection_is_kept_and_for_how_long(address):
    head = head_of(exchange(address, ME % 1 + b"\r\n\r\n", read_until_close=False))
    assert head[0] == "http/1.1 200 ok"
    assert "connection: keep-alive" in head and "keep-alive: timeout=15" in head


def test_a_client_that_asks_for_close_gets_connection_close(address):
    answer = exchange(address, ME % 1 + b"\r\nConnection: close\r\n\r\n")
    head = head_of(answer)
    assert "connection: close" in head and not any(h.startswith("keep-alive") for h in head)


def test_http_1_0_with_keep_alive_is_kept_and_without_it_closed(address):
    kept = head_of(
        exchange(address, ME % 0 + b"\r\nConnection: keep-alive\r\n\r\n", read_until_close=False)
    )
    assert "connection: keep-alive" in kept and "keep-alive: timeout=15" in kept
    closed = head_of(exchange(address, ME % 0 + b"\r\n\r\n"))
    assert "connection: close" in closed


def test_an_http_1_0_answer_without_a_length_is_not_chunked_and_ends_with_the_connection(address):
    # A DELETE's empty 200 has no Content-Length: chunked framing for an HTTP/1.1 client.
    raw = b"DELETE /api/admin/user/tokens/999999 HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n"
    answer = exchange(address, raw + b"Authorization: " + ADMIN_PAT.encode() + b"\r\n\r\n")
    head = head_of(answer)
    assert head[0] == "http/1.1 200 ok"
    assert "connection: close" in head and not any("chunked" in h for h in head)


def test_http_1_1_without_host_is_nodes_bare_400(address):
    answer = exchange(address, b"GET /api/admin/user HTTP/1.1\r\nAuthorization: x\r\n\r\n")
    assert re.fullmatch(
        rb"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nDate: \w{3}, \d\d \w{3} \d{4} "
        rb"[\d:]{8} GMT\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        answer,
    )


def test_an_http_1_0_answer_with_a_body_keeps_it_whole(address):
    answer = exchange(
        address, ME % 0 + b"\r\nConnection: keep-alive\r\n\r\n", read_until_close=False
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head.lower())
    assert length and len(body) == int(length.group(1)) and body.startswith(b'{"user":')


def test_another_protocol_version_is_answered_and_closed(address):
    head = head_of(exchange(address, b"GET /api/admin/user HTTP/2.0\r\nHost: x\r\n\r\n"))
    assert [h for h in head if h.startswith(("connection", "keep-alive"))] == ["connection: close"]


def test_expect_100_continue_is_answered_at_once_even_when_the_body_is_never_read(address):
    raw = b"DELETE /api/admin/user/tokens/abc HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
    answer = exchange(
        address, raw + b"Authorization: " + ADMIN_PAT.encode() + b"\r\n\r\n", read_until_close=False
    )
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\n")


def test_an_unmet_expectation_gets_nodes_bare_417_and_the_connection_goes_on(address):
    # Measured on 8.2.0: any other Expect (an empty one too), before Unleash sees the request;
    # the unread body is skipped and the next request on the connection is answered.
    for expect in (b"something", b""):
        raw = b"POST /health HTTP/1.1\r\nHost: x\r\nExpect: " + expect + b"\r\n"
        raw += b"Content-Length: 5\r\n\r\nabcde" + ME % 1 + b"\r\nConnection: close\r\n\r\n"
        refused, _, rest = exchange(address, raw).partition(b"0\r\n\r\n")
        head = head_of(refused)
        assert sum(h.startswith("date: ") for h in head) == 1
        assert [h for h in head if not h.startswith("date: ")] == [
            "http/1.1 417 expectation failed",
            "connection: keep-alive",
            "keep-alive: timeout=15",
            "transfer-encoding: chunked",
        ]
        assert rest.startswith(b"HTTP/1.1 200 OK\r\n")


def test_an_expectation_node_meets_anywhere_in_the_header_gets_100_continue(address):
    raw = b"GET /health HTTP/1.1\r\nHost: x\r\nExpect: foo, 100-Continue\r\n"
    answer = exchange(address, raw + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")


def test_http_2_0_text_is_framed_and_kept_as_http_1_0(address):
    closed = exchange(address, b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n")
    assert "transfer-encoding: chunked" not in head_of(closed)
    kept = head_of(
        exchange(
            address,
            b"GET /health HTTP/2.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
            read_until_close=False,
        )
    )
    assert "connection: keep-alive" in kept and "keep-alive: timeout=15" in kept


@pytest.mark.parametrize("path", [b"/health%zz", b"/x/%zz/y", b"/foo%", b"/foo%e0%a4"])
@pytest.mark.parametrize("method", [b"GET", b"HEAD", b"POST"])
def test_a_path_outside_the_api_that_cannot_be_decoded_is_express_s_400_page(address, method, path):
    # Measured on 8.2.0, for any method: the front end fails to decode it.
    answer = exchange(address, method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n" + CLOSE)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"content-security-policy: default-src 'none'" in head.lower()
    assert b"content-length: 138" in head.lower()
    assert body == (b"" if method == b"HEAD" else FINAL_400)


FINAL_400 = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
    b"</head>\n<body>\n<pre>Bad Request</pre>\n</body>\n</html>\n"
)
CLOSE = b"Connection: close\r\n\r\n"


def test_several_cookie_headers_are_read_joined_as_node_joins_them():
    with TestClient(create_app()) as client:
        login = client.post(
            "/auth/simple/login", json={"username": "admin", "password": "unleash4all"}
        )
        session = login.headers["set-cookie"].split(";")[0]
        client.cookies.clear()
        headers = [("cookie", "a=1"), ("cookie", session)]
        assert client.get("/api/admin/user/tokens", headers=headers).status_code == 200


def test_an_absolute_form_target_reaches_only_the_front_ends_catch_all(address):
    # Measured on 8.2.0: no route or mount of Unleash (its authentication neither) takes it.
    target = b"http://example.com/api/admin/user/tokens"
    posted = exchange(
        address, b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert posted.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert b"<pre>Cannot POST /api/admin/user/tokens</pre>" in posted
    got = exchange(address, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and b"text/html" in got
    counted = head_of(
        exchange(
            address,
            b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAuthorization: user:x\r\n"
            b"Connection: close\r\n\r\n",
        )
    )
    assert any(h.startswith("ratelimit-remaining") for h in counted)  # a PAT is still counted
    options = exchange(
        address, b"OPTIONS " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert options.startswith(b"HTTP/1.1 200 OK\r\n") and options.endswith(b"\r\n\r\nGET,HEAD")
