"""The Firestore client shared by the Cache and DocumentStore halves of the ``firestore`` backend.

Connects lazily (nothing at import or construction), names collections under ``db.namespace``,
counts billed reads and writes per operation (``python -m registry backend-usage``), and
translates client library errors into ``BackendUnavailable`` at the edge.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.api_core import exceptions as google_errors
from google.auth import exceptions as auth_errors
from google.cloud import firestore

from ..errors import BackendUnavailable

#: Commits of one batch that Firestore aborted (contention on a document) before giving up.
COMMIT_ATTEMPTS = 6


class FirestoreClient:
    """A lazily connected Firestore client with usage counters.

    ``reads`` and ``writes`` count billed document reads and writes since start (a missing
    document or an empty query still costs one read); ``usage`` splits them per operation.
    """

    def __init__(self, project: str = "", database: str = "(default)", namespace: str = "registry") -> None:
        self.project = project
        self.database = database
        self.namespace = namespace
        self.reads = 0
        self.writes = 0
        self.usage: dict[str, list[int]] = {}
        self._client: Any = None
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()

    def _db(self) -> Any:
        if self._client is None:
            with self._connect_lock, self._errors("connect"):
                if self._client is None:
                    self._client = firestore.Client(project=self.project or None, database=self.database)
        return self._client

    def _collection(self, kind: str) -> Any:
        return self._db().collection(f"{self.namespace}_{kind}" if self.namespace else kind)

    def _count(self, operation: str, reads: int = 0, writes: int = 0) -> None:
        with self._lock:
            self.reads += reads
            self.writes += writes
            totals = self.usage.setdefault(operation, [0, 0])
            totals[0] += reads
            totals[1] += writes

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate client library errors into ``BackendUnavailable`` at the edge."""
        try:
            yield
        except (google_errors.GoogleAPIError, auth_errors.GoogleAuthError) as exc:
            raise BackendUnavailable(f"Firestore {action} failed: {exc}") from exc

    def _get(self, operation: str, ref: Any, fields: list[str] | None = None) -> Any:
        with self._errors(operation):
            snapshot = ref.get(field_paths=fields)
        self._count(operation, reads=1)
        return snapshot

    def _commit(self, operation: str, batch: Any) -> None:
        """Commit a batch; one Firestore aborted under contention (nothing was applied) is
        committed again, a few times, after a short random pause."""
        writes = len(batch)
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                with self._errors(operation):
                    batch.commit()
                break
            except BackendUnavailable as exc:
                if not isinstance(exc.__cause__, google_errors.Aborted) or attempt == COMMIT_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
        self._count(operation, writes=writes)

    def reset_usage(self) -> dict[str, list[int]]:
        """Zero the counters; return the per-operation ``[reads, writes]`` counted until now."""
        with self._lock:
            usage, self.usage = self.usage, {}
            self.reads = self.writes = 0
        return usage

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
