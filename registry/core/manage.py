"""Yank, unyank and delete: the management operations (HTTP for admins, and the CLI).

Each operation checks the caller first: yanking is for admins, deleting for admins and members
of ``pypi.allow_delete`` who may upload to the project, both with a password login. The command
line acts as ``COMMAND_LINE``, an admin (whoever runs it holds the backends' credentials).
"""

from __future__ import annotations

from collections.abc import Callable

from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from ..access import Identity, Permissions
from ..cache import Cache
from ..errors import InvalidRequest, NotFound
from ..models import FileRecord
from .pipeline import FilePipeline

#: Who the command line acts as.
COMMAND_LINE = Identity("(command line)", is_admin=True)
MAX_REASON = 1000


class Manager:
    """Changes to stored files, checked against the caller's permissions."""

    def __init__(self, cache: Cache, pipeline: FilePipeline, permissions: Permissions) -> None:
        self.cache = cache
        self.pipeline = pipeline
        self.permissions = permissions

    def select_files(
        self, project: NormalizedName, version: str | None = None, filename: str | None = None
    ) -> list[FileRecord]:
        """The files of a release, or one file.

        :raises NotFound: no such project, release or file.
        :raises InvalidRequest: neither a version nor a filename was given.
        """
        files = self.cache.list_files(project)
        if not files:
            raise NotFound(f"Project {project!r} not found")
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
        self,
        caller: Identity,
        project: NormalizedName,
        *,
        yanked: bool,
        version: str | None = None,
        filename: str | None = None,
        read_reason: Callable[[], str] = str,
    ) -> list[FileRecord]:
        """Yank (PEP 592) or unyank a release or one file; returns the changed records.
        ``read_reason`` gives the yank reason, once the caller is known to be allowed.

        :raises Unauthorized | Forbidden: the caller is not an admin with a password login.
        """
        self.permissions.require_admin(caller, "manage projects")
        reason = read_reason() if yanked else ""
        if len(reason) > MAX_REASON:
            raise InvalidRequest(f"The yank reason is too long ({MAX_REASON} characters at most)")
        changed = [
            record.with_changes(yanked=yanked, yanked_reason=reason if yanked else "")
            for record in self.select_files(project, version, filename)
        ]
        self.pipeline.update(changed)
        return changed

    def delete_file(self, caller: Identity, project: NormalizedName, filename: str) -> FileRecord:
        """Delete one file, its metadata file and its record.

        :raises NotFound: no such file (or the project is hidden from the caller).
        :raises Unauthorized | Forbidden: the caller may not delete files of this project.
        """
        self.permissions.require_read(caller, project, NotFound(f"Project {project!r} not found"))
        self.permissions.require_password(caller, "delete files")
        allowed = self.permissions.can_delete(caller, project)
        self.permissions.require(caller, allowed, f"delete files of {project!r}")
        (record,) = self.select_files(project, filename=filename)
        self.pipeline.delete(record)
        return record


def find_version(versions: list[str], wanted: str) -> str:
    """The stored version equal to ``wanted`` under PEP 440 (``1.0`` finds ``1.0.0``).

    :raises NotFound: none.
    """
    if wanted in versions:
        return wanted
    try:
        parsed = Version(wanted)
    except InvalidVersion:
        raise NotFound(f"Version {wanted!r} not found") from None
    for version in versions:
        try:
            if Version(version) == parsed:
                return version
        except InvalidVersion:
            continue
    raise NotFound(f"Version {wanted!r} not found")
