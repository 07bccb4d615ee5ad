"""The ``firestore`` backend's access documents (users, groups, permissions, API tokens).

``<ns>_access/<kind>:<key>`` holds one small JSON document each; ``<ns>_meta/access``'s update
time is their serial, so a process notices any change with one read.
"""

from __future__ import annotations

import json
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from ..errors import AlreadyExists, BackendUnavailable
from .documents import DocumentStore
from .firestore_client import FirestoreClient
from .firestore_encoding import doc_id, serial_of


class FirestoreDocuments(FirestoreClient, DocumentStore):
    """The DocumentStore half of the ``firestore`` backend."""

    def _access_doc(self, kind: str, key: str) -> Any:
        return self._collection("access").document(doc_id(f"{kind}:{key}"))

    def _access_serial(self) -> Any:
        return self._collection("meta").document("access")

    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        query = self._collection("access").where(filter=FieldFilter("kind", "==", kind))
        with self._errors("list_docs"):
            snapshots = list(query.stream())
        self._count("list_docs", reads=max(1, len(snapshots)))
        return {s.get("key"): json.loads(s.get("data")) for s in snapshots}

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        snapshot = self._get("get_doc", self._access_doc(kind, key))
        return json.loads(snapshot.get("data")) if snapshot.exists else None

    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        body = {"kind": kind, "key": key, "data": json.dumps(data, separators=(",", ":"))}
        batch = self._db().batch()
        if create_only:
            batch.create(self._access_doc(kind, key), body)
        else:
            batch.set(self._access_doc(kind, key), body)
        batch.set(self._access_serial(), {"changes": firestore.Increment(1)}, merge=True)
        try:
            self._commit("put_doc", batch)
        except BackendUnavailable as exc:
            if isinstance(exc.__cause__, google_errors.AlreadyExists):
                raise AlreadyExists(f"{kind} {key!r} already exists") from exc.__cause__
            raise

    def delete_doc(self, kind: str, key: str) -> bool:
        ref = self._access_doc(kind, key)
        if not self._get("delete_doc", ref, []).exists:
            return False
        batch = self._db().batch()
        batch.delete(ref)
        batch.set(self._access_serial(), {"changes": firestore.Increment(1)}, merge=True)
        self._commit("delete_doc", batch)
        return True

    def docs_serial(self) -> int:
        snapshot = self._get("docs_serial", self._access_serial(), [])
        return serial_of(snapshot.update_time) if snapshot.exists else 0
