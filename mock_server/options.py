"""The settings a user chooses: Unleash's flags and limits that change these endpoints, and the
Unleash version to answer as."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mock_server.versions import VersionProfile

# seenAt batches: at once (0), or every interval within this range. A denormal interval made
# every PAT request divide by it into infinity.
SEEN_AT_FLUSH_RANGE = (0.001, 86_400.0)


def seen_at_flush_seconds(seconds: float) -> float:
    """`seconds` if it is a usable seenAt interval, else ValueError saying which are."""
    low, high = SEEN_AT_FLUSH_RANGE
    if not (seconds == 0 or (math.isfinite(seconds) and low <= seconds <= high)):
        raise ValueError(
            f"seen_at_flush_seconds must be 0 (at once) or from {low:g} to {high:g}, not {seconds}"
        )
    return seconds


@dataclass(frozen=True)
class Options:
    # A release ("8.2.0"), a major ("8": its newest), or a profile; None: the newest bundled.
    unleash_version: str | VersionProfile | None = None
    token_expiry_notifications: bool = False  # flag tokenExpiryNotifications
    token_expiry_notification_days: tuple[int, ...] = (14, 3)  # TOKEN_EXPIRY_NOTIFICATION_DAYS
    pats_kill_switch: bool = False  # flag personalAccessTokensKillSwitch
    rate_limit_per_minute: int = 20_000  # TOKEN_AUTHENTICATION_RATE_LIMIT_PER_MINUTE
    login_rate_limit_per_minute: int = 10  # SIMPLE_LOGIN_LIMIT_PER_MINUTE
    create_user_rate_limit_per_minute: int = 20  # CREATE_USER_RATE_LIMIT_PER_MINUTE
    seen_at_flush_seconds: float = 180.0  # how often Unleash writes buffered PAT uses
    # UNLEASH_EXPERIMENTAL_SECURE_ACCOUNT_TOKEN: new secrets are `user:v2_…` (where the version
    # has it); secrets of both formats authenticate either way.
    secure_account_tokens: bool = False
    # Answer the version's known defects as it does (500s leaking SQL) instead of the 4xx meant.
    bug_compatible: bool = False
    seed: int | None = None  # makes secrets and error ids reproducible from every reset

    def __post_init__(self) -> None:
        seen_at_flush_seconds(self.seen_at_flush_seconds)
