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
import hashlib
import io
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import AlreadyExists, InvalidUpload, NotFound, TooLarge
from ..models import FileRecord
from .context import Services
from .distribution import inspect_distribution, parse_filename
from .upload import hash_stream, storage_meta

log = logging.getLogger("registry")
METADATA_SUFFIX = ".metadata"
_SPOOL = 16 * 1024 * 1024
STRAYS_LOGGED = 20

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
    record = FileRecord(
        project=parsed.project,
        version=str(parsed.version),
        filename=parsed.filename,
        packagetype=parsed.packagetype,
        size=digests.size,
        sha256=digests.sha256,
        md5=digests.md5,
        blake2b_256=digests.blake2b_256,
        requires_python=metadata.requires_python,
        metadata_sha256=hashlib.sha256(metadata.raw).hexdigest() if is_wheel else "",
        python_version=parsed.python_version,
        info=metadata.info,
    )
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


def _sync_record(
    services: Services, record: FileRecord, known: FileRecord | None, report: RebuildReport
) -> None:
    """Make the Cache hold ``record``: add it, or replace a different one."""
    if known == record:
        report.unchanged += 1
        return
    if known is None:
        try:
            services.cache.add_file(record)
            report.added.append(record.key)
            return
        except AlreadyExists:  # an upload recorded it meanwhile
            known = services.cache.get_file(record.project, record.filename)
            if known == record or known is None:
                report.unchanged += 1
                return
    services.cache.update_files([record])
    report.updated.append(record.key)


def _read_record(services: Services, key: str, report: RebuildReport) -> FileRecord | None:
    """The record of a distribution object, from its meta or else its bytes; None for a stray."""
    record = record_from_meta(services, key)
    if record is not None:
        return record
    try:
        record = record_from_bytes(services, key)
    except (InvalidUpload, TooLarge) as exc:
        report.strays[key] = exc.message
        return None
    report.indexed_from_bytes.append(key)
    return record


def rebuild(
    services: Services, keys: Iterable[str] | None = None, step: Step = _no_progress
) -> RebuildReport:
    """Bring the Cache in line with Storage; ``step(n)`` reports n more keys handled.

    ``keys`` is the Storage listing when the caller already has it (to size a progress bar).
    """
    report = RebuildReport()
    cached = cached_records(services)
    all_keys = set(services.storage.list_keys() if keys is None else keys)
    found: list[FileRecord] = []
    for key in sorted(all_keys):
        record = None
        try:
            if not is_companion(key, all_keys):
                record = _read_record(services, key, report)
        finally:
            if record is None:
                step(1)
        if record is not None:
            found.append(record)
    # In upload order, so a project's display name comes from its first file, as it did.
    for record in sorted(found, key=lambda item: item.upload_time):
        try:
            _sync_record(services, record, cached.get(record.key), report)
        finally:
            step(1)
    indexed = {record.key for record in found}
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
