"""What one process keeps of the upstream in memory, bounded in bytes rather than in entries.

A page of the public index ranges from a few kilobytes to several megabytes, so a limit by
count says nothing about memory. Every value is kept with its (estimated) size; the least
recently used go first when the total passes ``limit``. A value larger than the whole limit
is not kept at all (it is still returned to its caller, just not remembered).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MemoryUse:
    """What ``/health`` shows admins: entries kept, their bytes, the limit."""

    entries: int
    bytes: int
    limit: int
    evicted: int


class ByteLRU:
    """A thread-safe LRU mapping whose total size stays within ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._evicted = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value``, costing ``size`` bytes, evicting the least recently used as needed."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.limit:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.limit:
                _key, (_value, freed) = self._items.popitem(last=False)
                self._bytes -= freed
                self._evicted += 1

    def pop(self, key: Hashable) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]

    def discard_where(self, test: Any) -> None:
        """Drop every entry whose key passes ``test`` (a callable on the key)."""
        with self._lock:
            for key in [key for key in self._items if test(key)]:
                self._bytes -= self._items.pop(key)[1]

    def use(self) -> MemoryUse:
        with self._lock:
            return MemoryUse(len(self._items), self._bytes, self.limit, self._evicted)
