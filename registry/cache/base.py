"""The Cache interface: the metadata store behind every index page.

It holds one ``FileRecord`` per stored file and, as small JSON documents, the access data kept
in the database (users, groups, project permissions, API tokens). Every change
bumps a serial: the project's (so a page can be re-rendered only when it changed) and the
index's (for ``/simple/``). Adding a file is create-only and atomic: of two concurrent adds of
one filename exactly one wins, the other gets ``AlreadyExists``.

A backend implements the abstract methods; the others have slow but correct defaults it may
override.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from ..config import Config, Setting
from ..models import FileRecord, ProjectSummary


class Cache(ABC):
    """Metadata store. Subclasses register in ``registry.cache.BACKENDS``."""

    #: Settings this backend reads (``db.*``), for validation and the docs.
    settings: ClassVar[tuple[Setting, ...]] = ()

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config) -> Cache:
        """Build from settings, validating them; must not connect to anything.

        :raises ConfigError: a setting is missing or invalid.
        """

    # -- files --------------------------------------------------------------------------

    @abstractmethod
    def add_file(self, record: FileRecord) -> None:
        """Record a new file, atomically, bumping the project's and the index's serial.

        :raises AlreadyExists: a record with this project and filename exists.
        :raises BackendUnavailable: the backend failed; nothing was recorded.
        """

    @abstractmethod
    def get_file(self, project: str, filename: str) -> FileRecord | None:
        """The record of one file, or None."""

    @abstractmethod
    def list_files(self, project: str) -> list[FileRecord]:
        """Every file of a project (canonical name), in no particular order."""

    @abstractmethod
    def update_files(self, records: Iterable[FileRecord]) -> None:
        """Replace existing records (yank state, ...) in one transaction, bumping serials.

        :raises NotFound: one of them does not exist; nothing was changed.
        """

    @abstractmethod
    def remove_file(self, project: str, filename: str) -> None:
        """Delete a record, bumping serials; a project with no files left disappears.

        :raises NotFound: no such record.
        """

    @abstractmethod
    def list_projects(self) -> list[ProjectSummary]:
        """Every project with at least one file."""

    @abstractmethod
    def project_serial(self, project: str) -> int | None:
        """A number that changes whenever the project's files change; None if it has none.

        Called on every page view, so it must be cheap.
        """

    @abstractmethod
    def index_serial(self) -> int:
        """A number that changes whenever any project is added, changed or removed."""

    def is_empty(self) -> bool:
        """Whether no file is recorded at all. May override."""
        return not self.list_projects()

    # -- access documents -----------------------------------------------------------------

    @abstractmethod
    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every document of ``kind`` (``user``, ``group``, ``perm``, ``token``): key -> data.

        Read whenever ``docs_serial`` moves, so it may be slow.
        """

    @abstractmethod
    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        """Create or replace a JSON-safe document, bumping ``docs_serial`` in the same write.

        :raises AlreadyExists: ``create_only`` and a document of that kind and key exists.
        """

    @abstractmethod
    def delete_doc(self, kind: str, key: str) -> bool:
        """Delete a document, bumping ``docs_serial``; whether it existed."""

    @abstractmethod
    def docs_serial(self) -> int:
        """A number that changes whenever any document changes.

        Checked at most every ``auth.refresh_seconds`` per process, so it must be cheap.
        """

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        """One document, or None. May override: the default lists the kind."""
        return self.list_docs(kind).get(key)

    # -- operations ----------------------------------------------------------------------

    def check_health(self) -> None:
        """Raise ``BackendUnavailable`` if the backend cannot be used. May override."""
        self.index_serial()

    def close(self) -> None:  # noqa: B027 - a no-op default is right for stateless clients
        """Release connections. May override."""
