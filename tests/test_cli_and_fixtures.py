"""`unleash-pat serve`, fixture files, and the pytest plugin."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from mock_server import FixtureError, fixtures
from mock_server.versions import releases
from tests.conftest import ADMIN_PAT, TOKENS, auth

SERVE = [sys.executable, "-m", "mock_server.cli", "serve"]


def run_serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("users: [", "not valid YAML"),
        ("users:\n  - id: 1\n", "'username' is a required property"),
        (
            "users:\n  - id: 1\n    username: a\n    pats:\n      - description: d\n"
            "        secret: nope\n        expiresAt: '2099-01-01T00:00:00Z'\n",
            "must be user: followed by 56 lowercase hex digits",
        ),
        ("users:\n  - {id: 1, username: a}\n  - {id: 1, username: b}\n", "listed twice"),
        ("surprise: 1\n", "Additional properties"),
    ],
)
def test_invalid_fixture_file_fails_start_up_with_exit_2_naming_file_and_problem(
    tmp_path, content, problem
):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = run_serve("--fixtures", str(path), "--port", "0")
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_fixture_file_fails_with_exit_2(tmp_path):
    result = run_serve("--fixtures", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_fixture_errors_are_fixture_errors():
    with pytest.raises(FixtureError, match="descriptions are unique per user"):
        fixtures.parse(
            {
                "users": [
                    {
                        "id": 1,
                        "username": "a",
                        "pats": [
                            {
                                "description": "d",
                                "secret": "user:" + "a" * 56,
                                "expiresAt": "2099-01-01T00:00:00Z",
                            },
                            {
                                "description": "d",
                                "secret": "user:" + "b" * 56,
                                "expiresAt": "2099-01-01T00:00:00Z",
                            },
                        ],
                    }
                ]
            }
        )


def test_default_fixtures_are_documented_credentials():
    loaded = fixtures.load()
    (admin, admin_pats), (alice, _) = loaded.users
    assert (admin.id, admin.username, admin.password, admin.admin) == (
        1,
        "admin",
        "unleash4all",
        True,
    )
    assert admin_pats[0].secret == ADMIN_PAT
    assert alice.id == 2
    assert loaded.admin_tokens == ("*:*.unleash-insecure-admin-api-token",)


def test_serve_prints_url_and_credentials_serves_and_exits_cleanly_on_sigterm(free_port):
    with subprocess.Popen(  # closes its pipes: an open one is a ResourceWarning, an error here
        [*SERVE, "--port", str(free_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _serve_and_stop(process, free_port)


def _serve_and_stop(process: subprocess.Popen, free_port: int) -> None:
    try:
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{free_port}" in banner
        url = f"http://127.0.0.1:{free_port}{TOKENS}"
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.get(url, headers=auth(ADMIN_PAT))
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the mock did not start"
                time.sleep(0.05)
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        printed = banner + process.stdout.read()
        assert ADMIN_PAT in printed and "unleash4all" in printed
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pytest_plugin_serves_one_mock_and_resets_it_per_test(pytester):
    pytester.makepyfile(
        f"""
        import httpx

        def test_first(unleash):
            r = httpx.post(unleash.url + "{TOKENS}", headers={{"Authorization": unleash.token}},
                           json={{"description": "x", "expiresAt": "2099-01-01T00:00:00Z"}})
            assert r.status_code == 201

        def test_second_sees_a_reset_store(unleash):
            r = httpx.get(unleash.url + "{TOKENS}", headers={{"Authorization": unleash.token}})
            assert [p["description"] for p in r.json()["pats"]] == ["default"]
        """
    )
    result = pytester.runpytest_subprocess()  # the plugin loads through its entry point
    result.assert_outcomes(passed=2)


def test_installed_package_finds_its_contract_releases_and_fixtures():
    assert releases.REFERENCE.is_file() and releases.REFERENCE.name == "openapi.yaml"
    assert (releases.BUNDLED / "schema.yaml").is_file()
    assert fixtures.DEFAULT_PATH.is_file()


def _secret(n: int) -> str:
    return f"user:{n:056x}"


def test_a_fixture_file_names_every_problem_and_never_prints_a_secret(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "users:\n"
        "  - {id: 1, username: a, pats: [{description: d, secret: 'user:SECRETSECRET', "
        "expiresAt: '2099-01-01T00:00:00Z'}]}\n"
        "  - {id: 2}\n"
        "surprise: 1\n"
    )
    result = run_serve("--fixtures", str(path), "--port", "0")
    assert result.returncode == 2
    for problem in ("must be user: followed by", "'username' is a required", "surprise"):
        assert problem in result.stderr
    assert "SECRETSECRET" not in result.stderr


def test_a_user_over_the_versions_limit_is_refused_saying_the_limit_without_secrets(tmp_path):
    expires = "2099-01-01T00:00:00Z"
    pats = "".join(
        f"      - {{description: d{n}, secret: '{_secret(n)}', expiresAt: '{expires}'}}\n"
        for n in range(11)
    )
    path = tmp_path / "eleven.yaml"
    path.write_text(f"users:\n  - id: 1\n    username: a\n    pats:\n{pats}")
    result = run_serve("--fixtures", str(path), "--port", "0")
    assert result.returncode == 2
    assert "holds 11 PATs; Unleash 8.2.0 allows at most 10 per user" in result.stderr
    assert "user:0" not in result.stderr
