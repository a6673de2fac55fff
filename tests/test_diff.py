"""`unleash-pat diff`, hermetically: the "real" server is another mock, served over HTTP
(`DiffSettings.real_is_mock`: the run's users are loaded through its control plane, as into
diff's own mock), and broken variants are ASGI middleware around diff's own mock."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contract_tests.target import served_mock
from mock_server.cli import main

# diff's modules load when a test here runs, not when pytest collects this file: hypothesis
# draws constants from every module loaded, so loading them early would change what the
# contract suite's derandomized runs in tests/test_contract_suite.py generate.
if TYPE_CHECKING:
    from contract_tests.diff.findings import Group
    from contract_tests.diff.run import DiffOutcome

# The admin API token of the default fixtures, which the "real" mock starts with.
ADMIN = "*:*.unleash-insecure-admin-api-token"
FULL_SECRET = re.compile(r"user:[0-9a-f]{56}")
SESSION = re.compile(r"s%3A[A-Za-z0-9_-]{20,}\.")
Middleware = Callable[[ASGIApp], ASGIApp]


def diff(url: str, *, budget: int = 300, seed: int = 7, **settings: Any) -> DiffOutcome:
    from contract_tests.diff.run import DiffSettings, run_diff

    return run_diff(
        DiffSettings(
            real=url, admin_token=ADMIN, budget=budget, seed=seed, real_is_mock=True, **settings
        )
    )


def _summary(outcome: DiffOutcome, real: str, *, verbose: bool) -> str:
    from contract_tests.diff.report import summary

    return summary(outcome, real, verbose=verbose)


def state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_unleash-pat/state", timeout=10) as response:
        return json.load(response)


def run_pats(url: str) -> list[str]:
    """The PATs the run's users hold on the "real" mock."""
    users = state(url)["users"]
    return [p["description"] for u in users if "-diff-" in u["username"] for p in u["pats"]]


def groups_with(outcome: DiffOutcome, field: str) -> list[Group]:
    return [g for g in outcome.groups if any(f.startswith(field) for f in g.fields)]


