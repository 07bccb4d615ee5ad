"""A kept project page in compact form: parsed once, stored once, shared by every worker.

An upstream page is reduced to rows of plain strings (one tuple per file), sorted the way
pages list files, each with the version the registry reads from its filename ("" when the
file is not a distribution of this project). That form is what is written to the Storage
(gzipped JSON, see ``store``) and what each worker keeps in memory: reading it back is one
``json.loads``, with no URL resolution, filename parsing or sorting left to do, and
``UpstreamFile`` objects are built only for the few files a request looks at.

``version`` is a digest of the rows: equal pages have equal versions in every worker and
instance, so rendered pages can be kept per version.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import overload

from .. import jsonbytes
from ..errors import UpstreamError
from ..models import format_time, parse_time, version_sort_key
from .pages import (
    EMPTY,
    UpstreamFile,
    UpstreamProject,
    hashes_of,
    joiner,
    json_entry,
    load_json_page,
    parse_page,
    project_of,
)

# filename, url, sha256, requires_python, yanked, yanked_reason, has_metadata,
# metadata_sha256, size (0: unknown), upload_time (ISO text or ""), version ("": not ours)
Row = tuple[str, str, str, str, bool, str, bool, str, int, str, str]
FORMAT = 1
VersionOf = Callable[[str, str], str | None]  # (project, filename) -> version, or None


def _hex64(value: str) -> str:
    return value if len(value) == 64 and not value.strip("0123456789abcdef") else ""


def _row(file: UpstreamFile, version: str) -> Row:
    """A file's row; a metadata hash that is not a sha256 is dropped (it is written into pages)."""
    when = format_time(file.upload_time) if file.upload_time is not None else ""
    return (
        file.filename, file.url, file.sha256, file.requires_python, file.yanked, file.yanked_reason,
        file.has_metadata, _hex64(file.metadata_sha256), file.size or 0, when, version,
    )  # fmt: skip


def _file(row: Row) -> UpstreamFile:
    filename, url, sha256, requires, yanked, reason, has_metadata, metadata_sha256, size, when, _ = row
    return UpstreamFile(
        filename=filename,
        url=url,
        hashes=MappingProxyType({"sha256": sha256}) if sha256 else EMPTY,
        requires_python=requires,
        yanked=yanked,
        yanked_reason=reason,
        has_metadata=has_metadata,
        metadata_hashes=MappingProxyType({"sha256": metadata_sha256}) if metadata_sha256 else EMPTY,
        size=size or None,
        upload_time=parse_time(when) if when else None,
    )


class Files(Sequence[UpstreamFile]):
    """The rows seen as ``UpstreamFile`` objects, built on access (not kept)."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self._rows = rows

    @property
    def rows(self) -> Sequence[Row]:
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> UpstreamFile: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[UpstreamFile]: ...
    def __getitem__(self, index: int | slice) -> UpstreamFile | Sequence[UpstreamFile]:
        if isinstance(index, slice):
            return [_file(row) for row in self._rows[index]]
        return _file(self._rows[index])

    def __iter__(self) -> Iterator[UpstreamFile]:
        return (_file(row) for row in self._rows)


@dataclass(frozen=True)
class KeptPage:
    """One project page as kept: rows plus what a conditional refresh needs."""

    name: str
    url: str
    api_version: str
    rows: tuple[Row, ...]
    version: str
    etag: str = ""
    last_modified: str = ""
    checked: float = 0.0  # when the upstream last confirmed this page (epoch seconds)
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        """An estimate of the memory it takes (strings and tuples)."""
        return 400 + sum(200 + len(r[0]) + len(r[1]) + len(r[3]) + len(r[5]) + 190 for r in self.rows)

    def project(self) -> UpstreamProject:
        return UpstreamProject(
            name=self.name,
            url=self.url,
            files=Files(self.rows),
            serial=int(self.version[:12], 16),
            api_version=self.api_version,
        )

    def find(self, filename: str) -> UpstreamFile | None:
        """The file listed under ``filename`` (a distribution of this project), or None."""
        if not self._index and self.rows:
            self._index.update((row[0], number) for number, row in enumerate(self.rows) if row[10])
        number = self._index.get(filename)
        return None if number is None else _file(self.rows[number])

    def confirmed(self, when: float, etag: str = "", last_modified: str = "") -> KeptPage:
        """The same page, confirmed by the upstream at ``when`` (a 304)."""
        return replace(
            self, checked=when, etag=etag or self.etag, last_modified=last_modified or self.last_modified
        )


def compact(
    page: UpstreamProject, project: str, version_of: VersionOf, *, etag: str, last_modified: str, when: float
) -> KeptPage:
    """The kept form of a freshly parsed page: rows sorted as pages list them."""
    kept, _body = compacted(page, project, version_of, etag=etag, last_modified=last_modified, when=when)
    return kept


def compacted(
    page: UpstreamProject, project: str, version_of: VersionOf, *, etag: str, last_modified: str, when: float
) -> tuple[KeptPage, bytes]:
    """``compact``'s page and its encoded rows (``encode`` takes them instead of encoding again)."""
    if isinstance(page.files, Files):  # read straight into rows (``read_page``): add the versions
        rows = [(*row[:10], version_of(project, row[0]) or "") for row in page.files.rows]
    else:
        rows = [_row(file, version_of(project, file.filename) or "") for file in page.files]
    # Each version is parsed and compared once, not once per file: the distinct versions, in
    # the page's order (mostly sorted already, which the sort takes advantage of), are ranked,
    # then files sort by rank and filename; files of no version (not this project's) go last.
    versions = sorted(dict.fromkeys(row[10] for row in rows if row[10]), key=version_sort_key)
    rank = {version: number for number, version in enumerate(versions)}
    rank[""] = len(versions)
    rows.sort(key=lambda row: (rank[row[10]], row[0]))
    body = _encode_rows(page.name, page.url, page.api_version, rows)
    version = hashlib.blake2b(body, digest_size=16).hexdigest()
    kept = KeptPage(page.name, page.url, page.api_version, tuple(rows), version, etag, last_modified, when)
    return kept, body


