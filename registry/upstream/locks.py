"""One lock per key, so concurrent requests for the same thing do the work once."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    """Locks created on demand and forgotten when nobody holds or waits for them.

    Within one process only: across gunicorn workers, create-only writes (Storage ``put``,
    Cache ``add_file``) make a second fetch of the same file harmless instead.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}

    def acquire(self, key: Hashable, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``key``; True if acquired (then call ``release``)."""
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            if lock is None:
                lock = threading.Lock()
            self._locks[key] = (lock, users + 1)
        acquired = lock.acquire(timeout=max(timeout, 0))
        if not acquired:
            self._forget(key)
        return acquired

    def release(self, key: Hashable) -> None:
        with self._guard:
            lock, _users = self._locks[key]
        lock.release()
        self._forget(key)

    def _forget(self, key: Hashable) -> None:
        with self._guard:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @contextmanager
    def hold(self, key: Hashable, timeout: float) -> Iterator[bool]:
        """``with locks.hold(key, 5) as acquired:``; released on leaving if it was acquired."""
        acquired = self.acquire(key, timeout)
        try:
            yield acquired
        finally:
            if acquired:
                self.release(key)

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)
