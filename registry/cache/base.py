"""The Cache interface: the metadata store behind every index page.

It holds one ``FileRecord`` per stored file. Every change bumps a serial: the project's (so a
page can be re-rendered only when it changed) and the index's (for ``/simple/``). Adding a file
is create-only and atomic: of two concurrent adds of one filename exactly one wins, the other
gets ``AlreadyExists``.

A backend implements the abstract methods; the others have slow but correct defaults it may
override. The access data kept in the database is a separate interface
(``registry.cache.documents.DocumentStore``); the built-in backends implement both in one class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar

from packaging.utils import NormalizedName

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
    def get_file(self, project: NormalizedName, filename: str) -> FileRecord | None:
        """The record of one file, or None."""

    @abstractmethod
    def list_files(self, project: NormalizedName) -> list[FileRecord]:
        """Every file of a project (canonical name), in no particular order."""

    @abstractmethod
    def update_files(self, records: Iterable[FileRecord]) -> None:
        """Replace existing records (yank state, ...) in one transaction, bumping serials.

        :raises NotFound: one of them does not exist; nothing was changed.
        """

    @abstractmethod
    def remove_file(self, project: NormalizedName, filename: str) -> None:
        """Delete a record, bumping serials; a project with no files left disappears.

        :raises NotFound: no such record.
        """

    @abstractmethod
    def list_projects(self) -> list[ProjectSummary]:
        """Every project with at least one file."""

    @abstractmethod
    def project_serial(self, project: NormalizedName) -> int | None:
        """A number that changes whenever the project's files change; None if it has none.

        Called on every page view, so it must be cheap.
        """

    @abstractmethod
    def index_serial(self) -> int:
        """A number that changes whenever any project is added, changed or removed."""

    def is_empty(self) -> bool:
        """Whether no file is recorded at all. May override."""
        return not self.list_projects()

    # -- operations ----------------------------------------------------------------------

    def check_health(self) -> None:
        """Raise ``BackendUnavailable`` if the backend cannot be used. May override."""
        self.index_serial()

    def close(self) -> None:  # noqa: B027 - a no-op default is right for stateless clients
        """Release connections. May override."""
