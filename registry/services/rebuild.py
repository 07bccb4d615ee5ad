"""Rebuild the Cache from Storage: ``python -m registry rebuild``, and first start on an empty Cache.

Storage is the source of truth: every object carries its record (``storage_meta``). The rebuild
never clears the Cache; it adds missing records, corrects records that differ from Storage,
and removes records whose file is gone, one record at a time, so a live registry keeps serving
throughout. A distribution file without a usable record (its upload stopped between the file
and the record, or it was copied in by hand) is indexed from its own bytes, and the record is
written back onto it. Anything else that cannot be indexed is reported as a stray, never deleted.

Races with live traffic are safe: an upload stores its file before its record, so a file whose
record is missing may be mid-upload, and whichever of the two adds the record first wins with
the same content; a record is removed only after checking again that its file is really gone.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import AlreadyExists, InvalidUpload, NotFound, TooLarge
from ..models import FileRecord
from .context import Services
from .distribution import inspect_distribution, parse_filename
from .upload import hash_stream, new_record, storage_meta

log = logging.getLogger("registry")
METADATA_SUFFIX = ".metadata"
_SPOOL = 16 * 1024 * 1024
STRAYS_LOGGED = 20
THREADS = 8  # objects read (and projects synced) at once

Step = Callable[[int], None]


def _no_progress(count: int) -> None:
    """The default progress callback: nothing to show."""


@dataclass
class RebuildReport:
    """What a rebuild did: keys per outcome, and strays with the reason each was not indexed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    indexed_from_bytes: list[str] = field(default_factory=list)
    unchanged: int = 0
    strays: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged, {len(self.indexed_from_bytes)} indexed from file contents, "
            f"{len(self.strays)} stray objects"
        )


def is_companion(key: str, keys: set[str]) -> bool:
    """Whether ``key`` is the PEP 658 metadata file stored beside a distribution in ``keys``."""
    return key.endswith(METADATA_SUFFIX) and key[: -len(METADATA_SUFFIX)] in keys


def record_from_meta(services: Services, key: str) -> FileRecord | None:
    """The record kept on the object, or None when it has none or it does not fit the key."""
    try:
        text = services.storage.get_meta(key).get("record")
    except NotFound:
        return None
    if not text:
        return None
    try:
        record = FileRecord.from_dict(json.loads(text))
    except (ValueError, TypeError, KeyError):
        return None
    return record if record.key == key else None


def record_from_bytes(services: Services, key: str) -> FileRecord:
    """Index a distribution from its bytes, as an upload would (uploader unknown, time now).

    Writes the record onto the object and stores a missing PEP 658 file, so the next rebuild
    finds them.

    :raises InvalidUpload: not a valid distribution under this key.
    :raises TooLarge: larger than ``pypi.max_file_size``.
    """
    project, _, filename = key.partition("/")
    parsed = parse_filename(filename)
    if parsed.project != project:
        raise InvalidUpload(f"the filename belongs to project {parsed.project!r}, not {project!r}")
    config = services.config
    with tempfile.SpooledTemporaryFile(_SPOOL) as local:
        stored = services.storage.open(key)
        with stored.stream:
            shutil.copyfileobj(stored.stream, local, 1024 * 1024)
        local.seek(0)
        content: BinaryIO = local  # type: ignore[assignment]
        digests = hash_stream(content, config["pypi.max_file_size"])
        metadata = inspect_distribution(content, parsed, digests.size, config["pypi.max_unpacked_size"])
    is_wheel = parsed.packagetype == "bdist_wheel"
    record = new_record(parsed, digests, metadata)
    services.storage.set_meta(key, storage_meta(record))
    if is_wheel:
        with contextlib.suppress(AlreadyExists):
            services.storage.put(record.metadata_key, io.BytesIO(metadata.raw), {})
    return record


def cached_records(services: Services) -> dict[str, FileRecord]:
    """Every record in the Cache, by storage key."""
    return {
        record.key: record
        for project in services.cache.list_projects()
        for record in services.cache.list_files(project.name)
    }


