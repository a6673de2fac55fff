"""One profile per Unleash version the mock can answer as.

`resolve("8.2.0")`, `resolve("8")` (the newest profile of a major) or a VersionProfile itself,
for a made-up version in a test.
"""

from __future__ import annotations

from mock_server.versions import unleash_5_12_8, unleash_6_10_1, unleash_7_6_5, unleash_8_2_0
from mock_server.versions.profile import (
    ErrorStyle,
    IdCheck,
    UnknownDelete,
    VersionProfile,
)

PROFILES: dict[str, VersionProfile] = {
    p.version: p
    for p in (
        unleash_5_12_8.PROFILE,
        unleash_6_10_1.PROFILE,
        unleash_7_6_5.PROFILE,
        unleash_8_2_0.PROFILE,
    )
}
DEFAULT = unleash_8_2_0.PROFILE


def _key(profile: VersionProfile) -> tuple[int, ...]:
    return tuple(int(n) for n in profile.version.split("."))


def resolve(version: str | VersionProfile) -> VersionProfile:
    if isinstance(version, VersionProfile):
        return version
    if version in PROFILES:
        return PROFILES[version]
    of_major = [p for v, p in PROFILES.items() if v.split(".")[0] == version]
    if of_major:
        return max(of_major, key=_key)
    known = ", ".join(sorted(PROFILES, key=lambda v: _key(PROFILES[v])))
    raise ValueError(f"unknown Unleash version {version!r} (known: {known}, or a major)")


__all__ = [
    "DEFAULT",
    "PROFILES",
    "ErrorStyle",
    "IdCheck",
    "UnknownDelete",
    "VersionProfile",
    "resolve",
]
