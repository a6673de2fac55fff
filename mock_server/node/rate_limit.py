"""express-rate-limit's memory store, as Unleash runs it for PAT requests and for logins."""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict

from mock_server.clock import Clock

# Per-client tables hold at most this many clients: a client that sends a new X-Forwarded-For
# on every request cannot grow the mock's memory.
MAX_CLIENTS = 10_000


class RateLimiter:
    """express-rate-limit's memory store: a fixed window per client, started by its first hit.
    Buckets go when their window ends, and the oldest go first beyond MAX_CLIENTS."""

    def __init__(self, clock: Clock, limit: int, window_seconds: int = 60) -> None:
        self._clock = clock
        self.limit = limit
        self.window = window_seconds
        # Ordered by window start, which (one window length for all) is the order they end in.
        self._hits: OrderedDict[bytes, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, client: str) -> tuple[list[tuple[bytes, bytes]], int | None]:
        """Count one request; returns the RateLimit-* headers and, when it is over the limit,
        the seconds to wait (express-rate-limit's Retry-After is the window's remaining time)."""
        # In whole milliseconds, as express-rate-limit counts: no float rounding in Reset.
        now = int(self._clock.time() * 1000)
        key = hashlib.blake2b(client.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            while self._hits:
                oldest, (_, ends) = next(iter(self._hits.items()))
                if ends > now and len(self._hits) < MAX_CLIENTS:
                    break
                del self._hits[oldest]
            count, reset_at = self._hits.get(key, (0, 0))
            # A window ending more than its length from now began in the future: the clock was
            # moved back (PUT /_unleash-pat/clock), and it starts again rather than last years.
            if now >= reset_at or reset_at - now > self.window * 1000:
                count, reset_at = 0, now + self.window * 1000
                self._hits.pop(key, None)  # a new window goes to the end of the order
            count += 1
            self._hits[key] = (count, reset_at)
        reset = max(0, math.ceil((reset_at - now) / 1000))
        headers = [
            (b"ratelimit-policy", f"{self.limit};w={self.window}".encode()),
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(max(self.limit - count, 0)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        return headers, (reset if count > self.limit else None)
