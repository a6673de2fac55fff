"""Big answers are encoded and compressed off the event loop: four clients fetching
a gzip'd 900 kB PAT list keep `/health` answering within 100 ms. Before, each such GET held the
loop about 45 ms while zlib compressed it."""

from __future__ import annotations

import random
import socket
import string
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import ADMIN_PAT, FUTURE, TOKENS

pytestmark = pytest.mark.hostile
CLIENTS = 4
GETS = 3  # per client


def _fetch_gzipped(host: str, port: int) -> int:
    """GET the list with gzip, reading the chunked answer to its end without decoding it (so
    that this client takes little of the GIL it shares with the served mock); its size."""
    request = (
        f"GET {TOKENS} HTTP/1.1\r\nHost: a\r\nAuthorization: {ADMIN_PAT}\r\n"
        "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(1 << 16):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"0\r\n\r\n")
    assert b"content-encoding: gzip" in received[:1000].lower()
    return len(received)


def test_four_clients_fetching_a_900kb_list_leave_health_responsive(
    served_mock, health_stays_responsive
):
    rng = random.Random(7)  # text that compresses as slowly as prose does
    alphabet = string.ascii_letters + string.digits + " "
    with httpx.Client(base_url=served_mock.url, headers={"Authorization": ADMIN_PAT}) as client:
        for n in range(9):
            description = f"{n} " + "".join(rng.choices(alphabet, k=99_000))
            body = {"description": description, "expiresAt": FUTURE}
            assert client.post(TOKENS, json=body).status_code == 201

    def fetch_all() -> list[int]:
        with ThreadPoolExecutor(CLIENTS) as pool:
            calls = [
                pool.submit(_fetch_gzipped, served_mock.host, served_mock.port)
                for _ in range(CLIENTS * GETS)
            ]
            return [call.result() for call in calls]

    sizes = health_stays_responsive(fetch_all)
    assert min(sizes) > 600_000  # random text: gzip saves little