# -- broken variants: one defect each, in front of diff's own mock --------------------------------
def _on_start(change: Callable[[Scope, Message], Message]) -> Middleware:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def broken(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = change(scope, dict(message))
                await send(message)

            await app(scope, receive, sending)

        return broken

    return wrap


def _user_203(scope: Scope, message: Message) -> Message:
    if scope["path"] == "/api/admin/user" and message["status"] == 200:
        message["status"] = 203
    return message


def _policy_61(scope: Scope, message: Message) -> Message:
    message["headers"] = [
        (k, b"20000;w=61" if k == b"ratelimit-policy" else v) for k, v in message["headers"]
    ]
    return message


def _http10_chunked(scope: Scope, message: Message) -> Message:
    if scope.get("http_version") == "1.0":  # uvicorn then chunks: a protocol violation
        message["headers"] = [(k, v) for k, v in message["headers"] if k != b"content-length"]
    return message


def _case_sensitive(app: ASGIApp) -> ASGIApp:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != scope["path"].lower():
            scope = {**scope, "path": "/case-sensitive", "raw_path": b"/case-sensitive"}
        await app(scope, receive, send)

    return broken


BROKEN: dict[str, tuple[Middleware, int, Callable[[DiffOutcome], list[Group]]]] = {
    # name: (middleware, budget, the groups that name the defect)
    "status": (
        _on_start(_user_203),
        300,
        lambda o: [g for g in o.groups if "200/203" in g.statuses],
    ),
    "header": (
        _on_start(_policy_61),
        300,
        lambda o: [g for g in groups_with(o, "header.ratelimit-policy") if g.family == "ambient"],
    ),
    "path-case": (
        _case_sensitive,
        300,
        lambda o: [g for g in o.groups if "path:upper" in g.key],
    ),
    "http-1.0-framing": (
        _on_start(_http10_chunked),
        600,
        lambda o: [g for g in groups_with(o, "framing") if "HTTP/1.0" in g.key],
    ),
}


@pytest.fixture(scope="module")
def real_url() -> Any:
    with served_mock("8.2.0") as url:
        yield url


# A run of a few hundred requests reaches Unleash's create-user limit (20 POSTs a minute below
# /api/admin/user-admin on 8.x), which the run waits out as it does on a real server: a minute.
@pytest.mark.slow
def test_a_mock_against_a_mock_differs_nowhere_and_cleans_up(real_url: str) -> None:
    outcome = diff(real_url, budget=500, seed=3)
    report = _summary(outcome, real_url, verbose=True)
    assert outcome.groups == [], report
    assert outcome.items > 100 and outcome.exchanges > 300, report
    assert outcome.traffic <= 500 + 30, report  # the budget, and one item's tidying at most
    assert not outcome.left and outcome.interrupted_by is None, report
    assert run_pats(real_url) == [], "the run's PATs are left on the real server"


@pytest.mark.parametrize(
    "name",
    # The largest budget reaches the create-user limit's minute, as above.
    [pytest.param(n, marks=pytest.mark.slow) if BROKEN[n][1] > 300 else n for n in BROKEN],
)
def test_each_broken_variant_is_found_with_a_minimal_reproduction(real_url: str, name: str) -> None:
    middleware, budget, naming = BROKEN[name]
    outcome = diff(real_url, budget=budget, wrap_mock=middleware)
    report = _summary(outcome, real_url, verbose=False)
    found = naming(outcome)
    assert found, f"{name} not found:\n{report}"
    assert all(g.known is None for g in found), report
    assert min(g.example.size for g in found) == 1, report  # one request reproduces it
    assert "reproduction" in report and "$HOST" in report


def _deleting_a_new_pat_203(scope: Scope, message: Message) -> Message:
    """A 203 for the DELETE of a PAT a run created: only sequences (create, then delete) send
    one (http items delete other users' PATs and ids no PAT has)."""
    pat = re.fullmatch(r"/api/admin/user/tokens/(\d+)", scope["path"])
    if scope["method"] == "DELETE" and pat and 10 <= int(pat[1]) <= 1000:
        message["status"] = 203
    return message


@pytest.mark.slow  # the create-user limit's minute, as above
def test_a_sequence_is_shrunk_to_the_steps_that_show_its_difference(real_url: str) -> None:
    # Seed 5's sequences create a PAT and delete it (a change to the generation may need
    # another seed here).
    outcome = diff(real_url, seed=5, wrap_mock=_on_start(_deleting_a_new_pat_203))
    report = _summary(outcome, real_url, verbose=False)
    [group] = [g for g in outcome.groups if "200/203" in g.statuses and g.family == "route"]
    assert group.key == "DELETE /api/admin/user/tokens/{id}", report
    example = group.example
    assert example.shrunk and example.reproduced, report
    # The PAT must be created first: that step stays, every other one goes.
    steps = [f"{s.request.method} {s.request.target}" for s in example.item.steps]
    assert len(steps) == 2 and steps[0] == "POST /api/admin/user/tokens", report
    assert re.fullmatch(r"DELETE /api/admin/user/tokens/\$\{NEW_PAT_ID_\d+\}", steps[1]), report


def test_known_differences_are_subtracted_and_the_unseen_listed(
    real_url: str, tmp_path: Path
) -> None:
    known = tmp_path / "known.yaml"
    known.write_text(
        """
- name: the-203
  key: "*"
  status: "200/203"
  fields: ["status", "reason"]
  versions: ">=8.0.0,<9"
  reason: a broken variant's 203, declared
- name: never-seen
  key: "protocol:HTTP/9"
  fields: ["*"]
  versions: ">=8.0.0"
  reason: nothing sends this
- name: another-version
  key: "*"
  fields: ["*"]
  versions: "<8"
  reason: holds for 7.x only, so not for this run
""",
        encoding="utf-8",
    )
    outcome = diff(real_url, known=known, wrap_mock=_on_start(_user_203))
    report = _summary(outcome, real_url, verbose=True)
    assert outcome.groups and all(g.known and g.known.name == "the-203" for g in outcome.groups), (
        report
    )
    assert outcome.undeclared == []
    assert [k.name for k in outcome.unseen] == ["never-seen"], report
    assert "Declared for 8.2.0 but not seen in this run:\n  never-seen" in report


def _echo_credentials(app: ASGIApp) -> ASGIApp:
    """Shows the request's credentials in a header and its body on every answer."""

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        seen = b" | ".join(v for k, v in scope["headers"] if k in (b"authorization", b"cookie"))
        body = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-echo", seen)]}
            await send(message)

        async def receiving() -> Message:
            message = await receive()
            body.append(message.get("body", b""))
            return message

        await app(scope, receiving, sending)

    return broken


@pytest.mark.slow  # the create-user limit's minute, as above
def test_no_secret_is_ever_printed(real_url: str, tmp_path: Path, capsys) -> None:
    junit = tmp_path / "diff.xml"
    with served_mock("8.2.0", wrap=_echo_credentials) as broken_real:
        status = main(
            [
                "diff",
                "--real",
                broken_real,
                "--admin-token",
                ADMIN,
                "--budget",
                "300",
                "--seed",
                "5",
                "-v",
                "--junit-xml",
                str(junit),
                "--test-only-real-is-mock",
            ]
        )
        secrets = [u.get("pats", []) for u in state(broken_real)["users"]]
    out = capsys.readouterr()
    assert status == 1, out.err
    texts = [out.out, out.err, junit.read_text(encoding="utf-8")]
    assert "x-echo" in out.out  # the echo is reported...
    for text in texts:  # ...with every secret shortened
        assert not FULL_SECRET.search(text)
        assert ADMIN not in text
        assert not SESSION.search(text)
        assert not re.search(r"Diff-[0-9a-f]{16}-Pw7!", text)  # the run's passwords
    del secrets


def test_exit_codes(real_url: str, capsys, monkeypatch) -> None:
    monkeypatch.delenv("UNLEASH_ADMIN_TOKEN", raising=False)
    ok = ["diff", "--real", real_url, "--admin-token", ADMIN, "--budget", "150", "--seed", "1"]
    assert main([*ok, "--test-only-real-is-mock"]) == 0
    assert "0 undeclared" in capsys.readouterr().out
    with served_mock("8.2.0", wrap=_on_start(_user_203)) as broken_real:
        assert main([*ok[:2], broken_real, *ok[3:], "--test-only-real-is-mock"]) == 1
    capsys.readouterr()
    for argv, message in [
        ([*ok[:2], "localhost:4242", *ok[3:]], "--real must be an http:// or https:// URL"),
        ([*ok[:2], "http://127.0.0.1:9", *ok[3:]], "cannot reach http://127.0.0.1:9"),
        ([*ok[:4], "*:*.not-the-token", *ok[5:]], "--admin-token is not accepted"),
        ([*ok, "--budget", "0"], "--budget must be at least 1"),
        ([*ok, "--junit-xml", "/nonexistent/dir/x.xml"], "not a file in an existing directory"),
        ([*ok[:3], *ok[5:]], "--admin-token (or $UNLEASH_ADMIN_TOKEN) is required"),
    ]:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def _interrupting_after(requests: int) -> Middleware:
    """Ctrl-C for the process once the "real" server has seen `requests` requests."""
    seen = [0]

    def wrap(app: ASGIApp) -> ASGIApp:
        async def counting(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and not scope["path"].startswith("/_unleash-pat"):
                seen[0] += 1
                if seen[0] == requests:
                    os.kill(os.getpid(), signal.SIGINT)
            await app(scope, receive, send)

        return counting

    return wrap


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals: main thread"
)
@pytest.mark.slow  # the create-user limit's minute, as above
def test_an_interrupted_run_stops_and_removes_what_it_made(capsys) -> None:
    with served_mock("8.2.0", wrap=_interrupting_after(120)) as real:
        status = main(
            [
                "diff",
                "--real",
                real,
                "--admin-token",
                ADMIN,
                "--budget",
                "5000",
                "--seed",
                "2",
                "--test-only-real-is-mock",
            ]
        )
        left = run_pats(real)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "interrupted by SIGINT" in err
    assert left == [], "the run's PATs are left after Ctrl-C"


def test_the_same_seed_generates_the_same_traffic_and_none_harms_the_target() -> None:
    from contract_tests.diff.draw import Draws
    from contract_tests.diff.traffic import USER_ADMIN, Allowance, items

    def generate(seed: int) -> list[Any]:
        draws, allowance = Draws(seed), Allowance(deletions=3, creations=5)
        return [draws(items(allowance)) for _ in range(300)]

    first = generate(11)
    assert first == generate(11)
    assert first != generate(12)
    for item in first:
        for step in item.steps:
            request = step.request
            body = request.body
            assert len(body) < 100_000
            # No lone surrogate, escaped or encoded; never deeply nested.
            assert not re.search(rb"\\u[dD][89abAB]|\xed[\xa0-\xbf]", body)
            assert body.count(b"[") + body.count(b"{") < 10
            target = request.target
            if USER_ADMIN in target and request.method in ("DELETE", "PUT", "PATCH"):
                assert "${USER_ID_" in target, target  # only the run's own users
            if USER_ADMIN in target and request.method == "DELETE":
                assert target.endswith("${USER_ID_CAROL}"), target


def test_an_id_echoed_in_quotes_by_a_validation_message_is_its_placeholder() -> None:
    from contract_tests.diff.observe import Binding, observe
    from contract_tests.diff.wire import Answer

    template = "/api/admin/user-admin/${USER_ID_CAROL};x=1"
    JSON_TYPE = ("content-type", "application/json; charset=utf-8")
    seen = []
    for user_id in (20, 110):
        body = {
            "details": [
                {"message": f'The `/params/id` property must be integer. You sent "{user_id};x=1".'}
            ]
        }
        answer = Answer("1.1", 400, "Bad Request", [JSON_TYPE], json.dumps(body).encode(), "length")
        binding = Binding({"USER_ID_CAROL": str(user_id)}, {user_id: "USER_ID_CAROL"}, {})
        seen.append(
            observe(answer, binding, template.replace("${USER_ID_CAROL}", str(user_id)), template)
        )
    assert seen[0]["body.details[0].message"] == seen[1]["body.details[0].message"]
    assert '"${USER_ID_CAROL};x=1"' in seen[0]["body.details[0].message"]
