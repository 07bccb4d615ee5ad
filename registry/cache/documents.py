"""The DocumentStore interface: small JSON documents for the access data kept in the database.

Users, groups, project permissions and API tokens live here (``registry.access``), beside the
file records: the built-in Cache backends implement this interface too, so one database holds
both. Every change bumps one serial, which a process checks (cheaply) to know when to re-read.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Any

from ..errors import AlreadyExists


class DocumentStore(ABC):
    """Access documents by kind and key. A backend implements the abstract methods."""

    @abstractmethod
    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every document of ``kind`` (``user``, ``group``, ``perm``, ``token``): key -> data.

        Read whenever ``docs_serial`` moves, so it may be slow.
        """

    @abstractmethod
    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        """Create or replace a JSON-safe document, bumping ``docs_serial`` in the same write.

        :raises AlreadyExists: ``create_only`` and a document of that kind and key exists.
        """

    @abstractmethod
    def delete_doc(self, kind: str, key: str) -> bool:
        """Delete a document, bumping ``docs_serial``; whether it existed."""

    @abstractmethod
    def docs_serial(self) -> int:
        """A number that changes whenever any document changes.

        Checked at most every ``auth.refresh_seconds`` per process, so it must be cheap.
        """

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        """One document, or None. May override: the default lists the kind."""
        return self.list_docs(kind).get(key)

    def get_or_create_doc(self, kind: str, key: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The document, created with ``data`` by the first process that asks (another one's
        wins a race); None only if it could not be read back."""
        found = self.get_doc(kind, key)
        if found is None:
            with contextlib.suppress(AlreadyExists):  # another process made it first: use theirs
                self.put_doc(kind, key, data, create_only=True)
            found = self.get_doc(kind, key)
        return found
