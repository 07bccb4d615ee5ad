"""Brute-force protection: count failed logins per user name and per client address.

After ``max_failures`` failures within ``window`` seconds, further password checks for that
name (or from that address) are refused with 429 until the oldest failure leaves the window.
Counts are kept in memory, per process: with N gunicorn workers or Cloud Run instances an
attacker gets at most N times the limit, which still turns an online guessing attack from
~100 guesses a second into a handful a minute. A success clears the name's count, never the
address's (one good account must not launder another's guesses). Unknown names are counted
like known ones, so the 429 reveals nothing either.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

_MAX_KEYS = 100_000
_MAX_KEY_LENGTH = 200


class FailureLimiter:
    """Sliding-window failure counts for user names and addresses."""

    def __init__(
        self,
        per_user: int,
        per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": per_user, "address": per_address}
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[str, str]]:
        keys = [("user", name[:_MAX_KEY_LENGTH])]
        if address:
            keys.append(("address", address[:_MAX_KEY_LENGTH]))
        return [key for key in keys if self.limits[key[0]] > 0]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, name: str, address: str = "") -> int:
        """Seconds to wait before another attempt for ``name`` from ``address``; 0: go ahead."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(name, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[0] + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def failed(self, name: str, address: str = "") -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(name, address):
                times = self._recent(key, now) or deque()
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > _MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("user", name[:_MAX_KEY_LENGTH]), None)
