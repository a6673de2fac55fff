"""Which known release answers for the version a user names.

One rule for the mock and the contract suite (each reads the release files itself): a release
with a file is itself; a major (`7`) is its newest release; a release never measured (`5.9.1`)
is the nearest measured one of its major at or below it (else the major's oldest), with a notice
that says so. A version older than the oldest release, or of a major with no release, is
refused: answering it as another major would be guessing (docs/releases.md#supported-releases).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A release as servers and users write it: `8.2.0`, `v8.2`, `8`, `6.3.0-beta.1`, `7.6.5+abc`.
_VERSION = re.compile(r"^v?(\d{1,4})(?:\.(\d{1,4}))?(?:\.(\d{1,4}))?(?:[-+][0-9A-Za-z.-]{1,64})?$")


class UnsupportedVersion(ValueError):
    """A version no known release stands for; the message says why and what is known."""


@dataclass(frozen=True)
class Choice:
    release: str
    notice: str | None = None  # why a release other than the one named answers


def key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split("."))


def choose(version: str, known: Iterable[str]) -> Choice:
    releases = sorted(known, key=key)
    if version in releases:
        return Choice(version)
    listed = ", ".join(releases)
    match = _VERSION.match(version.strip())
    if not match or not releases:
        raise UnsupportedVersion(
            f"{version!r} is not an Unleash release (like 8.2.0) or a major (like 8); "
            f"known: {listed}"
        )
    wanted = tuple(int(n or 0) for n in match.groups())
    same_major = [r for r in releases if key(r)[0] == wanted[0]]
    only_major = match.group(2) is None
    if wanted < key(releases[0]) and not (only_major and same_major):
        raise UnsupportedVersion(
            f"Unleash {version} is older than the oldest supported release, {releases[0]} "
            "(docs/releases.md#supported-releases)"
        )
    if not same_major:
        raise UnsupportedVersion(
            f"no release of Unleash {wanted[0]} is known (known: {listed}); a release file "
            "in $UNLEASH_PAT_RELEASES adds one (docs/releases.md)"
        )
    if only_major:
        return Choice(same_major[-1])
    below = [r for r in same_major if key(r) <= wanted]
    release = below[-1] if below else same_major[0]
    if key(release) == wanted:
        return Choice(
            release,
            None
            if version.strip().lstrip("v") == release
            else f"Unleash {version} is taken as {release}",
        )
    side = "before" if below else "after"
    return Choice(
        release,
        f"Unleash {version} was never measured: taken as {release}, the nearest measured "
        f"release {side} it",
    )
