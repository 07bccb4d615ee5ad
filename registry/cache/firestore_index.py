"""The ``firestore`` backend's project index, split over a fixed number of shard documents.

One document holding every project's name fits about 15,000 projects under Firestore's 1 MiB
document limit and takes about one sustained write per second, which a cold proxy filling
hundreds of new projects at once exceeds. So the index is ``SHARDS`` documents,
``<ns>_index/<nn>``; a project's entry lives in the shard its name hashes to, so writes of
different projects spread evenly (a burst of 50 new projects a second is under two writes a
second per shard), and 32 shards hold ~500,000 projects. ``/simple/`` reads all shards in one
batched get: a fixed 32 reads, whatever the number of projects. An entry is just the display
name (a string: nested maps with timestamps took ten times longer to decode at 100,000
projects), and every change also bumps the shard's counter ``n``, so the shard's update time
moves; the index serial is the sum of the shards' update times (each only grows).

The count is fixed: changing it would move every project to another shard. See
``docs/firestore.md`` for the reasoning and the figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from google.cloud import firestore
from packaging.utils import NormalizedName

from ..models import ProjectSummary
from .firestore_client import FirestoreClient
from .firestore_encoding import serial_of

SHARDS = 32


def shard_of(project: str) -> str:
    """The shard document id of a project: a stable hash of its canonical name.

    >>> shard_of("demo")
    '25'
    """
    digest = hashlib.blake2b(project.encode(), digest_size=4).digest()
    return f"{int.from_bytes(digest, 'big') % SHARDS:02d}"


class ProjectIndex:
    """Reads and batched writes of the sharded project index of one ``FirestoreClient``."""

    def __init__(self, client: FirestoreClient) -> None:
        self.client = client

    def _shard(self, shard: str) -> Any:
        return self.client._collection("index").document(shard)

    def _all(self) -> list[Any]:
        return [self._shard(f"{n:02d}") for n in range(SHARDS)]

    def add(self, batch: Any, project: str, display: str) -> None:
        """In ``batch``: the project's entry (its display name); the shard changed."""
        entry = {"projects": {project: display}, "n": firestore.Increment(1)}
        batch.set(self._shard(shard_of(project)), entry, merge=True)

    def stamp(self, batch: Any, projects: Iterable[str]) -> None:
        """In ``batch``: the projects' shards changed (one write per shard touched)."""
        for shard in sorted({shard_of(project) for project in projects}):
            batch.set(self._shard(shard), {"n": firestore.Increment(1)}, merge=True)

    def drop(self, batch: Any, project: str) -> None:
        """In ``batch``: remove the project's entry."""
        entry = {"projects": {project: firestore.DELETE_FIELD}, "n": firestore.Increment(1)}
        batch.set(self._shard(shard_of(project)), entry, merge=True)

    def _get_all(self, operation: str, fields: list[str] | None) -> list[Any]:
        with self.client._errors(operation):
            snapshots = list(self.client._db().get_all(self._all(), field_paths=fields))
        self.client._count(operation, reads=SHARDS)  # a missing shard is billed as a read too
        return snapshots

    def list(self) -> list[ProjectSummary]:
        """Every project, from all shards (one batched get of ``SHARDS`` documents); a
        project's serial is its shard's (it moves whenever the project changes)."""
        found: list[ProjectSummary] = []
        for snapshot in self._get_all("list_projects", ["projects"]):
            projects: dict[str, str] = (snapshot.to_dict() or {}).get("projects") or {}
            serial = serial_of(snapshot.update_time) if snapshot.exists else 0
            found.extend(
                ProjectSummary(NormalizedName(name), display or name, serial)
                for name, display in projects.items()
            )
        return found

    def serial(self) -> int:
        """The sum of the shards' update times: moves whenever any project changes."""
        snapshots = self._get_all("index_serial", [])
        return sum(serial_of(s.update_time) for s in snapshots if s.exists)

    def adopt_legacy(self) -> int:
        """Move the entries of the single index document of earlier versions
        (``<ns>_meta/index``) into the shards, then delete it; how many were moved.

        Idempotent and safe to run in several processes at once (the delete is guarded by
        the document's update time: one written meanwhile is moved on the next run).
        """
        legacy = self.client._collection("meta").document("index")
        snapshot = self.client._get("adopt_legacy", legacy)
        if not snapshot.exists:
            return 0
        entries: dict[str, Any] = (snapshot.to_dict() or {}).get("projects") or {}
        batch = self.client._db().batch()
        by_shard: dict[str, dict[str, Any]] = {}
        for name, entry in entries.items():
            display = entry.get("d") if isinstance(entry, dict) else None
            by_shard.setdefault(shard_of(name), {})[name] = display or name
        for shard, moved in by_shard.items():
            batch.set(self._shard(shard), {"projects": moved, "n": firestore.Increment(1)}, merge=True)
        batch.delete(legacy, option=self.client._db().write_option(last_update_time=snapshot.update_time))
        self.client._commit("adopt_legacy", batch)
        return len(entries)
