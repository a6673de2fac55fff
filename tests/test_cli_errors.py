"""`unleash-pat` rejects what cannot work before it prints or builds anything."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

CLI = [sys.executable, "-m", "mock_server.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=30, env=env)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_busy_port_exits_2_naming_the_port_and_suggesting_port_without_a_banner(busy_port):
    result = run_cli("serve", "--port", str(busy_port))
    assert result.returncode == 2
    assert result.stdout == ""  # no banner, no credentials
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_address_of_no_local_interface_exits_2_with_the_reason():
    result = run_cli("serve", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1
    assert (result.returncode, result.stdout) == (2, "")
    assert "cannot listen on 192.0.2.1:0" in result.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--port", "65536"], "argument --port: must be from 0 to 65535, not 65536"),
        (["--port", "http"], "argument --port: not a number: 'http'"),
        (
            ["--rate-limit-per-minute", "0"],
            "argument --rate-limit-per-minute: must be from 1 to 1e+09, not 0",
        ),
        (["--seen-at-flush-seconds", "-1"], "must be 0 (at once) or from 0.001 to 86400, not -1"),
        (["--seen-at-flush-seconds", "inf"], "must be 0 (at once) or from 0.001 to 86400, not inf"),
        (["--token-expiry-notification-days", "-3"], "must be >= 0, not -3"),
        (["--log-level", "verbose"], "argument --log-level: invalid choice: 'verbose'"),
        (
            ["--token-expiry-notification-days", "7"],
            "--token-expiry-notification-days needs --token-expiry-notifications",
        ),
    ],
)
def test_invalid_serve_arguments_exit_2_before_the_banner(args, problem):
    result = run_cli("serve", *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert problem in result.stderr


def test_check_without_the_check_extra_says_how_to_install_it():
    # A plain install, in a child process: the contract suite's dependencies are not found.
    plain = (
        "import importlib.util, sys; found = importlib.util.find_spec; "
        "importlib.util.find_spec = lambda name, *a: "
        "None if name in ('schemathesis', 'hypothesis') else found(name, *a); "
        "from mock_server.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", plain, "check"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "needs schemathesis and hypothesis" in result.stderr
    assert "pip install 'unleash-pat[check]'" in result.stderr


@pytest.mark.parametrize(("log_level", "logged"), [("warning", False), ("info", True)])
def test_a_malformed_request_is_answered_400_and_logged_with_context_at_info(log_level, logged):
    with (
        socket.socket() as probe,
        subprocess.Popen(
            [*CLI, "serve", "--port", "0", "--log-level", log_level],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process,
    ):
        try:
            port = int(process.stdout.readline().rsplit(":", 1)[1])
            probe.connect(("127.0.0.1", port))  # bound before the banner: no wait needed
            probe.sendall(b"NOT HTTP\r\n\r\n")
            assert probe.recv(100).startswith(b"HTTP/1.1 400 ")
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        log = process.stderr.read()
    assert "Invalid HTTP request received" not in log
    assert ("not valid HTTP/1.1; answered 400 Bad Request" in log) is logged
