"""A complete Storage of one's own: files in this process's memory (docs/extending.md).

Choose it with ``pypi.storage = tests.example_backend:MemoryStorage``. It passes the Storage
contract suite (tests/contract/test_storage.py), which is what any backend must do. Memory is
per process, so it suits tests and one-process tools, not gunicorn with several workers.
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from registry.config import Config, Setting, parse_size
from registry.errors import AlreadyExists, NotFound, TooLarge
from registry.storage import Storage, StoredObject
from registry.storage.base import RESERVED_PREFIXES


class MemoryStorage(Storage):
    """Objects in a dict; a lock makes ``put`` create-only under concurrency."""

    settings = (
        Setting("storage.memory_limit", "1GiB", parse_size, "`MemoryStorage`: the most bytes it keeps."),
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._objects: dict[str, tuple[bytes, dict[str, str]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> MemoryStorage:
        (limit,) = (config.get_setting(setting) for setting in cls.settings)
        return cls(limit)

    def put(self, key: str, source: BinaryIO, meta: Mapping[str, str]) -> None:
        if key in self._objects:  # refuse early, before reading the source
            raise AlreadyExists(f"{key} already exists")
        copy = io.BytesIO()
        shutil.copyfileobj(source, copy, 1024 * 1024)  # a failing source raises here: nothing stored
        data = copy.getvalue()
        with self._lock:
            if key in self._objects:
                raise AlreadyExists(f"{key} already exists")
            if sum(len(stored) for stored, _ in self._objects.values()) + len(data) > self.limit:
                raise TooLarge(f"storage.memory_limit of {self.limit} bytes reached")
            self._objects[key] = (data, dict(meta))

    def _get(self, key: str) -> tuple[bytes, dict[str, str]]:
        try:
            return self._objects[key]
        except KeyError:
            raise NotFound(f"{key} not found") from None

    def open(self, key: str) -> StoredObject:
        data, _ = self._get(key)
        return StoredObject(stream=io.BytesIO(data), size=len(data), meta={})

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def get_meta(self, key: str) -> dict[str, str]:
        return dict(self._get(key)[1])

    def set_meta(self, key: str, meta: Mapping[str, str]) -> None:
        with self._lock:
            data, _ = self._get(key)
            self._objects[key] = (data, dict(meta))

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Staged uploads and kept upstream pages are listed only when asked for.
        hidden = tuple(folder for folder in RESERVED_PREFIXES if not prefix.startswith(folder))
        keys = list(self._objects)  # a copy: the dict may change while the caller iterates
        return (k for k in keys if k.startswith(prefix) and not k.startswith(hidden))