def _sync_record(services: Services, record: FileRecord, known: FileRecord | None) -> str:
    """Make the Cache hold ``record``: add it, or replace a different one. Returns what it did."""
    if known == record:
        return "unchanged"
    if known is None:
        try:
            services.cache.add_file(record)
            return "added"
        except AlreadyExists:  # an upload recorded it meanwhile
            known = services.cache.get_file(record.project, record.filename)
            if known == record or known is None:
                return "unchanged"
    services.cache.update_files([record])
    return "updated"


@dataclass(frozen=True)
class _Found:
    """What one object turned out to be: a record (from its meta or its bytes) or a stray."""

    key: str
    record: FileRecord | None
    from_bytes: bool = False
    stray: str = ""


def _read_record(services: Services, key: str) -> _Found:
    record = record_from_meta(services, key)
    if record is not None:
        return _Found(key, record)
    try:
        return _Found(key, record_from_bytes(services, key), from_bytes=True)
    except (InvalidUpload, TooLarge) as exc:
        return _Found(key, None, stray=exc.message)


def first_files_first(projects: Iterable[list[FileRecord]]) -> list[list[FileRecord]]:
    """Two batches: each project's earliest file, then all the others.

    Records of a batch can be written in parallel; the first batch goes first so that each
    project's display name comes from its first upload, as it did originally.
    """
    firsts: list[FileRecord] = []
    others: list[FileRecord] = []
    for records in projects:
        ordered = sorted(records, key=lambda record: record.upload_time)
        firsts += ordered[:1]
        others += ordered[1:]
    return [firsts, others]


def rebuild(
    services: Services, keys: Iterable[str] | None = None, step: Step = _no_progress, threads: int = THREADS
) -> RebuildReport:
    """Bring the Cache in line with Storage; ``step(n)`` reports n more keys handled.

    ``keys`` is the Storage listing when the caller already has it (to size a progress bar).
    Objects are read, and projects synced, ``threads`` at a time: each is a network round trip.
    """
    report = RebuildReport()
    cached = cached_records(services)
    all_keys = set(services.storage.list_keys() if keys is None else keys)
    wanted = sorted(key for key in all_keys if not is_companion(key, all_keys))
    step(len(all_keys) - len(wanted))
    projects: dict[str, list[FileRecord]] = {}
    with ThreadPoolExecutor(threads) as pool:
        for found in pool.map(lambda key: _read_record(services, key), wanted):
            if found.record is None:
                report.strays[found.key] = found.stray
                step(1)
                continue
            if found.from_bytes:
                report.indexed_from_bytes.append(found.key)
            projects.setdefault(found.record.project, []).append(found.record)

        def sync(record: FileRecord) -> tuple[str, str]:
            return _sync_record(services, record, cached.get(record.key)), record.key

        for batch in first_files_first(projects.values()):
            for outcome, key in pool.map(sync, batch):
                if outcome == "unchanged":
                    report.unchanged += 1
                else:
                    getattr(report, outcome).append(key)
                step(1)
    indexed = {record.key for records in projects.values() for record in records}
    for key, record in sorted(cached.items()):
        if key in indexed or services.storage.exists(key):
            continue
        try:
            services.cache.remove_file(record.project, record.filename)
            report.removed.append(key)
        except NotFound:
            pass
    return report


def rebuild_if_empty(services: Services) -> RebuildReport | None:
    """On first use with an empty Cache, fill it from Storage. Costs one cheap check otherwise."""
    if not services.cache.is_empty():
        return None
    keys = list(services.storage.list_keys())
    if not keys:
        return None
    log.warning("The metadata store is empty but storage holds %d objects: rebuilding it", len(keys))
    report = rebuild(services, keys)
    log.warning("Rebuilt the metadata store: %s", report.summary())
    for key, reason in sorted(report.strays.items())[:STRAYS_LOGGED]:
        log.warning("Stray object %s not indexed: %s", key, reason)
    if len(report.strays) > STRAYS_LOGGED:
        log.warning(
            "... and %d more stray objects (python -m registry rebuild lists them all)",
            len(report.strays) - STRAYS_LOGGED,
        )
    return report
