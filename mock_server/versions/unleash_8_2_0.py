"""Unleash 8.2.0: the reference version, learnt from a running server (tests/parity)."""

from __future__ import annotations

from mock_server.versions.contracts import REFERENCE
from mock_server.versions.defects import DEFECTS_8
from mock_server.versions.profile import VersionProfile

PROFILE = VersionProfile(version="8.2.0", contract=REFERENCE, defects=DEFECTS_8)
