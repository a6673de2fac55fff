"""No credential reaches the journal (or uvicorn's access log) in any form a client can write
it in: v2 PATs, a query string, percent-encoding, JSON escapes, another charset."""

from __future__ import annotations

import gzip
import json
import logging
import signal
import subprocess
import sys

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Options, create_app
from mock_server.control.journal import redacted_access_log
from tests.conftest import ADMIN_API_TOKEN, ADMIN_PAT, ALICE_PAT, FUTURE, TOKENS, auth

C = "/_unleash-pat"
PASSWORD = "unleash4all"


def _journal_text(client: TestClient) -> str:
    return json.dumps(client.get(f"{C}/journal").json(), ensure_ascii=False)


def _escaped(text: str) -> str:
    """Every character as a JSON \\u escape."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def test_secure_account_tokens_are_redacted_everywhere():
    app = create_app(options=Options(secure_account_tokens=True))
    with TestClient(app) as client:
        created = client.post(
            TOKENS, headers=auth(ADMIN_PAT), json={"description": "v2", "expiresAt": FUTURE}
        ).json()["secret"]
        assert created.startswith("user:v2_")
        client.get(f"{TOKENS}/{created}?token={created}", headers=auth(created))
        client.post(
            TOKENS, headers=auth(created), json={"description": created, "expiresAt": FUTURE}
        )
        text = _journal_text(client)
    assert created not in text
    assert created[:12] + "…" in text  # named by its first characters, as a hex PAT is


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{TOKENS}?token={ALICE_PAT.replace(':', '%3A')}", None),
        (f"{TOKENS}?token={ALICE_PAT.replace(':', '%253A')}", None),
        (f"{TOKENS}?token={ADMIN_API_TOKEN.replace('*', '%2A')}", None),
        (f"{TOKENS}?password={PASSWORD}", None),
        (
            TOKENS,
            '{"description": "' + _escaped(ALICE_PAT) + '", "expiresAt": "2099-01-01T00:00:00Z"}',
        ),
        (
            TOKENS,
            '{"description": "'
            + _escaped(ADMIN_API_TOKEN)
            + '", "expiresAt": "2099-01-01T00:00:00Z"}',
        ),
        (
            TOKENS,
            '{"description": "x", "expiresAt": "2099-01-01T00:00:00Z", "'
            + _escaped("secret")
            + '": "'
            + PASSWORD
            + '"}',
        ),
        (
            "/auth/simple/login",
            '{"username": "admin", "' + _escaped("password") + '": "' + PASSWORD + '"}',
        ),
        ("/auth/simple/login", '{"username": "admin", "pass\\u0077ord": "' + PASSWORD + '"}'),
        ("/auth/simple/login", f"username=admin&password={PASSWORD}"),
        ("/auth/simple/login", f"username=admin&pass%77ord={PASSWORD}"),
        ("/nowhere", '{"x": "' + ALICE_PAT.replace(":", "%3A") + '"}'),
    ],
)
def test_a_credential_in_an_encoded_form_is_redacted(client, path, body):
    if body is None:
        client.get(path, headers=auth(ADMIN_PAT))
    else:
        client.post(
            path, content=body, headers={**auth(ADMIN_PAT), "Content-Type": "application/json"}
        )
    text = _journal_text(client)
    for secret in (ALICE_PAT, ADMIN_API_TOKEN, PASSWORD, ALICE_PAT[5:], ADMIN_API_TOKEN[4:]):
        assert secret not in text, secret
        assert _escaped(secret) not in text
    assert client.get(f"{C}/journal").json()["count"] == 1


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (
            {"Content-Type": "application/json; charset=utf-16"},
            json.dumps({"username": "admin", "password": PASSWORD}).encode("utf-16"),
        ),
        (
            {"Content-Type": "application/json"},
            json.dumps({"username": "admin", "password": PASSWORD}).encode("utf-16-le"),
        ),
        (
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            gzip.compress(
                json.dumps({"username": "admin", "password": PASSWORD}).encode(),
                compresslevel=0,
                mtime=0,  # the same bytes (and test id) in every xdist worker
            ),
        ),
        ({"Content-Type": "application/json"}, b"\xff" + PASSWORD.encode()),
    ],
)
def test_a_body_that_cannot_be_scanned_keeps_no_excerpt_only_its_size(client, headers, body):
    client.post("/auth/simple/login", content=body, headers=headers)
    entry = client.get(f"{C}/journal").json()["requests"][-1]
    assert entry["requestBody"] == ""
    assert entry["requestBytes"] == len(body)
    assert PASSWORD not in json.dumps(entry)


def test_a_token_cut_by_the_excerpt_leaves_no_prefix_of_it(client):
    client.post(f"{C}/fixtures", json={"adminTokens": ["*:*.a-long-admin-token-" + "x" * 300]})
    body = '{"description": "' + "d" * 200 + '", "t": "*:*.a-long-admin-token-' + "x" * 300 + '"}'
    client.post(
        TOKENS, content=body, headers={**auth(ADMIN_PAT), "Content-Type": "application/json"}
    )
    entry = client.get(f"{C}/journal").json()["requests"][-1]
    assert "a-long-admin" not in entry["requestBody"]
    assert entry["requestBody"].startswith('{"description": "ddd')


def test_plain_excerpts_stay_as_they_were_sent(client):
    body = '{"description": "caf\\u00e9 + 100%", "expiresAt": "2099-01-01T00:00:00Z"}'
    client.post(
        TOKENS, content=body, headers={**auth(ADMIN_PAT), "Content-Type": "application/json"}
    )
    client.get(f"{TOKENS}?a=b%20c&d=e+f")
    entries = client.get(f"{C}/journal").json()["requests"]
    assert entries[0]["requestBody"] == body
    assert entries[1]["query"] == "a=b%20c&d=e+f"


def test_the_access_log_filter_is_installed_only_for_its_run():
    logger = logging.getLogger("uvicorn.access")
    before = list(logger.filters)
    with redacted_access_log(lambda token: token == ADMIN_API_TOKEN):
        (added,) = [f for f in logger.filters if f not in before]
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            (
                "127.0.0.1:1",
                "GET",
                f"/x/{ADMIN_API_TOKEN}?t={ALICE_PAT.replace(':', '%3A')}",
                "1.1",
                200,
            ),
            None,
        )
        assert added.filter(record)
        assert ALICE_PAT not in record.getMessage() and ADMIN_API_TOKEN not in record.getMessage()
    assert logger.filters == before


def test_serve_keeps_secrets_out_of_uvicorn_s_access_log():
    command = [
        sys.executable,
        "-m",
        "mock_server.cli",
        "serve",
        "--port",
        "0",
        "--log-level",
        "info",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            url = process.stdout.readline().split(" at ", 1)[1].strip()
            with httpx.Client(base_url=url, timeout=10) as http:
                http.get(f"{TOKENS}?token={ALICE_PAT.replace(':', '%3A')}", headers=auth(ADMIN_PAT))
                http.get(f"/api/admin/{ADMIN_API_TOKEN}?password={PASSWORD}")
                http.get(f"/x/{ALICE_PAT}")
        finally:
            process.send_signal(signal.SIGTERM)
            log = process.communicate(timeout=15)[0]
    assert process.returncode == 0
    assert f"{TOKENS}?token=" in log  # the requests were logged
    for secret in (ALICE_PAT[5:], ADMIN_API_TOKEN, PASSWORD):
        assert secret not in log, log
