"""Who may use the control API: a control token that means something, and no request a web page
could make (another Host, another Origin, a body that is not JSON)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mock_server import create_app
from tests.test_cli_errors import run_cli

C = "/_unleash-pat"


@pytest.mark.parametrize("token", ["", " ", "\t\n"])
def test_an_empty_control_token_is_refused_by_create_app(token):
    with pytest.raises(ValueError, match="control token"):
        create_app(control_token=token)


@pytest.mark.parametrize("token", ["", "   "])
def test_serve_refuses_an_empty_control_token_before_it_serves(token):
    result = run_cli("serve", "--port", "0", "--host", "0.0.0.0", "--control-token", token)
    assert (result.returncode, result.stdout) == (2, "")
    assert "--control-token" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_absent_authorization_never_matches_a_control_token():
    with TestClient(create_app(control_token="s3cret")) as client:
        assert client.get(f"{C}/state").status_code == 401
        assert client.get(f"{C}/state", headers={"Authorization": ""}).status_code == 401
        assert client.get(f"{C}/state", headers={"Authorization": "Bearer "}).status_code == 401
        assert client.get(f"{C}/state", headers={"Authorization": "Bearer s3cret"}).is_success


@pytest.mark.parametrize(
    "host", ["127.0.0.1:4242", "localhost", "LOCALHOST:1", "app.localhost", "[::1]:80", "127.9.9.9"]
)
def test_loopback_hosts_reach_the_control_api(host):
    with TestClient(create_app(control_allowed_hosts=())) as client:
        assert client.get(f"{C}/state", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:4242", "127.0.0.1.evil.example", "10.0.0.1", "testserver"],
)
def test_a_rebinding_host_is_refused_with_a_reason(host):
    with TestClient(create_app(control_allowed_hosts=())) as client:
        for method, path in (("GET", "/state"), ("POST", "/reset"), ("GET", "/journal")):
            response = client.request(method, C + path, headers={"Host": host})
            assert response.status_code == 403
            assert "Host" in response.json()["error"]
            assert "--control-allowed-host" in response.json()["error"]
        # Unleash's own API answers any Host, as Unleash does.
        assert client.get("/health", headers={"Host": host}).status_code == 200


def test_hosts_given_are_allowed_and_the_in_process_host_by_default():
    with TestClient(create_app(control_allowed_hosts=["mock", "Mock.Internal"])) as client:
        for host in ("mock", "mock:4242", "mock.internal"):
            assert client.get(f"{C}/state", headers={"Host": host}).status_code == 200
        assert client.get(f"{C}/state").status_code == 403  # TestClient's own Host: testserver
    with TestClient(create_app()) as client:
        assert client.get(f"{C}/state").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:9999"},
        {"Origin": "http://localhost:4242"},  # another host name is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_origin_request_is_refused_and_changes_nothing(headers):
    app = create_app(control_allowed_hosts=())
    host = {"Host": "127.0.0.1:4242"}
    with TestClient(app) as client:
        for method, path, body in (
            ("POST", "/faults", '{"status": 503}'),
            ("POST", "/fixtures?mode=replace", "{}"),
            ("POST", "/clock/advance", '{"seconds": 86400}'),
            ("GET", "/state", None),
        ):
            response = client.request(
                method,
                C + path,
                content=body,
                headers={**host, **headers, "Content-Type": "text/plain"},
            )
            assert response.status_code == 403, (path, response.text)
            assert "origin" in response.json()["error"].lower()
    assert not app.state.faults and len(app.state.accounts.users()) == 2
    assert abs(app.state.clock.time() - app.state.clock.time()) < 1  # not moved by a day
    assert app.state.clock.now().year < 2100 and not app.state.clock.frozen


def test_a_same_origin_request_is_served():
    with TestClient(create_app(control_allowed_hosts=())) as client:
        headers = {"Host": "127.0.0.1:4242", "Origin": "http://127.0.0.1:4242"}
        assert client.get(f"{C}/state", headers=headers).status_code == 200
        headers = {"Host": "localhost", "Sec-Fetch-Site": "same-origin"}
        assert client.get(f"{C}/state", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_json_by_its_content_type_is_a_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path, body in (
        ("POST", "/faults", '{"status": 503}'),
        ("PUT", "/clock", '{"frozen": true}'),
        ("POST", "/clock/advance", '{"seconds": 86400}'),
        ("PUT", "/options", '{"pats_kill_switch": true}'),
        ("POST", "/fixtures?mode=replace", "{}"),
    ):
        response = client.request(method, C + path, content=body, headers=headers)
        assert response.status_code == 415, (path, response.text)
        assert "Content-Type" in response.json()["error"]
    assert client.get(f"{C}/faults").json() == {"faults": []}
    assert client.get(f"{C}/clock").json()["frozen"] is False


def test_json_with_a_utf8_charset_and_yaml_fixtures_are_taken(client):
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    assert client.post(f"{C}/clock/advance", content='{"seconds": 1}', headers=headers).is_success
    yaml_body = {"Content-Type": "application/yaml"}
    assert client.post(
        f"{C}/fixtures", content="adminTokens: [abcdefgh]", headers=yaml_body
    ).is_success
    headers = {"Content-Type": "application/json; charset=utf-16"}
    assert (
        client.post(f"{C}/clock/advance", content='{"seconds": 1}', headers=headers).status_code
        == 415
    )


def test_serve_answers_its_allowed_hosts_and_refuses_others():
    import signal
    import subprocess
    import sys

    import httpx

    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0"]
    with subprocess.Popen(
        [*command, "--control-allowed-host", "mock", "--control-allowed-host", "db.internal"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            url = process.stdout.readline().split(" at ", 1)[1].strip()
            state = f"{url}/_unleash-pat/state"
            with httpx.Client(timeout=10) as client:
                assert client.get(state).status_code == 200  # Host 127.0.0.1:<port>
                assert client.get(state, headers={"Host": "mock:4242"}).status_code == 200
                assert client.get(state, headers={"Host": "db.internal"}).status_code == 200
                assert client.get(state, headers={"Host": "testserver"}).status_code == 403
                assert client.get(state, headers={"Host": "evil.example"}).status_code == 403
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0


def test_an_ipv6_listen_address_given_bare_is_allowed_in_its_bracketed_host_form():
    with TestClient(create_app(control_allowed_hosts=["fd00::1", "0:0:0:0:0:ffff:a00:1"])) as c:
        assert c.get(f"{C}/state", headers={"Host": "[fd00::1]:4242"}).status_code == 200
        assert c.get(f"{C}/state", headers={"Host": "[::ffff:10.0.0.1]"}).status_code == 200
        assert c.get(f"{C}/state", headers={"Host": "[fd00::2]"}).status_code == 403
