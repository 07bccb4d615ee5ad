"""The one file pipeline: store, record, verify. Uploads, large uploads, upstream cache fills,
rebuild and migrate all write files and records through it.

The file is written first (create-only), its PEP 658 metadata file beside it, and the record
last, in one Cache transaction. If the record write fails the client gets a 5xx and nothing is
listed; a retry finds the identical bytes already stored and completes the record. The record
also travels on the stored object (``storage_meta``), so the Cache can be rebuilt from Storage.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Sequence
from typing import BinaryIO

from ..cache import Cache
from ..cache.claims import Claim
from ..errors import AlreadyExists, Claimed, FileExists, NotFound
from ..models import FileRecord
from ..storage import Storage, StoredObject
from .upload_state import released_by, tombstone, tombstone_key

_CHUNK = 1024 * 1024


def file_exists_error(filename: str, sha256: str) -> FileExists:
    """What twine's ``--skip-existing`` looks for: 400 + "File already exists"."""
    return FileExists(
        f"File already exists ({filename!r}, with sha256 hash {sha256!r}): a file cannot be "
        "replaced once uploaded; upload it under a new version instead"
    )


def storage_meta(record: FileRecord) -> dict[str, str]:
    """The meta mapping stored on the object: enough to rebuild the record from Storage."""
    return {"record": json.dumps(record.to_dict(), separators=(",", ":"))}


