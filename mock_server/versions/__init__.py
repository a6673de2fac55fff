"""One profile per Unleash release the mock can answer as, read from the release files.

`resolve("8.2.0")`, `resolve("8")` (the newest release of a major), `resolve("5.9.1")` (the
nearest measured release, releases/choose.py), `resolve(None)` (the newest bundled release) or
a VersionProfile itself, for a made-up release in a test.
"""

from __future__ import annotations

from mock_server.releases.choose import UnsupportedVersion, choose
from mock_server.versions.profile import (
    Answer,
    Crash,
    Defect,
    ErrorKind,
    ErrorStyle,
    IdCheck,
    Message,
    RateLimitedPosts,
    UiValue,
    UnknownDelete,
    UnleashContext,
    VersionProfile,
)
from mock_server.versions.releases import BUNDLED, ENV, ReleaseError, load


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split("."))


def profiles() -> dict[str, VersionProfile]:
    """Every known release, oldest first: the bundled ones and those of $UNLEASH_PAT_RELEASES."""
    return dict(sorted(load().items(), key=lambda item: _key(item[0])))


def default() -> VersionProfile:
    """The newest bundled release: what the mock answers as unless told otherwise."""
    bundled = load((BUNDLED,))
    return bundled[max(bundled, key=_key)]


def choice(version: str | VersionProfile | None) -> tuple[VersionProfile, str | None]:
    """The profile that answers for `version`, and a notice where it is not that release.
    Raises UnsupportedVersion (a ValueError) for a version no known release stands for."""
    if isinstance(version, VersionProfile):
        return version, None
    if version is None:
        return default(), None
    known = profiles()
    picked = choose(version, known)
    return known[picked.release], picked.notice


def resolve(version: str | VersionProfile | None) -> VersionProfile:
    return choice(version)[0]


__all__ = [
    "ENV",
    "Answer",
    "Crash",
    "Defect",
    "ErrorKind",
    "ErrorStyle",
    "IdCheck",
    "Message",
    "RateLimitedPosts",
    "ReleaseError",
    "UiValue",
    "UnknownDelete",
    "UnleashContext",
    "UnsupportedVersion",
    "VersionProfile",
    "choice",
    "default",
    "profiles",
    "resolve",
]
