"""The mock must answer every scenario as real Unleash 8.2.0 does, except where
deliberate_differences.yaml says why not."""

from __future__ import annotations

import pytest

from mock_server.versions import VersionProfile

from .deliberate import Deliberate, judge
from .normalize import differences, normalize
from .scenarios import SCENARIOS, Scenario
from .targets import Run, SetupFailed, Target


def execute(scenario: Scenario, target: Target) -> Run:
    run = Run(target)
    try:
        scenario.run(run)
    except SetupFailed as exc:
        # Recorded, not raised: the comparison then shows where this target went astray.
        run.record("setup-failed", {"error": str(exc)})
    finally:
        run.cleanup()
    return run


@pytest.mark.real
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_mock_answers_like_real_unleash(
    scenario: Scenario,
    real_target: Target,
    mock_target: Target,
    deliberate_entries: list[Deliberate],
    target_profile: VersionProfile,
) -> None:
    if kills := scenario.kills & target_profile.crashes:
        names = ", ".join(sorted(k.value for k in kills))
        pytest.skip(f"never sent to Unleash {target_profile.version}: it dies on it ({names})")
    real = normalize(execute(scenario, real_target))
    mock = normalize(execute(scenario, mock_target))
    unexplained, stale = judge(scenario.id, differences(real, mock), deliberate_entries)
    report = [f"  {d}" for d in unexplained] + [
        f"  stale deliberate difference (no longer differs): {e.fields}" for e in stale
    ]
    assert not report, f"{scenario.id}: the mock differs from real Unleash:\n" + "\n".join(report)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario_runs_on_the_mock_without_server_errors(
    scenario: Scenario, mock_target: Target
) -> None:
    """The quick, server-less part: every scenario runs, and the mock never answers 5xx (where
    Unleash has a 500 defect, the mock answers what it means instead)."""
    run = execute(scenario, mock_target)
    assert "setup-failed" not in run.steps, run.steps["setup-failed"]
    errors = {step: o["status"] for step, o in run.steps.items() if o.get("status", 0) >= 500}
    assert not errors, f"5xx from the mock: {errors}"


def test_every_deliberate_difference_names_a_scenario(
    deliberate_entries: list[Deliberate],
) -> None:
    ids = {s.id for s in SCENARIOS}
    assert [e.scenario for e in deliberate_entries if e.scenario not in ids] == []