class FilePipeline:
    """Writes files and their records, in the order that keeps both consistent."""

    def __init__(self, storage: Storage, cache: Cache) -> None:
        self.storage = storage
        self.cache = cache

    def stored_sha256(self, key: str) -> str:
        """The sha256 of an object already in Storage, from its meta or, failing that, its bytes;
        empty when there is no object."""
        try:
            meta = self.storage.get_meta(key)
            return str(json.loads(meta["record"])["sha256"])
        except (KeyError, ValueError, TypeError):
            stored = self.storage.open(key)
            digest = hashlib.sha256()
            with stored.stream:
                while chunk := stored.stream.read(_CHUNK):
                    digest.update(chunk)
            return digest.hexdigest()
        except NotFound:
            return ""

    def store(self, record: FileRecord, content: BinaryIO, metadata: bytes | None) -> None:
        """Write the file, then its metadata file, create-only; accept identical leftovers.

        A leftover from an earlier attempt whose record write failed is accepted when its bytes
        are the same, which is what makes a retry succeed.

        :raises FileExists: different bytes are stored under the key.
        """
        content.seek(0)
        try:
            self.storage.put(record.key, content, storage_meta(record))
        except AlreadyExists:
            if self.stored_sha256(record.key) != record.sha256:
                raise file_exists_error(record.filename, record.sha256) from None
            self.storage.set_meta(record.key, storage_meta(record))
        if metadata is not None:
            # An existing one came from the same file bytes (checked above), so it is the same.
            with contextlib.suppress(AlreadyExists):
                self.storage.put(record.metadata_key, io.BytesIO(metadata), {})

    def describe(self, record: FileRecord, metadata: bytes | None) -> None:
        """Write ``record`` onto its already stored object, and store its metadata file if
        missing (a file indexed from its own bytes, by a rebuild)."""
        self.storage.set_meta(record.key, storage_meta(record))
        if metadata is not None:
            with contextlib.suppress(AlreadyExists):
                self.storage.put(record.metadata_key, io.BytesIO(metadata), {})

    def record(self, record: FileRecord, claims: Sequence[Claim] = ()) -> FileRecord:
        """Add the record (taking ``claims``); under a race, the loser with identical bytes gets
        the winner's record.

        :raises FileExists: the winner of a race holds different bytes.
        :raises Claimed: a claim is held by another owner (nothing recorded).
        """
        try:
            self.cache.add_file(record, claims)
        except AlreadyExists:
            winner = self.cache.get_file(record.project, record.filename)
            if winner is None or winner.sha256 != record.sha256:
                raise file_exists_error(record.filename, winner.sha256 if winner else "") from None
            return winner
        return record

    def add(
        self, record: FileRecord, content: BinaryIO, metadata: bytes | None, claims: Sequence[Claim] = ()
    ) -> FileRecord:
        """Store a new file and record it (see ``store`` and ``record``).

        :raises Claimed: a claim is held by another owner; the stored bytes are removed again.
        """
        self.store(record, content, metadata)
        try:
            return self.record(record, claims)
        except Claimed:
            self.storage.delete(record.key)
            self.storage.delete(record.metadata_key)
            raise

    def replace(
        self, old: FileRecord, new: FileRecord, content: BinaryIO, metadata: bytes | None
    ) -> FileRecord:
        """Replace a file's bytes and record (``pypi.allow_overwrite``).

        The old bytes go first, then the new ones are stored, then recorded. The new file's URL
        differs from the old one (it carries the start of the sha256), so a CDN's immutable copy
        of the old URL keeps the bytes that URL always had. Between storing and recording, the
        key holds bytes that are not the record's: downloads check (``matches``) and answer 404
        rather than serve them under the old URL. A failure half-way is completed by a retry.
        """
        self.storage.delete(old.key)
        self.storage.delete(old.metadata_key)
        self.store(new, content, metadata)
        self.cache.update_files([new])
        return new

    def put_record(self, record: FileRecord, known: FileRecord | None) -> str:
        """Make the Cache hold ``record`` (``known``: what it holds now, if read already).

        Returns "added", "updated" or "unchanged". Used where the record comes from elsewhere
        (a rebuild from Storage, a migration), so a concurrent upload of the same file is fine.
        """
        if known == record:
            return "unchanged"
        if known is None:
            try:
                self.cache.add_file(record)
                return "added"
            except AlreadyExists:  # an upload recorded it meanwhile
                known = self.cache.get_file(record.project, record.filename)
                if known == record or known is None:
                    return "unchanged"
        self.cache.update_files([record])
        return "updated"

    def update(self, records: list[FileRecord]) -> None:
        """Change existing records (yank state) and the copies kept on their stored objects."""
        self.cache.update_files(records)
        for record in records:  # keep the copy on the stored object current, for rebuilds
            with contextlib.suppress(NotFound):
                self.storage.set_meta(record.key, storage_meta(record))

    def delete(self, record: FileRecord) -> None:
        """Delete a file: its bytes and metadata file first, then its record.

        In that order a failure half-way leaves a record whose retry completes the delete,
        never a stray file that a rebuild from storage would bring back. An uploaded file
        leaves a tombstone (``upload_state``): written to Storage first, and as a claim in the
        transaction that removes the record, which also releases the file's other claims.
        """
        if record.origin:
            self.storage.delete(record.key)
            self.storage.delete(record.metadata_key)
            self.cache.remove_file(record.project, record.filename)
            return
        mark = tombstone(record)
        with contextlib.suppress(AlreadyExists):
            self.storage.put(
                tombstone_key(record.project, record.filename), io.BytesIO(b""), {"owner": mark.owner}
            )
        self.storage.delete(record.key)
        self.storage.delete(record.metadata_key)
        self.cache.remove_file(record.project, record.filename, released_by(record), [mark])

    def matches(self, record: FileRecord, stored: StoredObject, metadata: bool) -> StoredObject | None:
        """``stored`` (possibly re-wrapped) if its bytes are ``record``'s, else None (closed).

        Only needed when files can be replaced. Call it after opening, so the open stream is
        the one checked: for a file, its stored record says whose bytes they are; a metadata
        file is small, so it is hashed.
        """
        if metadata:
            with stored.stream:
                data = stored.stream.read()
            if hashlib.sha256(data).hexdigest() != record.metadata_sha256:
                return None
            return StoredObject(stream=io.BytesIO(data), size=len(data), meta=stored.meta)
        if self.stored_sha256(record.key) != record.sha256:
            stored.stream.close()
            return None
        return stored
