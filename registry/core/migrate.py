"""Copy a whole registry between two configurations: ``python -m registry migrate SRC DST``.

Files first, then records, then the access data kept in the database (users, groups, project
permissions, API tokens), so the destination never lists a file it lacks. Each step skips what
the destination already has, which makes the copy idempotent and resumable: run it again after
an interruption and it continues where it stopped (a Storage write is whole-or-nothing, so no
half-copied file is ever taken for a finished one). It copies and never deletes: records or
files only the destination has are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..access.transfer import KINDS as ACCESS_KINDS
from ..errors import AlreadyExists, NotFound
from ..models import FileRecord
from .cooldown import RELEASE_KIND
from .lastuse import USAGE_KIND
from .pipeline import storage_meta
from .rebuild import THREADS, first_files_first
from .stores import Stores
from .upload_state import fill_from

Step = Callable[[int], None]

#: Every kind of document migrated: access data, cooldown releases, recorded uses.
DOCUMENT_KINDS = (*ACCESS_KINDS, RELEASE_KIND, USAGE_KIND)


def _no_progress(count: int) -> None:
    """The default progress callback: nothing to show."""


@dataclass
class MigrationPlan:
    """What the source holds: Storage keys, records by key, access documents by (kind, key).
    ``total`` sizes a progress bar."""

    keys: list[str]
    records: dict[str, FileRecord]
    access: dict[tuple[str, str], dict[str, Any]]

    @property
    def total(self) -> int:
        return len(self.keys) + len(self.records) + len(self.access)


@dataclass
class MigrationReport:
    files_copied: int = 0
    files_present: int = 0
    records_added: int = 0
    records_updated: int = 0
    records_present: int = 0
    access_copied: int = 0
    access_present: int = 0
    missing_files: list[str] = field(default_factory=list)  # records whose file the source lacks

    def summary(self) -> str:
        return (
            f"files: {self.files_copied} copied, {self.files_present} already there; "
            f"records: {self.records_added} added, {self.records_updated} updated, "
            f"{self.records_present} already there; "
            f"access data: {self.access_copied} copied, {self.access_present} already there"
        )


def plan(source: Stores) -> MigrationPlan:
    records = {
        record.key: record
        for project in source.cache.list_projects()
        for record in source.cache.list_files(project.name)
    }
    access = {
        (kind, key): data for kind in DOCUMENT_KINDS for key, data in source.documents.list_docs(kind).items()
    }
    return MigrationPlan(sorted(source.storage.list_keys()), records, access)


def copy_file(source: Stores, target: Stores, key: str, record: FileRecord | None) -> bool:
    """Copy one object unless the target has it; True if copied.

    The record, when there is one, is the freshest copy of the object's meta (a yank updates
    the Cache first).
    """
    if target.storage.exists(key):
        return False
    if record is not None:
        meta = storage_meta(record)
    else:
        try:
            meta = source.storage.get_meta(key)
        except NotFound:
            meta = {}
    stored = source.storage.open(key)
    with stored.stream:
        try:
            target.storage.put(key, stored.stream, meta)
        except AlreadyExists:
            return False
    return True


def copy_record(target: Stores, record: FileRecord) -> str:
    """Make the target hold ``record``; returns "added", "updated" or "present"."""
    outcome = target.pipeline.put_record(record, target.cache.get_file(record.project, record.filename))
    return "present" if outcome == "unchanged" else outcome


def copy_access(target: Stores, kind: str, key: str, data: dict[str, Any]) -> bool:
    """Make the target hold one access document; True if it had to be written."""
    if target.documents.get_doc(kind, key) == data:
        return False
    target.documents.put_doc(kind, key, data)
    return True


def migrate(
    source: Stores,
    target: Stores,
    todo: MigrationPlan | None = None,
    step: Step = _no_progress,
    threads: int = THREADS,
) -> MigrationReport:
    """Copy files, records and access data from ``source`` to ``target``; ``step(n)``: n more done.

    Files, then records, are copied ``threads`` at a time: each is a network round trip.
    """
    todo = todo or plan(source)
    report = MigrationReport()
    with ThreadPoolExecutor(threads) as pool:
        copied = pool.map(lambda key: copy_file(source, target, key, todo.records.get(key)), todo.keys)
        for was_copied in copied:
            if was_copied:
                report.files_copied += 1
            else:
                report.files_present += 1
            step(1)
        _copy_records(target, todo, pool, report, step)
    # The upload rules' claims, and the tombstones copied with the files (docs/uploads.md).
    fill_from(target.cache, target.storage, todo.records.values(), todo.keys)
    for (kind, key), data in todo.access.items():
        if copy_access(target, kind, key, data):
            report.access_copied += 1
        else:
            report.access_present += 1
        step(1)
    return report


def _copy_records(
    target: Stores, todo: MigrationPlan, pool: ThreadPoolExecutor, report: MigrationReport, step: Step
) -> None:
    """Copy the records whose file the target has, each project's first file first."""
    projects: dict[str, list[FileRecord]] = {}
    stored = set(todo.keys)
    for key, record in todo.records.items():
        if key in stored or target.storage.exists(key):
            projects.setdefault(record.project, []).append(record)
        else:
            report.missing_files.append(key)
            step(1)
    for batch in first_files_first(projects.values()):
        for outcome in pool.map(lambda record: copy_record(target, record), batch):
            if outcome == "added":
                report.records_added += 1
            elif outcome == "updated":
                report.records_updated += 1
            else:
                report.records_present += 1
            step(1)
