"""The contract suite knows every Unleash release of releases/: `auto` reads the target's
release, each release's expectations pass on the mock served as that release, and another
release's fail where the two differ. The tests ask the expectations; none compares versions."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from contract_tests.checks.bodies import _layouts
from contract_tests.context import Settings
from contract_tests.expectations import SECURE_SECRET, known
from contract_tests.registry import discover
from contract_tests.report import Baseline, Status, summary
from contract_tests.suite import CannotRun, Suite, run_suite
from mock_server import Options, create_app
from mock_server.versions import IdCheck
from mock_server.versions import resolve as mock_profile
from tests.conftest import Recording

BASELINES = Path(__file__).resolve().parent.parent / "contract_tests/baselines"
VERSIONS = known()
NEWEST = list(VERSIONS)[-1]
OLDER = list(VERSIONS)[:-1]


def served_as(version: str, **options: object) -> object:
    return create_app(options=Options(unleash_version=version, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("version", list(VERSIONS))
def test_auto_picks_the_expectations_of_the_version_the_mock_answers_as(version: str) -> None:
    suite = Suite(Settings(app=served_as(version)))
    assert suite.ctx.expect is VERSIONS[version]
    assert suite.target.endswith(f"(Unleash {version})")


@pytest.mark.parametrize("major", sorted({v.split(".")[0] for v in VERSIONS}))
def test_a_major_means_its_newest_known_release(major: str) -> None:
    newest = [v for v in VERSIONS if v.split(".")[0] == major][-1]
    suite = Suite(Settings(app=served_as(newest), unleash_version=major))
    assert suite.ctx.expect is VERSIONS[newest]


@pytest.mark.parametrize("version", list(VERSIONS))
def test_deeply_nested_bodies_are_sent_to_every_version_but_the_one_they_crash(
    version: str,
) -> None:
    ctx = SimpleNamespace(expect=VERSIONS[version])
    deepest = max(body.count("[") for _, body in _layouts(ctx, ['"description":"x"']))  # type: ignore[arg-type]
    assert (deepest >= 2_000) is VERSIONS[version].deep_bodies_answered


@pytest.mark.parametrize("version", list(VERSIONS))
def test_a_lone_surrogate_password_is_sent_only_to_versions_it_does_not_kill(version: str) -> None:
    checks = [c for c in discover() if c.name == "wrong_password_refused"]
    recording = Recording(served_as(version))
    assert run_suite(Settings(app=recording), checks=checks).conforms
    # Real 5.12.8 and 6.10.1 die on one ("Fatal JavaScript invalid size error").
    sent = any(b"\\ud800" in r.body for r in recording.requests if r.path == "/auth/simple/login")
    assert sent is VERSIONS[version].lone_surrogate_password_answered


def test_a_major_with_no_release_cannot_run() -> None:
    with pytest.raises(CannotRun, match=rf"no release of Unleash 99 is known \(known: {OLDER[0]}"):
        Suite(Settings(unleash_version="99"))


@pytest.mark.parametrize("version", ["4.19.5", "4", "5.0.0"])
def test_a_release_older_than_the_oldest_supported_cannot_run(version: str) -> None:
    with pytest.raises(CannotRun, match=f"older than the oldest supported release, {OLDER[0]}"):
        Suite(Settings(unleash_version=version))


def test_a_release_never_measured_is_checked_as_the_nearest_measured_one_with_a_notice() -> None:
    measured = next(v for v in OLDER if f"{v.rsplit('.', 1)[0]}.99" not in VERSIONS)
    unmeasured = f"{measured.rsplit('.', 1)[0]}.99"
    suite = Suite(Settings(app=served_as(measured), unleash_version=unmeasured))
    assert suite.ctx.expect.version == measured
    assert suite.notices[0] == (
        f"Unleash {unmeasured} was never measured: taken as {measured}, the nearest "
        "measured release before it"
    )


def test_auto_with_a_token_the_target_refuses_cannot_run() -> None:
    unknown = "user:" + "0" * 56
    settings = Settings(app=served_as(OLDER[-1]), token=unknown, token_2=unknown, admin_token="x")
    with pytest.raises(
        CannotRun, match=r"--token is not accepted by the mock \(in-process\) \(401\)"
    ):
        Suite(settings)


@pytest.mark.parametrize("version", list(VERSIONS))
def test_each_version_reads_the_contract_the_mock_serves_as_that_version(version: str) -> None:
    assert VERSIONS[version].contract() == mock_profile(version).spec()


def baseline(version: str) -> Baseline:
    return Baseline.load(BASELINES / f"unleash-{version}.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("version", OLDER)
def test_the_suite_passes_on_the_mock_served_as_each_older_version(version: str) -> None:
    """Only the real defects the mock keeps on purpose are known, both where the release's
    document promises more than the server takes: a DELETE id declared a string that must be an
    integer (before 6.6), a description neither required nor typed that must not be empty
    (before 5.11). The mock refuses both as the server does."""
    outcome = run_suite(Settings(app=served_as(version)), baseline(version))
    report = summary(outcome.results, version, outcome.suite.budget.sent, outcome.seconds)
    assert outcome.suite.ctx.expect.version == version, report
    assert all(r.status is not Status.NOT_RUN for r in outcome.results), report
    known = {f.check for r in outcome.results for f in r.findings}
    string_id = mock_profile(version).id_check is not IdCheck.SCHEMA
    untyped = VERSIONS[version].typed_create_member() != "description"
    promised = {"positive_data_acceptance"} if string_id or untyped else set()
    assert outcome.conforms and known == promised, report


# The newest release and the newest that differs from it in DELETE and the rate limit.
PAIR = (
    NEWEST,
    next(
        v for v in reversed(OLDER) if VERSIONS[v].unknown_id and not VERSIONS[v].rate_limit_headers
    ),
)


@pytest.mark.parametrize(("expected", "served"), [PAIR, PAIR[::-1]])
def test_another_versions_expectations_fail_where_the_versions_differ(
    expected: str, served: str
) -> None:
    differing = {"deleted_token_rejected", "rate_limit_headers_as_version"}
    checks = [c for c in discover() if c.name in differing]
    settings = Settings(app=served_as(served), unleash_version=expected)
    outcome = run_suite(settings, checks=checks)
    failed = {r.name: {f.check for f in r.findings} for r in outcome.results}
    assert failed == {
        "deleted_token_rejected": {"delete_status"},
        "rate_limit_headers_as_version": {"rate_limit_headers"},
    }
    assert run_suite(Settings(app=served_as(served)), checks=checks).conforms


SECURE = [v for v, e in VERSIONS.items() if SECURE_SECRET in e.secret_formats]


@pytest.mark.slow
def test_secure_account_tokens_are_accepted_where_the_release_has_them_and_only_there() -> None:
    outcome = run_suite(Settings(app=served_as(SECURE[-1], secure_account_tokens=True)))
    report = summary(outcome.results, "secure", outcome.suite.budget.sent, outcome.seconds)
    assert outcome.conforms, report
    secure = "user:v2_" + "A" * 22 + "_" + "b-" * 21 + "c"
    assert SECURE_SECRET.match(secure)
    assert [v for v, e in VERSIONS.items() if e.is_secret(secure)] == SECURE


# -- against real servers of each version (scripts/real-unleash.sh up --version X) ----------------
def real_target(version: str) -> dict[str, str] | None:
    """UNLEASH_URL_<MAJOR>, UNLEASH_PAT_<MAJOR>, UNLEASH_PAT_2_<MAJOR> and
    UNLEASH_ADMIN_TOKEN_<MAJOR> name the real server of `version`'s major, when there is one."""
    major = version.split(".")[0]
    names = ("UNLEASH_URL", "UNLEASH_PAT", "UNLEASH_PAT_2", "UNLEASH_ADMIN_TOKEN")
    values = {name: os.environ.get(f"{name}_{major}", "") for name in names}
    return values if all(values.values()) else None


@pytest.mark.real
@pytest.mark.parametrize("version", list(VERSIONS))
def test_real_unleash_of_each_version_passes_with_its_baseline(version: str) -> None:
    env = real_target(version)
    if env is None:
        major = version.split(".")[0]
        pytest.skip(f"UNLEASH_URL_{major} (and its tokens) unset: no real Unleash {version}")
    settings = Settings(
        base_url=env["UNLEASH_URL"],
        token=env["UNLEASH_PAT"],
        token_2=env["UNLEASH_PAT_2"],
        admin_token=env["UNLEASH_ADMIN_TOKEN"],
    )
    outcome = run_suite(settings, baseline(version))
    report = summary(outcome.results, version, outcome.suite.budget.sent, outcome.seconds)
    assert outcome.suite.ctx.expect.version == version, report
    assert outcome.conforms and not outcome.left_behind, report
