"""One profile per Unleash version the mock can answer as.

`resolve("8.2.0")`, `resolve("8")` (the newest profile of a major) or a VersionProfile itself,
for a made-up version in a test.
"""

from __future__ import annotations

from mock_server.versions import unleash_8_2_0
from mock_server.versions.profile import UnknownDelete, VersionProfile

PROFILES: dict[str, VersionProfile] = {p.version: p for p in (unleash_8_2_0.PROFILE,)}
DEFAULT = unleash_8_2_0.PROFILE


def resolve(version: str | VersionProfile) -> VersionProfile:
    if isinstance(version, VersionProfile):
        return version
    if version in PROFILES:
        return PROFILES[version]
    of_major = [p for v, p in PROFILES.items() if v.split(".")[0] == version]
    if of_major:
        return max(of_major, key=lambda p: tuple(int(n) for n in p.version.split(".")))
    known = ", ".join(sorted(PROFILES))
    raise ValueError(f"unknown Unleash version {version!r} (known: {known}, or a major)")


__all__ = ["DEFAULT", "PROFILES", "UnknownDelete", "VersionProfile", "resolve"]
