"""The contract suite's pytest options, registered by the installed package (entry point
`pytest11`), so that `pytest --pyargs contract_tests --unleash-url …` works outside a checkout:
pytest reads options only from plugins and the conftest files of its starting directory.

Named `--unleash-*` so that they clash with no other plugin (pytest-base-url owns `--base-url`).
Imports only pytest: it loads in every pytest run of an environment that has the package.
"""

from __future__ import annotations

import pytest

# Settings' fields as these options name them, for the suite's messages (context.CLI_OPTIONS).
OPTION_NAMES = {
    "base_url": "--unleash-url",
    "token": "--unleash-token",
    "token_2": "--unleash-token-2",
    "admin_token": "--unleash-admin-token",
    "username": "--unleash-username",
    "password": "--unleash-password",
    "profile": "--unleash-profile",
    "seed": "--unleash-seed",
    "rate_limit": "--unleash-rate-limit",
    "read_only": "--unleash-read-only",
    "unleash_version": "--unleash-version",
    "baseline": "--unleash-baseline",
    "checks": "-k",
    "exclude_checks": "-k",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("unleash-pat contract suite (pytest --pyargs contract_tests)")
    group.addoption(
        "--unleash-url", dest="contract_base_url", help="the Unleash to check (default: the mock)"
    )
    group.addoption("--unleash-token", dest="contract_token", help="a user's PAT")
    group.addoption("--unleash-token-2", dest="contract_token_2", help="a second user's PAT")
    group.addoption("--unleash-admin-token", dest="contract_admin_token", help="an admin API token")
    group.addoption(
        "--unleash-username",
        dest="contract_username",
        help="the username (or e-mail) of --unleash-token's user, for the login checks",
    )
    group.addoption("--unleash-password", dest="contract_password", help="that user's password")
    group.addoption(
        "--unleash-profile", dest="contract_profile", default="ci", choices=["ci", "thorough"]
    )
    group.addoption("--unleash-seed", dest="contract_seed", type=int, help="random seed")
    group.addoption(
        "--unleash-rate-limit",
        dest="contract_rate_limit",
        type=float,
        help="at most this many requests per second",
    )
    group.addoption(
        "--unleash-baseline",
        dest="contract_baseline",
        help="known defects: a file, a release whose baseline ships with the suite, or auto",
    )
    group.addoption(
        "--unleash-read-only",
        dest="contract_read_only",
        action="store_true",
        help="run only the checks that create nothing",
    )
    group.addoption(
        "--unleash-version",
        dest="contract_unleash_version",
        default="auto",
        help="the Unleash version whose rules apply: a release, a major, or auto (default: "
        "read from the target's /api/admin/ui-config)",
    )
    group.addoption(
        "--unleash-diff-real",
        dest="contract_diff_real",
        help="run `unleash-pat diff` against this real Unleash (with --unleash-admin-token; "
        "default: $UNLEASH_URL and $UNLEASH_ADMIN_TOKEN when set)",
    )
    group.addoption(
        "--unleash-diff-budget",
        dest="contract_diff_budget",
        type=int,
        default=500,
        help="diff's request budget (default 500)",
    )
    group.addoption(
        "--unleash-diff-seed",
        dest="contract_diff_seed",
        type=int,
        default=1,
        help="diff's seed (default 1: a CI run sends the same traffic every time)",
    )
    group.addoption(
        "--unleash-diff-known", dest="contract_diff_known", help="diff's known differences (YAML)"
    )
