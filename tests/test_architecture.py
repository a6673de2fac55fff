"""The import rules of ARCHITECTURE.md: the mock's layers, a store without HTTP, and a mock and
a certifier that do not lean on each other (import-linter, configured in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_rules_of_architecture_md_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0
