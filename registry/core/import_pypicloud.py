"""Move a pypicloud deployment over: ``python -m registry import-pypicloud PYPICLOUD_INI``.

Every file is read from pypicloud's storage and goes through the FilePipeline as an upload
would: its record is rebuilt from its own bytes (name, version, core metadata, digests), its
sha256 and md5 are checked against what pypicloud recorded, and pypicloud's upload time,
uploader and summary are kept where it has them. Then the users, groups and project
permissions of pypicloud's config file become database entries here. The import never deletes.

Idempotent and resumable: a file whose record is already here with the same sha256 is skipped
without reading it, and a file stored by an interrupted run (bytes but no record) is
completed by the pipeline's acceptance of identical leftovers.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from ..errors import RegistryError
from ..models import FileRecord
from ..names import project_name
from .distribution import inspect_distribution, parse_filename
from .pypicloud_access import AccessOutcome, import_access
from .pypicloud_source import Bucket, Deployment, FileTree, SourceFile, merged, storage_source
from .stores import Stores
from .upload_state import fill
from .uploads import hash_stream, new_record, wheel_metadata

_LAST = datetime.max.replace(tzinfo=UTC)  # files without an upload time go last
_SPOOL = 16 * 1024 * 1024
THREADS = 4  # files read and written at once: each is mostly I/O
Step = Callable[[int], None]


def _no_progress(count: int) -> None:
    """The default progress callback: nothing to show."""


@dataclass
class ImportReport:
    """What an import did: files by outcome, projects touched, access data, skips and why."""

    imported: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    projects: set[str] = field(default_factory=set)
    access: AccessOutcome = field(default_factory=AccessOutcome)

    def summary(self) -> str:
        return (
            f"files: {len(self.imported)} imported, {len(self.present)} already there, "
            f"{len(self.skipped)} skipped; projects: {len(self.projects)}; {self.access.summary()}"
        )


@dataclass(frozen=True)
class ImportPlan:
    """The deployment's files (storage merged with its cache database), oldest first."""

    reader: FileTree | Bucket
    files: list[SourceFile]
    only_in_cache: list[str]  # cache rows whose file storage lacks


def plan(deployment: Deployment) -> ImportPlan:
    """List the deployment's files. :raises ConfigError: its storage or database is unreadable."""
    reader = storage_source(deployment.settings, deployment.here)
    rows = deployment.cache_rows()
    files = [merged(source, rows.get(source.filename)) for source in reader.files()]
    stored = {source.filename for source in files}
    files.sort(key=lambda source: (source.uploaded or _LAST, source.filename))
    return ImportPlan(reader, files, sorted(set(rows) - stored))


def _already_here(stores: Stores, source: SourceFile) -> FileRecord | None:
    """The record this registry has under the file's name, if any."""
    try:
        parsed = parse_filename(source.filename)
    except RegistryError:
        return None
    return stores.cache.get_file(parsed.project, parsed.filename)


def _check_names(source: SourceFile, project: str) -> None:
    """:raises ValueError: pypicloud filed the file under another project than its name says."""
    if project_name(source.name) != project:
        raise ValueError(f"pypicloud lists it under project {source.name!r}, its filename names {project!r}")


def _check_digests(source: SourceFile, sha256: str, md5: str) -> None:
    """:raises ValueError: the bytes are not those pypicloud recorded."""
    for name, actual in (("hash_sha256", sha256), ("hash_md5", md5)):
        expected = source.meta.get(name, "").lower()
        if expected and expected != actual:
            raise ValueError(f"its {name[5:]} is {actual}, pypicloud recorded {expected}")


def import_file(stores: Stores, reader: FileTree | Bucket, source: SourceFile) -> FileRecord:
    """Read, verify and store one file with its record.

    :raises RegistryError: not a valid distribution, too large, or another file of that name
        is here. :raises ValueError: its bytes or project differ from pypicloud's record.
    """
    parsed = parse_filename(source.filename)
    _check_names(source, parsed.project)
    with tempfile.SpooledTemporaryFile(_SPOOL) as local:
        with reader.open(source) as stream:
            shutil.copyfileobj(stream, local, 1024 * 1024)
        local.seek(0)
        content: BinaryIO = local  # type: ignore[assignment]
        digests = hash_stream(content, stores.limits.max_file_size)
        _check_digests(source, digests.sha256, digests.md5)
        metadata = inspect_distribution(content, parsed, digests.size, stores.limits.max_unpacked_size)
        record = new_record(parsed, digests, metadata, uploader=source.meta.get("uploader", ""))
        if source.uploaded is not None:
            record = record.with_changes(upload_time=source.uploaded)
        if source.meta.get("summary"):
            record = record.with_changes(info={**record.info, "summary": source.meta["summary"]})
        stored = stores.pipeline.add(record, content, wheel_metadata(parsed, metadata))
    # Claimed create-only, never refused: pypicloud may already hold two files that break a rule.
    fill(stores.cache, [stored])
    return stored


def _one(stores: Stores, reader: FileTree | Bucket, source: SourceFile) -> tuple[str, str, str]:
    """(outcome, project, reason): outcome is "imported", "present" or "skipped"."""
    known = _already_here(stores, source)
    expected = source.meta.get("hash_sha256", "").lower()
    if known is not None and expected and known.sha256 == expected:
        return "present", known.project, ""
    try:
        record = import_file(stores, reader, source)
    except RegistryError as exc:
        return "skipped", "", exc.message
    except (ValueError, OSError) as exc:
        return "skipped", "", str(exc)
    return ("present" if known is not None else "imported"), record.project, ""


def _batches(files: list[SourceFile]) -> Iterable[list[SourceFile]]:
    """Each project's oldest file first (its display name comes from it), then the rest."""
    seen: set[str] = set()
    firsts: list[SourceFile] = []
    others: list[SourceFile] = []
    for source in files:
        (others if source.name in seen else firsts).append(source)
        seen.add(source.name)
    return [firsts, others]


def import_files(
    stores: Stores, todo: ImportPlan, report: ImportReport, step: Step = _no_progress, threads: int = THREADS
) -> None:
    """Import the plan's files ``threads`` at a time; ``step(n)``: n more files handled."""
    for filename in todo.only_in_cache:
        report.skipped[filename] = "in pypicloud's cache database but not in its storage"
    with ThreadPoolExecutor(threads) as pool:
        for batch in _batches(todo.files):
            outcomes = pool.map(lambda source: _one(stores, todo.reader, source), batch)
            for source, (outcome, project, reason) in zip(batch, outcomes, strict=True):
                if outcome == "skipped":
                    report.skipped[source.filename] = reason
                else:
                    getattr(report, outcome).append(source.filename)
                    report.projects.add(project)
                step(1)


def import_deployment(
    deployment: Deployment, stores: Stores, todo: ImportPlan | None = None, step: Step = _no_progress
) -> ImportReport:
    """Import files, then users, groups and project permissions of ``deployment`` into ``stores``."""
    todo = todo or plan(deployment)
    report = ImportReport()
    import_files(stores, todo, report, step)
    report.access = import_access(deployment.settings, stores.documents)
    return report
