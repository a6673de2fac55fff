"""One profile per Unleash release the mock can answer as, read from the release files.

`resolve("8.2.0")`, `resolve("8")` (the newest release of a major), `resolve(None)` (the newest
bundled release) or a VersionProfile itself, for a made-up release in a test.
"""

from __future__ import annotations

from mock_server.versions.profile import (
    Answer,
    Crash,
    Defect,
    ErrorKind,
    ErrorStyle,
    IdCheck,
    Message,
    UnknownDelete,
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


def resolve(version: str | VersionProfile | None) -> VersionProfile:
    if isinstance(version, VersionProfile):
        return version
    if version is None:
        return default()
    known = profiles()
    if version in known:
        return known[version]
    of_major = [v for v in known if v.split(".")[0] == version]
    if of_major:
        return known[max(of_major, key=_key)]
    raise ValueError(f"unknown Unleash version {version!r} (known: {', '.join(known)}, or a major)")


__all__ = [
    "ENV",
    "Answer",
    "Crash",
    "Defect",
    "ErrorKind",
    "ErrorStyle",
    "IdCheck",
    "Message",
    "ReleaseError",
    "UnknownDelete",
    "VersionProfile",
    "default",
    "profiles",
    "resolve",
]
