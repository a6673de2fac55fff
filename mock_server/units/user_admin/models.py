"""Invitations: the new-user link Unleash makes for every user created through the admin API,
listed with the user until it expires or the user's password changes. Knows nothing about
HTTP."""

from __future__ import annotations

import random
import secrets
import threading

from mock_server.clock import Clock

INVITE_SECONDS = 24 * 3600  # Unleash's reset tokens live a day
# bcrypt's alphabet: Unleash's token is a bcrypt hash (`$2b$10$` and 53 of these).
_BCRYPT_CHARS = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class Invites:
    """The live invitation token of each user that has one (at most one per user: a new one
    replaces the old, as Unleash expires a user's tokens before it makes another). Thread-safe."""

    def __init__(self, clock: Clock, rng: random.Random | None = None) -> None:
        """`rng`: a seeded mock's generator, which makes tokens repeat; else the OS's."""
        self._clock = clock
        self._choice = rng.choice if rng else secrets.choice
        self._tokens: dict[int, tuple[str, float]] = {}  # user id -> token, expiry
        self._lock = threading.Lock()

    def issue(self, user_id: int, prefix: str) -> str:
        """A new token for the user: `prefix` (the release's bcrypt version and cost) and 53
        characters of bcrypt's alphabet."""
        token = prefix + "".join(self._choice(_BCRYPT_CHARS) for _ in range(53))
        with self._lock:
            self._tokens[user_id] = (token, self._clock.time() + INVITE_SECONDS)
        return token

    def active(self, user_id: int) -> str | None:
        token, expires = self._tokens.get(user_id, ("", 0.0))
        return token if expires > self._clock.time() else None

    def expire(self, user_id: int) -> None:
        """A password was set, or the user is gone."""
        with self._lock:
            self._tokens.pop(user_id, None)
