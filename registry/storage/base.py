"""The Storage interface: where package files live.

Keys are ``<canonical project>/<filename>``. Writes are create-only: a file, once stored, is
never overwritten (``put`` raises ``AlreadyExists``), which is what makes a file's URL stable.
Each object also carries a small string->string ``meta`` mapping (the file's record as JSON),
so the metadata Cache can be rebuilt from Storage alone.

Keys under ``STAGING_PREFIX`` are not package files: they hold large-file uploads that a client
sent straight to the backend and the registry has not checked yet (``create_upload_session``).
Keys under ``UPSTREAM_PREFIX`` hold the upstream index's project pages kept by the fallback
(``registry.upstream.store``). ``list_keys`` leaves both out unless asked for that prefix, so
rebuild, migrate and import never see them.

A backend implements the abstract methods; the others have slow but correct defaults it may
override.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from ..config import Config, Setting

#: Where direct (large-file) uploads wait to be checked; no project name starts with "_".
STAGING_PREFIX = "_staging/"
#: Where the upstream's project pages are kept (a cache of the upstream, not package files).
UPSTREAM_PREFIX = "_upstream/"
#: Prefixes ``list_keys`` leaves out unless the caller asks for one of them.
RESERVED_PREFIXES = (STAGING_PREFIX, UPSTREAM_PREFIX)


@dataclass(frozen=True)
class StoredObject:
    """An open stored file: a seekable binary stream and its size."""

    stream: BinaryIO
    size: int
    meta: Mapping[str, str]


class Storage(ABC):
    """Package file storage. Subclasses register in ``registry.storage.BACKENDS``."""

    #: Settings this backend reads (``storage.*``), for validation and the docs.
    settings: ClassVar[tuple[Setting, ...]] = ()
    #: Whether clients can send bytes straight to the backend (``create_upload_session``).
    direct_uploads: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config) -> Storage:
        """Build from settings, validating them; must not connect to anything.

        :raises ConfigError: a setting is missing or invalid (the message says how to fix it).
        """

    @abstractmethod
    def put(self, key: str, source: BinaryIO, meta: Mapping[str, str]) -> None:
        """Store ``source`` (read from its current position) under ``key``, create-only.

        Either the whole object appears or nothing does.

        :raises AlreadyExists: an object is already stored under ``key``.
        :raises BackendUnavailable: the backend failed.
        """

    @abstractmethod
    def open(self, key: str) -> StoredObject:
        """Open an object for reading; the caller closes ``stream``.

        :raises NotFound: no object under ``key``.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; removing a missing one is not an error."""

    @abstractmethod
    def get_meta(self, key: str) -> dict[str, str]:
        """The ``meta`` mapping stored with an object.

        :raises NotFound: no object under ``key``.
        """

    @abstractmethod
    def set_meta(self, key: str, meta: Mapping[str, str]) -> None:
        """Replace the ``meta`` mapping of an existing object (the bytes never change).

        :raises NotFound: no object under ``key``.
        """

    @abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, in no particular order; keys under
        ``RESERVED_PREFIXES`` only when ``prefix`` starts with one of them."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``. May override: the default opens it."""
        from ..errors import NotFound

        try:
            self.open(key).stream.close()
        except NotFound:
            return False
        return True

    def read_bytes(self, key: str) -> bytes:
        """The whole object (for small objects such as metadata files). May override."""
        stored = self.open(key)
        with stored.stream:
            return stored.stream.read()

    def download_url(self, key: str) -> str | None:
        """A URL the client may be redirected to instead of streaming, or None. May override."""
        return None

    def create_upload_session(self, key: str, size: int, meta: Mapping[str, str]) -> str:
        """Start a direct upload: a URL to which a client sends exactly ``size`` bytes (in
        resumable chunks) that then appear as the create-only object ``key`` with ``meta``.

        The URL is the client's only credential, bound to that one object; the registry never
        sees the bytes until it reads ``key``. May override: the default cannot.

        :raises NotSupported: this backend takes bytes only through the registry.
        :raises BackendUnavailable: the backend failed.
        """
        from ..errors import NotSupported

        raise NotSupported(f"{type(self).__name__} cannot take uploads sent straight to it")

    def check_health(self) -> None:
        """Raise ``BackendUnavailable`` if the backend cannot be used. May override."""
        next(iter(self.list_keys("\x00-health-check/")), None)
