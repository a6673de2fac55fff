"""The project's own test run. `pytest` is the quick, hermetic loop; `pytest --slow` adds the
layers marked `slow` (the thorough profile, whole-suite runs against every broken mock and every
release, soaks), which CI runs. Tests marked `real` run only where UNLEASH_URL names a real
Unleash; under pytest-xdist they all go to one worker (`--dist loadgroup`, set in
pyproject.toml), as a real server's rate limits and sessions are shared by whoever calls it."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", help="also run the tests marked slow (as CI does)"
    )


# Tests that call the real server without the `real` marker: the contract suite's own diff test
# (its package registers no marker of this project's).
_REAL_BY_PATH = ("contract_tests/test_diff.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("real") or item.nodeid.startswith(_REAL_BY_PATH):
            item.add_marker(pytest.mark.xdist_group("real-unleash"))
    if config.getoption("--slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