def _encode_rows(name: str, url: str, api_version: str, rows: Sequence[Row]) -> bytes:
    document = {"format": FORMAT, "name": name, "url": url, "api_version": api_version, "rows": rows}
    return jsonbytes.dumps(document)


def encode(page: KeptPage, rows: bytes | None = None) -> bytes:
    """The gzipped form written to the Storage (without the refresh fields, kept beside it);
    ``rows``: what ``compacted`` returned with the page, if at hand."""
    if rows is None:
        rows = _encode_rows(page.name, page.url, page.api_version, page.rows)
    return gzip.compress(rows, compresslevel=1)


def decode(data: bytes, version: str) -> KeptPage:
    """Read ``encode``'s output back. :raises UpstreamError: unreadable or another format."""
    try:
        document = json.loads(gzip.decompress(data))
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}")
        rows: tuple[Row, ...] = tuple(map(tuple, document["rows"]))
        return KeptPage(
            str(document["name"]), str(document["url"]), str(document["api_version"]), rows, version
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UpstreamError(f"A kept upstream page is unreadable ({exc})") from exc


# The form ``format_time`` writes (PEP 700's, and the public index's): such a text, once it
# parses, is kept as it is instead of being formatted again.
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _time_text(value: object) -> str:
    """An upload time as the rows keep it (``format_time``'s form), or "" if unusable."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        if _CANONICAL_TIME.fullmatch(value):
            datetime.fromisoformat(value)  # a valid moment: 2024-02-30 matches, and is not
            return value
        return format_time(parse_time(value))
    except ValueError:
        return ""


def _hash_row_value(value: object) -> str:
    """The sha256 in a PEP 691 ``hashes`` object (or a ``core-metadata`` value), if well formed."""
    return _hex64(hashes_of(value).get("sha256", "").lower())


def _json_row(entry: object, join: Callable[[str], str | None]) -> Row | None:
    """One entry of a PEP 691 page's ``files`` as a row without its version, or None if unusable:
    what ``_row`` makes of ``pages.parse_json``'s file, without the objects in between."""
    found = json_entry(entry, join)
    if found is None:
        return None
    return (
        found.filename, found.url, _hash_row_value(found.hashes), found.requires_python,
        found.yanked, found.yanked_reason, bool(found.metadata), _hash_row_value(found.metadata),
        found.size or 0, _time_text(found.upload_time), "",
    )  # fmt: skip


def read_json_page(body: bytes, page_url: str) -> UpstreamProject:
    """A PEP 691 page read straight into rows (``compacted`` then adds the versions): the same
    page ``pages.parse_json`` reads, in the form the registry keeps, at a fraction of the cost.

    :raises UpstreamError: not JSON, or not shaped like a project page.
    """
    document = load_json_page(body)
    join = joiner(page_url)
    rows = [row for entry in document["files"] if (row := _json_row(entry, join)) is not None]
    return project_of(document, page_url, Files(rows))


def read_page(body: bytes, content_type: str, page_url: str) -> UpstreamProject:
    """``pages.parse_page``, with JSON pages read straight into rows."""
    if "json" in content_type.partition(";")[0].lower():
        return read_json_page(body, page_url)
    return parse_page(body, content_type, page_url)
