"""The mock's one clock. Every time rule reads it: createdAt, expiry, expiryWarning, seenAt
batches, sessions, and rate-limit and login windows.

It runs with the wall clock, shifted by an offset, or stands frozen at an instant, so a test can
reach "expires in 3 days" or "expired" without waiting. Nothing else in `mock_server` reads the
system time (a test enforces it).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0  # seconds added to the wall clock while running
        self._frozen_at: float | None = None  # epoch seconds while frozen

    def time(self) -> float:
        """Seconds since the epoch, as the mock sees it."""
        frozen = self._frozen_at
        return frozen if frozen is not None else time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock, at `at` or at the current instant."""
        with self._lock:
            self._frozen_at = at.timestamp() if at is not None else self.time()

    def resume(self) -> None:
        """Run again from the instant it stood at."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def set(self, at: datetime) -> None:
        """Jump to `at`, staying frozen or running as before."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = at.timestamp()
            else:
                self._offset = at.timestamp() - time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def setting(self) -> tuple[float, float | None]:
        """Where it stands (its offset, and the instant it is frozen at), for `restore`."""
        with self._lock:
            return self._offset, self._frozen_at

    def restore(self, setting: tuple[float, float | None]) -> None:
        with self._lock:
            self._offset, self._frozen_at = setting

    def reset(self) -> None:
        """Back to the wall clock, running."""
        with self._lock:
            self._offset, self._frozen_at = 0.0, None
