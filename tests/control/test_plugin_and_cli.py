"""The control plane in the pytest plugin (the `unleash` fixture's client, `unleash_options`)
and in `unleash-pat serve`'s flags."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mock_server.cli import _control_on, build_parser


def test_the_plugin_drives_the_mock_and_restores_it_for_the_next_test(pytester):
    pytester.makepyfile(
        """
        import httpx
        import pytest

        TOKENS = "/api/admin/user/tokens"

        def get(unleash):
            return httpx.get(unleash.url + TOKENS, headers={"Authorization": unleash.token})

        def test_moves_time_faults_and_counts(unleash):
            unleash.clock.freeze("2031-01-01T00:00:00Z")
            unleash.clock.advance(days=15)
            assert unleash.clock.get() == {"now": "2031-01-16T00:00:00.000Z", "frozen": True}
            unleash.faults.add(method="GET", path=TOKENS, status=503, times=1)
            assert get(unleash).status_code == 503
            httpx.delete(unleash.url + TOKENS + "/1", headers={"Authorization": unleash.token})
            assert unleash.journal.count(method="DELETE") == 1
            unleash.load({"adminTokens": ["more"]})
            assert unleash.snapshot()["adminTokens"][-1] == "more"
            unleash.options.set(pats_kill_switch=True)

        def test_the_next_test_starts_clean(unleash):
            assert unleash.clock.get()["frozen"] is False
            assert unleash.faults.list() == [] and unleash.journal.count() == 0
            assert get(unleash).status_code == 200
            assert unleash.snapshot()["adminTokens"] == ["*:*.unleash-insecure-admin-api-token"]

        @pytest.mark.parametrize("unleash_options", [{"pats_kill_switch": True}])
        def test_options_for_one_test(unleash):
            assert get(unleash).json()["message"] == "PATs are disabled."

        def test_and_back_after_it(unleash):
            assert get(unleash).status_code == 200
        """
    )
    pytester.makepyfile(
        test_module_options="""
        import httpx
        import pytest

        @pytest.fixture
        def unleash_options():
            return {"token_expiry_notifications": True, "rate_limit_per_minute": 1}

        def test_options_for_a_module(unleash):
            assert unleash.options.get()["token_expiry_notifications"] is True
            headers = {"Authorization": unleash.token}
            statuses = [httpx.get(unleash.url + "/api/admin/user/tokens", headers=headers)
                        .status_code for _ in range(2)]
            assert statuses == [200, 429]

        def test_an_unknown_option_fails_loudly(unleash):
            from mock_server.control.client import ControlRequestError
            with pytest.raises(ControlRequestError, match="400"):
                unleash.options.set(no_such_option=1)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize(
    ("argv", "on"),
    [
        ([], True),
        (["--no-control"], False),
        (["--host", "0.0.0.0"], False),
        (["--host", "0.0.0.0", "--control-token", "t"], True),
        (["--host", "::1"], True),
        (["--host", "localhost"], True),
        (["--host", "127.0.0.1", "--no-control", "--control-token", "t"], False),
    ],
)
def test_serve_turns_control_on_for_loopback_and_elsewhere_only_with_a_token(argv, on, capsys):
    assert _control_on(build_parser().parse_args(["serve", *argv])) is on
    if not on and "--no-control" not in argv:
        assert "needs --control-token" in capsys.readouterr().err


def test_serve_takes_a_seed_and_bug_compatible_mode():
    args = build_parser().parse_args(["serve", "--seed", "7", "--bug-compatible"])
    assert (args.seed, args.bug_compatible) == (7, True)


def test_the_control_api_works_from_a_shell_with_curl_only(unleash):
    script = Path(__file__).with_name("control_with_curl.sh")
    result = subprocess.run(
        ["sh", str(script), unleash.url], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "all steps passed" in result.stdout
