"""The README documents every option a user can set: it cannot fall behind the code."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from mock_server import Options
from mock_server.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DIFF_DOCS = (ROOT / "docs" / "diff.md").read_text()  # `unleash-pat diff`'s own documentation


def first_arguments(module: ast.Module, method: str) -> list[str]:
    """The first argument of every call of `method` in `module`: option or ini names."""
    return [
        node.args[0].value
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
    ]


def test_every_serve_option_in_help_has_a_row_in_the_configuration_table(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    in_help = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    rows = set(re.findall(r"^\| `(--[a-z-]+)", README, flags=re.MULTILINE))
    assert in_help == rows


def test_every_options_field_is_documented():
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.MULTILINE))
    assert {field.name for field in dataclasses.fields(Options)} <= rows


def test_every_ini_option_and_fixture_of_the_pytest_plugin_is_documented():
    plugin = ast.parse((ROOT / "mock_server" / "pytest_plugin.py").read_text())
    ini_names = first_arguments(plugin, "addini")
    fixtures = [
        node.name
        for node in plugin.body
        if isinstance(node, ast.FunctionDef)
        and any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)
    ]
    assert ini_names and fixtures
    for name in [*ini_names, *fixtures]:
        assert f"`{name}`" in README, name


def test_every_pytest_option_of_the_contract_suite_is_documented():
    plugin = ast.parse((ROOT / "contract_tests" / "pytest_options.py").read_text())
    options = first_arguments(plugin, "addoption")
    assert options
    for option in options:
        docs = DIFF_DOCS if option.startswith("--unleash-diff-") else README
        assert f"`{option}`" in docs, option


def test_every_diff_option_in_help_is_documented(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["diff", "--help"])
    options = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    assert options
    for option in options:
        assert f"`{option}" in DIFF_DOCS, option


def test_links_and_paths_stay_inside_the_repository():
    targets = re.findall(r"\]\(([^)#]+)\)", README)  # Markdown links
    targets += re.findall(r"`(\.\.?/[^`\s]*)`", README)  # quoted relative paths
    for target in targets:
        if not target.startswith("http"):
            assert (ROOT / target).resolve().is_relative_to(ROOT), target
