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
from collections.abc import Iterable, Sequence
from typing import ClassVar

from packaging.utils import NormalizedName

from ..config import Config, Setting
from ..models import FileRecord, ProjectSummary
from .claims import Claim


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
    def add_file(self, record: FileRecord, claims: Sequence[Claim] = ()) -> None:
        """Record a new file, atomically, bumping the project's and the index's serial.

        ``claims`` are taken in the same transaction, create-only: a claim already held by the
        same owner is kept as it is; one held by another owner refuses the whole add.

        :raises AlreadyExists: a record with this project and filename exists.
        :raises Claimed: a claim is held by another owner; nothing was recorded.
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
    def remove_file(
        self,
        project: NormalizedName,
        filename: str,
        release: Sequence[Claim] = (),
        mark: Sequence[Claim] = (),
    ) -> None:
        """Delete a record, bumping serials; a project with no files left disappears.

        In the same transaction, each claim in ``release`` still held by its owner is dropped,
        and each in ``mark`` is written whoever holds it (a tombstone).

        :raises NotFound: no such record; no claim changed.
        """

    # -- claims (registry.cache.claims) -----------------------------------------------------

    @abstractmethod
    def get_claims(self, keys: Iterable[str]) -> dict[str, str]:
        """The owner of each of ``keys`` that is held (absent keys are left out)."""

    @abstractmethod
    def set_claims(self, put: Sequence[Claim] = (), drop: Sequence[str] = ()) -> None:
        """Outside any file change: take each ``put`` claim that nobody holds (a held one is
        kept, whoever holds it) and drop each ``drop`` key, whoever holds it.

        For filling the claims of records written before claims existed, restoring tombstones
        from Storage, and the admin command that lifts one; each claim is its own create-only
        write, the whole is not one transaction.
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
