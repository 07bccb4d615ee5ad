"""The CatalogStore interface: where the project catalog (``core.catalog``) is kept between uses.

The catalog is one compact summary per project (name, summary, keywords, latest version, counts)
that the web UI searches and lists. It is derived data: the core rebuilds any entry from the
file records whenever the entry's project serial is stale, so a store only keeps the bytes it is
given, and losing them costs a rebuild, never data. A backend whose reads are billed
(Firestore) implements it to share one catalog between instances; any other backend gets a
per-process ``MemoryCatalogStore``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class CatalogStore(ABC):
    """One opaque blob (the encoded catalog), read whole and replaced whole."""

    @abstractmethod
    def load_catalog(self) -> bytes | None:
        """The bytes last saved, or None when nothing is saved.

        :raises BackendUnavailable: the backend failed.
        """

    @abstractmethod
    def save_catalog(self, data: bytes) -> None:
        """Replace the saved bytes (last writer wins: every entry carries its own serial).

        :raises BackendUnavailable: the backend failed.
        """


class MemoryCatalogStore(CatalogStore):
    """The catalog kept in this process only (rebuilt once per process start)."""

    def __init__(self) -> None:
        self._data: bytes | None = None
        self._lock = threading.Lock()

    def load_catalog(self) -> bytes | None:
        with self._lock:
            return self._data

    def save_catalog(self, data: bytes) -> None:
        with self._lock:
            self._data = data


def catalog_store_of(backend: object) -> CatalogStore:
    """The backend itself when it keeps a catalog, else a fresh in-memory store."""
    return backend if isinstance(backend, CatalogStore) else MemoryCatalogStore()
