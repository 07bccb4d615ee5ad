"""Yank, unyank and delete: the management operations, for admins (HTTP and CLI)."""

from __future__ import annotations

import contextlib

from packaging.utils import canonicalize_name

from ..errors import InvalidRequest, NotFound
from ..models import FileRecord
from .context import Services
from .project_json import find_version
from .upload import storage_meta


def _project_files(services: Services, project: str) -> list[FileRecord]:
    files = services.cache.list_files(canonicalize_name(project))
    if not files:
        raise NotFound(f"Project {project!r} not found")
    return files


def select_files(
    services: Services, project: str, version: str | None = None, filename: str | None = None
) -> list[FileRecord]:
    """The files of a release, or one file.

    :raises NotFound: no such project, release or file.
    :raises InvalidRequest: neither a version nor a filename was given.
    """
    files = _project_files(services, project)
    if filename:
        chosen = [record for record in files if record.filename == filename]
        if not chosen:
            raise NotFound(f"File {filename!r} not found in project {project!r}")
        return chosen
    if version:
        found = find_version(sorted({record.version for record in files}), version)
        return [record for record in files if record.version == found]
    raise InvalidRequest("Name a version or a filename")


def set_yanked(
    services: Services,
    project: str,
    *,
    yanked: bool,
    version: str | None = None,
    filename: str | None = None,
    reason: str = "",
) -> list[FileRecord]:
    """Yank (PEP 592) or unyank a release or one file; returns the changed records."""
    if len(reason) > 1000:
        raise InvalidRequest("The yank reason is too long (1000 characters at most)")
    changed = [
        record.with_changes(yanked=yanked, yanked_reason=reason if yanked else "")
        for record in select_files(services, project, version, filename)
    ]
    services.cache.update_files(changed)
    for record in changed:  # keep the copy on the stored object current, for rebuilds
        with contextlib.suppress(NotFound):
            services.storage.set_meta(record.key, storage_meta(record))
    return changed


def delete_file(services: Services, project: str, filename: str) -> FileRecord:
    """Delete one file: its bytes and metadata file first, then its record.

    In that order a failure half-way leaves a record whose retry completes the delete, never a
    stray file that a rebuild from storage would bring back.
    """
    (record,) = select_files(services, project, filename=filename)
    services.storage.delete(record.key)
    services.storage.delete(record.metadata_key)
    services.cache.remove_file(record.project, record.filename)
    return record
