"""The README and docs/ document every option a user can set, on the page that covers it, and
cannot fall behind the code: the tables of releases are rendered from the profiles, and every
link resolves to a file of the repository."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from mock_server import Options
from mock_server.cli import build_parser
from mock_server.versions import ENV
from tests import docs_tables

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MOCK_PAGE = (DOCS / "mock.md").read_text(encoding="utf-8")
CHECK_PAGE = (DOCS / "check.md").read_text(encoding="utf-8")
PAGES = [README, *sorted(DOCS.glob("*.md"))]
DIFF_PAGE = (DOCS / "diff.md").read_text(encoding="utf-8")  # `unleash-pat diff`'s own page


def first_arguments(module: ast.Module, method: str) -> list[str]:
    """The first argument of every call of `method` in `module`: option or ini names."""
    return [
        node.args[0].value
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
    ]


def without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def links(page: Path) -> list[str]:
    """The targets of the Markdown links of `page`, outside code blocks."""
    return re.findall(r"\]\(([^)\s]+)\)", without_code_blocks(page.read_text(encoding="utf-8")))


def relative_links(page: Path) -> list[str]:
    return [t for t in links(page) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_\[\]()]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = without_code_blocks(page.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


# -- each option on the page that documents it ----------------------------------------------


def test_every_serve_option_in_help_has_a_row_in_the_configuration_table(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    in_help = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    rows = set(re.findall(r"^\| `(--[a-z-]+)", MOCK_PAGE, flags=re.MULTILINE))
    assert in_help == rows


def test_every_options_field_has_a_row_in_the_options_table():
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", MOCK_PAGE, flags=re.MULTILINE))
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
        assert re.search(rf"^\| `{name}` \|", MOCK_PAGE, flags=re.MULTILINE), name


def test_every_pytest_option_of_the_contract_suite_is_documented():
    plugin = ast.parse((ROOT / "contract_tests" / "pytest_options.py").read_text())
    options = first_arguments(plugin, "addoption")
    assert options
    for option in options:
        page = DIFF_PAGE if option.startswith("--unleash-diff-") else CHECK_PAGE
        assert f"`{option}`" in page, option


def test_every_diff_option_in_help_is_documented(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["diff", "--help"])
    options = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    assert options
    for option in options:
        assert f"`{option}" in DIFF_PAGE, option


def test_every_check_option_in_help_is_documented(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--help"])
    in_help = set(re.findall(r"(--[a-z][a-z0-9-]+)", capsys.readouterr().out)) - {"--help"}
    rows = set(re.findall(r"^\| `(--[a-z0-9-]+)", CHECK_PAGE, flags=re.MULTILINE))
    assert in_help <= rows


# -- the README's promises --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ".venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -n 2",
        ".venv/bin/python -m pytest --slow -n 2",
        'eval "$(scripts/real-unleash.sh up)"',
    ],
)
def test_the_readme_gives_the_test_commands(command):
    assert re.search(rf"^{re.escape(command)}$", README.read_text(), flags=re.MULTILINE)


def test_the_readme_links_every_docs_page():
    linked = {(README.parent / t).resolve() for t in relative_links(README)}
    for page in DOCS.glob("*.md"):
        assert page.resolve() in linked, page.name


# -- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_and_paths_stay_inside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    targets = links(page)
    targets += re.findall(r"`(\.\.?/[^`\s]*)`", text)  # quoted relative paths
    for target in targets:
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
            path = target.split("#")[0]
            assert (page.parent / path).resolve().is_relative_to(ROOT), target


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_to_a_file_of_the_repository(page):
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page.resolve()
        assert resolved.exists(), f"{target}: no such file"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{target}: no such heading"


# -- the tables of releases -------------------------------------------------------------------


@pytest.fixture
def bundled_releases_only(monkeypatch):
    """The tables show the bundled releases, whatever $UNLEASH_PAT_RELEASES adds."""
    monkeypatch.delenv(ENV, raising=False)


@pytest.mark.usefixtures("bundled_releases_only")
@pytest.mark.parametrize(
    ("path", "name", "render"), docs_tables.TABLES, ids=[name for _, name, _ in docs_tables.TABLES]
)
def test_the_tables_of_releases_are_rendered_from_the_profiles(path, name, render):
    assert docs_tables.rendered_in(path, name) == render(), (
        f"{path.relative_to(ROOT)}'s table is stale: run "
        "`.venv/bin/python -m tests.docs_tables --write`, or replace it with:\n" + render()
    )


@pytest.mark.usefixtures("bundled_releases_only")
def test_the_full_table_has_a_column_per_release_and_names_each_contract_file():
    from mock_server import versions

    table = docs_tables.full_table()
    header = table.splitlines()[0]
    assert header == "| | " + " | ".join(versions.profiles()) + " |"
    contract_row = table.splitlines()[-1]
    for path, data in docs_tables.release_files().values():
        assert (path.name in contract_row) == bool(data.get("contract")), path.name
