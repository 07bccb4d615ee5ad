"""Metadata in Google Cloud Firestore, laid out so every page view costs one or two reads.

Documents (``<ns>`` is ``db.namespace``; see ``docs/firestore.md`` for costs per operation):

- ``<ns>_files/<project>:<filename>``: one file's record, the source of truth for that file.
  Creating it is what makes ``add_file`` create-only.
- ``<ns>_projects/<project>``: the project header: display name, file count, and every file's
  record again in the ``files`` map, so a project page is one read. Past ``chunk_bytes`` the
  records overflow into ``<ns>_projects/<project>/chunks/<n>`` documents, keeping each under
  Firestore's 1 MiB limit for projects with thousands of files.
- ``<ns>_index/<nn>``: every project's display name, split over 32 shard documents by a hash
  of the name (``firestore_index``), for ``/simple/`` in one batched get of 32 documents; the
  sum of their update times is the index serial.
- ``<ns>_access/<kind>:<key>``: access data (see ``firestore_documents``).
- ``<ns>_meta/catalog``: the project catalog the web UI searches (see ``firestore_catalog``).
- ``<ns>_claims/<key>``: the upload rules' claims (see ``firestore_claims``).

Every change is one atomic batched commit (a transaction without reads). Adds write blindly
(field transforms, no read-modify-write), so parallel uploads to one project never contend;
the create of the file document is the race guard. Removals guard the header with its update
time (compare-and-set) and retry. Serials are document update times, which move on every
commit and never repeat, even after a project is removed and created again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from google.api_core import exceptions as google_errors
from google.cloud import firestore
from packaging.utils import NormalizedName

from ..config import Config, Setting, parse_float, parse_text
from ..errors import AlreadyExists, BackendUnavailable, ConfigError, NotFound
from ..models import FileRecord, ProjectSummary
from .base import Cache
from .claims import Claim
from .firestore_catalog import FirestoreCatalog
from .firestore_claims import FirestoreClaims
from .firestore_documents import FirestoreDocuments
from .firestore_encoding import (
    doc_id,
    entry_bytes,
    field_path,
    parse_namespace,
    serial_of,
)
from .firestore_index import ProjectIndex
from .records import decode_record, encode_record

T = TypeVar("T")

#: Estimated bytes of records one document holds before the next goes to a new chunk. Leaves
#: room under the 1 MiB limit for records added by concurrent writers that read a stale size.
CHUNK_BYTES = 600_000
HEADER_CHUNK = "0"  # chunk 0 is the ``files`` map on the header itself
REMOVE_ATTEMPTS = 20
_ClaimChanges = tuple[Sequence[Claim], Sequence[Claim]]  # released, marked


class FirestoreCache(FirestoreDocuments, FirestoreCatalog, FirestoreClaims, Cache):
    """Metadata in Firestore (or its emulator, when ``FIRESTORE_EMULATOR_HOST`` is set): file
    records here, access documents in ``FirestoreDocuments``, the client in ``FirestoreClient``."""

    settings = (
        Setting(
            "db.project",
            "",
            parse_text,
            "`firestore` cache: the Google Cloud project (empty: from the environment).",
        ),
        Setting("db.database", "(default)", parse_text, "`firestore` cache: the database id."),
        Setting(
            "db.namespace",
            "registry",
            parse_namespace,
            "`firestore` cache: prefix of every collection name, so registries can share a database.",
        ),
        Setting(
            "db.serial_cache_seconds",
            "0",
            parse_float,
            "`firestore` cache: how long a project's serial is trusted in memory (saves one read per "
            "page view; other instances' changes show up that much later). 0: always read.",
        ),
    )

    def __init__(
        self,
        project: str = "",
        database: str = "(default)",
        namespace: str = "registry",
        serial_cache_seconds: float = 0.0,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        super().__init__(project, database, namespace)
        self.serial_cache_seconds = serial_cache_seconds
        self.chunk_bytes = chunk_bytes
        self._serials: dict[str, tuple[float, int | None]] = {}
        self.index = ProjectIndex(self)
        self._adopted = False

    @classmethod
    def from_config(cls, config: Config) -> FirestoreCache:
        project, database, namespace, ttl = (config.get_setting(s) for s in cls.settings)
        if not database:
            raise ConfigError("db.database must not be empty: use (default) or a database id")
        return cls(project, database, namespace, ttl)

    # -- plumbing ------------------------------------------------------------------------

    def _header(self, project: str) -> Any:
        return self._collection("projects").document(project)

    def _chunk(self, project: str, chunk: str) -> Any:
        return (
            self._header(project)
            if chunk == HEADER_CHUNK
            else self._header(project).collection("chunks").document(chunk)
        )

    def _file(self, project: str, filename: str) -> Any:
        return self._collection("files").document(doc_id(f"{project}:{filename}"))

    def _adopt_legacy_index(self) -> None:
        """Once per process: move an index written by an earlier version into the shards."""
        if not self._adopted:
            self.index.adopt_legacy()
            self._adopted = True

    def _forget_serial(self, *projects: str) -> None:
        with self._lock:
            for project in (*projects, ""):  # "": the index serial
                self._serials.pop(project, None)

    # -- files --------------------------------------------------------------------------

    def _choose_chunk(self, chunks: dict[str, int], size: int) -> str:
        """The last chunk with room for ``size`` more bytes, or a new one after it."""
        if not chunks:
            return HEADER_CHUNK
        last = max(chunks, key=int)
        return last if chunks[last] + size <= self.chunk_bytes else str(int(last) + 1)

    def add_file(self, record: FileRecord, claims: Sequence[Claim] = ()) -> None:
        project, filename = record.project, record.filename
        header = self._get("add_file", self._header(project), ["name", "count", "chunks"])
        current = header.to_dict() or {}
        encoded = encode_record(record)
        size = entry_bytes(filename, encoded)
        chunks = (current.get("chunks") or {}) if current.get("count") else {}
        chunk = self._choose_chunk(chunks, size)
        display = current.get("name") if current.get("count") else None
        display = display or record.display_name
        db = self._db()
        batch = db.batch()
        self._take_claims(batch, claims)
        batch.create(
            self._file(project, filename),
            {"project": project, "filename": filename, "record": encoded, "chunk": int(chunk)},
        )
        update: dict[str, Any] = {
            "name": display,
            "count": firestore.Increment(1),
            "chunks": {chunk: firestore.Increment(size)},
        }
        if chunk == HEADER_CHUNK:
            update["files"] = {filename: encoded}
        else:
            batch.set(self._chunk(project, chunk), {"files": {filename: encoded}}, merge=True)
        batch.set(self._header(project), update, merge=True)
        self.index.add(batch, project, display)
        try:
            self._commit("add_file", batch)
        except BackendUnavailable as exc:
            if not isinstance(exc.__cause__, google_errors.AlreadyExists):  # not Aborted, also a Conflict
                raise
            free = self._free_claims(claims)
            if len(free) < len(claims):  # some were this owner's already: add without them
                return self.add_file(record, free)
            raise AlreadyExists(f"{filename} is already recorded") from exc.__cause__
        finally:
            self._forget_serial(project)

    def get_file(self, project: NormalizedName, filename: str) -> FileRecord | None:
        snapshot = self._get("get_file", self._file(project, filename))
        if not snapshot.exists:
            return None
        return decode_record(project, snapshot.get("record"))

    def list_files(self, project: NormalizedName) -> list[FileRecord]:
        header = self._get("list_files", self._header(project))
        data = header.to_dict() or {}
        if not data.get("count"):
            return []
        entries: dict[str, str] = dict(data.get("files") or {})
        extra = [chunk for chunk in data.get("chunks") or {} if chunk != HEADER_CHUNK]
        if extra:
            # Read the overflow chunks as of the header's read time: one consistent snapshot.
            refs = [self._chunk(project, chunk) for chunk in extra]
            with self._errors("list_files"):
                snapshots = list(self._db().get_all(refs, read_time=header.read_time))
            self._count("list_files", reads=len(refs))
            for snapshot in snapshots:
                entries.update((snapshot.to_dict() or {}).get("files") or {})
        return [decode_record(project, text) for text in entries.values()]

    def update_files(self, records: Iterable[FileRecord]) -> None:
        changed = {(record.project, record.filename): record for record in records}
        if not changed:
            return
        found = self._recorded(changed)
        batch = self._db().batch()
        headers: dict[str, dict[str, Any]] = {}
        chunk_files: dict[tuple[str, str], dict[str, str]] = {}
        for (project, filename), record in changed.items():
            snapshot = found[(project, filename)]
            chunk = str(snapshot.get("chunk"))
            encoded = encode_record(record)
            delta = entry_bytes(filename, encoded) - entry_bytes(filename, snapshot.get("record"))
            batch.update(snapshot.reference, {"record": encoded})
            header = headers.setdefault(project, {"chunks": {}})
            header["chunks"][chunk] = header["chunks"].get(chunk, 0) + delta
            chunk_files.setdefault((project, chunk), {})[filename] = encoded
        self._write_headers(batch, headers, chunk_files)
        try:
            self._commit("update_files", batch)
        except BackendUnavailable as exc:
            if isinstance(exc.__cause__, google_errors.NotFound):  # removed meanwhile
                raise NotFound("a file to update is no longer recorded") from exc.__cause__
            raise
        finally:
            self._forget_serial(*headers)

    def _recorded(self, changed: dict[tuple[NormalizedName, str], FileRecord]) -> dict[tuple[str, str], Any]:
        """The file documents of ``changed`` records. :raises NotFound: one is not recorded."""
        refs = [self._file(project, filename) for project, filename in changed]
        with self._errors("update_files"):
            snapshots = list(self._db().get_all(refs))
        self._count("update_files", reads=len(refs))
        found = {(s.get("project"), s.get("filename")): s for s in snapshots if s.exists}
        for project, filename in changed:
            if (project, filename) not in found:
                raise NotFound(f"{filename} is not recorded")
        return found

    def _write_headers(
        self,
        batch: Any,
        headers: dict[str, dict[str, Any]],
        chunk_files: dict[tuple[str, str], dict[str, str]],
    ) -> None:
        """Add the changed records' copies (header map or chunks) and the serials to ``batch``."""
        for (name, chunk), files in chunk_files.items():
            if chunk == HEADER_CHUNK:
                headers[name]["files"] = files
            else:
                batch.set(self._chunk(name, chunk), {"files": files}, merge=True)
        for name, header in headers.items():
            header["chunks"] = {k: firestore.Increment(v) for k, v in header["chunks"].items()}
            batch.set(self._header(name), header, merge=True)
        self.index.stamp(batch, headers)

    def remove_file(
        self,
        project: NormalizedName,
        filename: str,
        release: Sequence[Claim] = (),
        mark: Sequence[Claim] = (),
    ) -> None:
        try:
            self._retry_on_conflict(lambda: self._remove_once(project, filename, (release, mark)))
        finally:
            self._forget_serial(project)

    def _retry_on_conflict(self, attempt: Callable[[], T]) -> T:
        """Run a compare-and-set ``attempt`` until no concurrent change beats it."""
        for tries in range(REMOVE_ATTEMPTS):
            try:
                return attempt()
            except BackendUnavailable as exc:
                if not isinstance(exc.__cause__, google_errors.FailedPrecondition):
                    raise
                time.sleep(min(0.5, 0.01 * 2**tries))
        raise BackendUnavailable(f"Firestore: too much contention, gave up after {REMOVE_ATTEMPTS} tries")

    def _remove_once(self, project: NormalizedName, filename: str, claims: _ClaimChanges) -> None:
        file_ref = self._file(project, filename)
        snapshot = self._get("remove_file", file_ref)
        if not snapshot.exists:
            raise NotFound(f"{filename} is not recorded")
        header = self._get("remove_file", self._header(project), ["count", "chunks"])
        current = header.to_dict() or {}
        db = self._db()
        batch = db.batch()
        batch.delete(file_ref, option=db.write_option(exists=True))
        self._change_claims(batch, *claims)
        if not header.exists:  # cannot happen through this class; heal rather than fail
            self.index.drop(batch, project)
        elif (current.get("count") or 0) <= 1:
            for other in current.get("chunks") or {}:
                if other != HEADER_CHUNK:
                    batch.delete(self._chunk(project, other))
            batch.delete(self._header(project), option=db.write_option(last_update_time=header.update_time))
            self.index.drop(batch, project)
        else:
            self._drop_entry(batch, project, filename, snapshot, header)
        try:
            self._commit("remove_file", batch)
        except BackendUnavailable as exc:
            if isinstance(exc.__cause__, google_errors.NotFound):
                raise NotFound(f"{filename} is not recorded") from exc.__cause__
            raise

    def _drop_entry(self, batch: Any, project: str, filename: str, snapshot: Any, header: Any) -> None:
        """Add to ``batch`` the removal of one file's copy from a project that keeps others."""
        chunk = str(snapshot.get("chunk"))
        db = self._db()
        update: dict[str, Any] = {
            "count": firestore.Increment(-1),
            field_path("chunks", chunk): firestore.Increment(-entry_bytes(filename, snapshot.get("record"))),
        }
        if chunk == HEADER_CHUNK:
            update[field_path("files", filename)] = firestore.DELETE_FIELD
        else:
            batch.set(self._chunk(project, chunk), {"files": {filename: firestore.DELETE_FIELD}}, merge=True)
        guard = db.write_option(last_update_time=header.update_time)
        batch.update(self._header(project), update, option=guard)
        self.index.stamp(batch, [project])

    def list_projects(self) -> list[ProjectSummary]:
        self._adopt_legacy_index()
        return self.index.list()

    def project_serial(self, project: NormalizedName) -> int | None:
        if self.serial_cache_seconds > 0:
            with self._lock:
                kept = self._serials.get(project)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
        snapshot = self._get("project_serial", self._header(project), ["count"])
        serial = serial_of(snapshot.update_time) if snapshot.exists and snapshot.get("count") else None
        if self.serial_cache_seconds > 0:
            with self._lock:
                if len(self._serials) > 10_000:
                    self._serials.clear()
                self._serials[project] = (time.monotonic() + self.serial_cache_seconds, serial)
        return serial

    def index_serial(self) -> int:
        if self.serial_cache_seconds > 0:
            with self._lock:
                kept = self._serials.get("")  # "" is never a project name
            if kept is not None and kept[0] > time.monotonic() and kept[1] is not None:
                return kept[1]
        self._adopt_legacy_index()
        serial = self.index.serial()
        if self.serial_cache_seconds > 0:
            with self._lock:
                self._serials[""] = (time.monotonic() + self.serial_cache_seconds, serial)
        return serial

    def is_empty(self) -> bool:
        query = self._collection("files").limit(1).select([])
        with self._errors("is_empty"):
            found = list(query.stream())
        self._count("is_empty", reads=max(1, len(found)))
        return not found
