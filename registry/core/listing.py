"""What the read queries return: data for the web layer to render, never HTML or JSON.

A ``Versioned`` value carries a key (what it shows) and a version (changes when the data
does) and loads its data only when asked: the web layer keeps rendered pages per key and
version, so an unchanged page costs the one cheap read that gives its version.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, NamedTuple, Protocol, TypeVar

from packaging.utils import NormalizedName

from ..models import FileRecord, format_time, parse_time, version_sort_key
from ..storage import StoredObject

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """Data that is the same for one ``key`` while ``version`` stays; ``public``: every caller
    may read it (so a CDN may share the answer)."""

    key: Hashable
    version: Hashable
    load: Callable[[], T]
    public: bool


@dataclass(frozen=True)
class Redirect:
    """An answer that sends the client elsewhere (302), e.g. to the upstream index."""

    location: str


@dataclass(frozen=True)
class Proxied:
    """A body coming from upstream, sent as it arrives."""

    body: Iterable[bytes]
    size: int | None
    etag: str
    mimetype: str = "application/octet-stream"
    public: bool = False


@dataclass(frozen=True)
class StoredFile:
    """A stored package or metadata file, open for reading (the web layer closes it)."""

    stored: StoredObject
    etag: str
    mimetype: str
    public: bool


class Link(NamedTuple):
    """One file as a project page lists it. ``url`` is a site path (``/packages/...``) for files
    served here, or an absolute upstream URL. Unknown ``size``/``uploaded`` are left out.
    ``uploaded``: the upload time as PEP 700 writes it (``format_time``'s form).
    ``upstream``: the name of the upstream the file comes from ("" for uploads).

    A tuple, and the time kept as text, because a big upstream page makes tens of thousands of
    links per rendering: a frozen dataclass costs twice as much to build (2.2 against 1.0 us),
    and only the JSON page shows the time (as that text)."""

    filename: str
    version: str
    url: str
    sha256: str = ""
    requires_python: str = ""
    has_metadata: bool = False
    metadata_sha256: str = ""
    yanked: bool = False
    yanked_reason: str = ""
    size: int | None = None
    uploaded: str = ""
    upstream: str = ""

    @property
    def upload_time(self) -> datetime | None:
        return parse_time(self.uploaded) if self.uploaded else None

    @classmethod
    def of(cls, record: FileRecord) -> Link:
        """The link to a file stored here."""
        return cls(
            filename=record.filename,
            version=record.version,
            url=record.url_path,
            sha256=record.sha256,
            requires_python=record.requires_python,
            has_metadata=bool(record.metadata_sha256),
            metadata_sha256=record.metadata_sha256,
            yanked=record.yanked,
            yanked_reason=record.yanked_reason,
            size=record.size,
            uploaded=format_time(record.upload_time),
            upstream=record.upstream,
        )


@dataclass(frozen=True)
class Repository:
    """PEP 708 data about where else this project lives (absolute URLs, no credentials)."""

    tracks: tuple[str, ...] = ()
    alternate_locations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listing:
    """A project page's content: its files in version order and where else it lives.
    ``records``: the stored records read to build it (the web UI shows their metadata)."""

    project: NormalizedName
    display_name: str
    links: tuple[Link, ...]
    repository: Repository = Repository()
    records: tuple[FileRecord, ...] = ()

    @classmethod
    def build(
        cls,
        project: NormalizedName,
        display_name: str,
        links: Iterable[Link],
        repository: Repository = Repository(),
        records: Iterable[FileRecord] = (),
    ) -> Listing:
        return cls(project, display_name, tuple(sorted_files(links)), repository, tuple(records))

    @classmethod
    def of_records(cls, project: NormalizedName, records: list[FileRecord]) -> Listing:
        """The page of files stored here."""
        display_name = sorted_files(records)[0].display_name if records else project
        return cls.build(project, display_name, map(Link.of, records), records=records)


class _Versioned(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def filename(self) -> str: ...


Sortable = TypeVar("Sortable", bound=_Versioned)


def sorted_files(files: Iterable[Sortable]) -> list[Sortable]:
    """Files in PEP 440 version order, then by filename."""
    return sorted(files, key=lambda item: (version_sort_key(item.version), item.filename))
