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

import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import InvalidUpload, NotFound, TooLarge
from ..models import METADATA_SUFFIX, FileRecord
from .distribution import inspect_distribution, parse_filename
from .stores import Stores
from .upload_state import TOMBSTONES, fill_from
from .uploads import hash_stream, new_record, wheel_metadata

log = logging.getLogger("registry")
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


def record_from_meta(stores: Stores, key: str) -> FileRecord | None:
    """The record kept on the object, or None when it has none or it does not fit the key."""
    try:
        text = stores.storage.get_meta(key).get("record")
    except NotFound:
        return None
    if not text:
        return None
    try:
        record = FileRecord.from_dict(json.loads(text))
    except (ValueError, TypeError, KeyError):
        return None
    return record if record.key == key else None


def record_from_bytes(stores: Stores, key: str) -> FileRecord:
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
    with tempfile.SpooledTemporaryFile(_SPOOL) as local:
        stored = stores.storage.open(key)
        with stored.stream:
            shutil.copyfileobj(stored.stream, local, 1024 * 1024)
        local.seek(0)
        content: BinaryIO = local  # type: ignore[assignment]
        digests = hash_stream(content, stores.limits.max_file_size)
        metadata = inspect_distribution(content, parsed, digests.size, stores.limits.max_unpacked_size)
    record = new_record(parsed, digests, metadata)
    stores.pipeline.describe(record, wheel_metadata(parsed, metadata))
    return record


def cached_records(stores: Stores) -> dict[str, FileRecord]:
    """Every record in the Cache, by storage key."""
    return {
        record.key: record
        for project in stores.cache.list_projects()
        for record in stores.cache.list_files(project.name)
    }


@dataclass(frozen=True)
class _Found:
    """What one object turned out to be: a record (from its meta or its bytes) or a stray."""

    key: str
    record: FileRecord | None
    from_bytes: bool = False
    stray: str = ""


def _read_record(stores: Stores, key: str) -> _Found:
    record = record_from_meta(stores, key)
    if record is not None:
        return _Found(key, record)
    try:
        return _Found(key, record_from_bytes(stores, key), from_bytes=True)
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
    stores: Stores, keys: Iterable[str] | None = None, step: Step = _no_progress, threads: int = THREADS
) -> RebuildReport:
    """Bring the Cache in line with Storage; ``step(n)`` reports n more keys handled.

    ``keys`` is the Storage listing when the caller already has it (to size a progress bar).
    Objects are read, and projects synced, ``threads`` at a time: each is a network round trip.
    """
    report = RebuildReport()
    cached = cached_records(stores)
    all_keys = set(stores.storage.list_keys() if keys is None else keys)
    wanted = sorted(
        key for key in all_keys if not is_companion(key, all_keys) and not key.startswith(TOMBSTONES)
    )
    step(len(all_keys) - len(wanted))
    with ThreadPoolExecutor(threads) as pool:
        projects = _read_all(stores, wanted, pool, report, step)

        def sync(record: FileRecord) -> tuple[str, str]:
            return stores.pipeline.put_record(record, cached.get(record.key)), record.key

        for batch in first_files_first(projects.values()):
            for outcome, key in pool.map(sync, batch):
                if outcome == "unchanged":
                    report.unchanged += 1
                else:
                    getattr(report, outcome).append(key)
                step(1)
    indexed = {record.key for records in projects.values() for record in records}
    _remove_gone(stores, cached, indexed, report)
    # The upload rules' claims: an index written before them gets them, tombstones come back.
    fill_from(stores.cache, stores.storage, [r for records in projects.values() for r in records], all_keys)
    return report


def _read_all(
    stores: Stores, keys: list[str], pool: ThreadPoolExecutor, report: RebuildReport, step: Step
) -> dict[str, list[FileRecord]]:
    """The records of ``keys`` by project; strays go into ``report``."""
    projects: dict[str, list[FileRecord]] = {}
    for found in pool.map(lambda key: _read_record(stores, key), keys):
        if found.record is None:
            report.strays[found.key] = found.stray
            step(1)
            continue
        if found.from_bytes:
            report.indexed_from_bytes.append(found.key)
        projects.setdefault(found.record.project, []).append(found.record)
    return projects


def _remove_gone(
    stores: Stores, cached: dict[str, FileRecord], indexed: set[str], report: RebuildReport
) -> None:
    """Remove records whose file is gone (checked again: an upload may be under way)."""
    for key, record in sorted(cached.items()):
        if key in indexed or stores.storage.exists(key):
            continue
        try:
            stores.cache.remove_file(record.project, record.filename)
            report.removed.append(key)
        except NotFound:
            pass


def rebuild_if_empty(stores: Stores) -> RebuildReport | None:
    """On first use with an empty Cache, fill it from Storage. Costs one cheap check otherwise."""
    if not stores.cache.is_empty():
        return None
    keys = list(stores.storage.list_keys())
    if not keys:
        return None
    log.warning("The metadata store is empty but storage holds %d objects: rebuilding it", len(keys))
    report = rebuild(stores, keys)
    log.warning("Rebuilt the metadata store: %s", report.summary())
    for key, reason in sorted(report.strays.items())[:STRAYS_LOGGED]:
        log.warning("Stray object %s not indexed: %s", key, reason)
    if len(report.strays) > STRAYS_LOGGED:
        log.warning(
            "... and %d more stray objects (python -m registry rebuild lists them all)",
            len(report.strays) - STRAYS_LOGGED,
        )
    return report
