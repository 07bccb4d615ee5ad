"""The ``firestore`` backend's CatalogStore: the project catalog beside the ``/simple/`` index.

``<ns>_meta/catalog`` holds the encoded catalog (``data``, bytes) and how many parts it has;
past ``PART_BYTES`` the rest goes to ``<ns>_meta/catalog-1``, ``-2``, ... so each document stays
under Firestore's 1 MiB limit. A save is one batched commit of every part; a load reads the
first part and, for a large catalog, the others as of the same read time (one consistent
snapshot). About 3,000 projects fit in one part (compressed entries of ~300 bytes).
"""

from __future__ import annotations

from typing import Any

from .catalog import CatalogStore
from .firestore_client import FirestoreClient

PART_BYTES = 900_000


class FirestoreCatalog(FirestoreClient, CatalogStore):
    """The CatalogStore half of the ``firestore`` backend."""

    def _catalog_part(self, part: int) -> Any:
        return self._collection("meta").document("catalog" if part == 0 else f"catalog-{part}")

    def load_catalog(self) -> bytes | None:
        head = self._get("load_catalog", self._catalog_part(0))
        if not head.exists:
            return None
        parts = int(head.get("parts") or 1)
        chunks = [bytes(head.get("data") or b"")]
        if parts > 1:
            refs = [self._catalog_part(part) for part in range(1, parts)]
            with self._errors("load_catalog"):
                snapshots = {s.id: s for s in self._db().get_all(refs, read_time=head.read_time)}
            self._count("load_catalog", reads=len(refs))
            for part in range(1, parts):
                snapshot = snapshots.get(f"catalog-{part}")
                if snapshot is None or not snapshot.exists:
                    return None  # torn by a concurrent save: the caller rebuilds what it needs
                chunks.append(bytes(snapshot.get("data") or b""))
        return b"".join(chunks)

    def save_catalog(self, data: bytes) -> None:
        parts = [data[start : start + PART_BYTES] for start in range(0, len(data), PART_BYTES)] or [b""]
        batch = self._db().batch()
        for number, part in enumerate(parts):
            body: dict[str, Any] = {"data": part}
            if number == 0:
                body["parts"] = len(parts)
            batch.set(self._catalog_part(number), body)
        self._commit("save_catalog", batch)
