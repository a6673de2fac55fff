"""Unleash 8.2.0: the reference version, learnt from a running server (tests/parity)."""

from __future__ import annotations

from pathlib import Path

from mock_server.versions.profile import VersionProfile

_HERE = Path(__file__).resolve().parent
# The wheel carries openapi.yaml inside the package; a source checkout has it at the top.
_CONTRACT = next(
    p for p in (_HERE.parent / "openapi.yaml", _HERE.parent.parent / "openapi.yaml") if p.exists()
)

PROFILE = VersionProfile(version="8.2.0", contract=_CONTRACT)
