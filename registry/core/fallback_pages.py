"""A fallback project page built cheaply from a kept upstream page, however big it is.

A kept page (``registry.upstream.kept``) already has its files sorted the way pages list them
and their versions read, so the page's ``Listing`` is one pass over its rows: each row becomes
a ``Link`` straight away (no ``UpstreamFile``, no filename parsing, no sorting), and stored
files take the place of the upstream's under the same filename. Only when a stored file is not
on the upstream's page (a project that also has uploads here) are the links sorted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from packaging.utils import NormalizedName
from packaging.version import Version

from ..models import FileRecord, file_url_path, parse_time
from ..upstream import redact
from ..upstream.kept import KeptPage, Row
from .cooldown import Cooldown
from .listing import Link, Listing, Repository


def row_link(project: NormalizedName, row: Row, mode: str, upstream: str = "") -> Link | None:
    """The link to an upstream file (of the upstream named ``upstream``): here in cache mode
    (if verifiable), upstream otherwise."""
    filename, url, sha256, requires, yanked, reason, has_metadata, metadata_sha256, size, when, version = row
    if not version or (mode == "cache" and not sha256):
        return None  # not a distribution of this project, or not cacheable without a hash
    return Link(
        filename=filename,
        version=version,
        url=file_url_path(project, sha256, filename) if mode == "cache" else redact(url),
        sha256=sha256,
        requires_python=requires,
        has_metadata=has_metadata,
        metadata_sha256=metadata_sha256,
        yanked=yanked,
        yanked_reason=reason,
        size=size or None,
        uploaded=when,
        upstream=upstream,
    )


def upload_times(kept: KeptPage) -> Iterator[datetime | None]:
    """The upload times of the page's distributions (what the cooldown's page state needs)."""
    return (parse_time(row[9]) if row[9] else None for row in kept.rows if row[10])


def _record_link(record: FileRecord, row: Row | None) -> Link:
    """A stored file's link; an upstream copy shows the upstream's current yanked state."""
    link = Link.of(record)
    if row is not None and record.origin and row[2] == record.sha256:
        link = link._replace(yanked=row[4], yanked_reason=row[5])
    return link


def _upstream_links(
    project: NormalizedName, kept: KeptPage, mode: str, cooldown: Cooldown, upstream: str
) -> Iterator[tuple[Row, Link]]:
    """The links of the page's files that may be listed (the cooldown asked only if it applies)."""
    holds = cooldown.applies(project)
    for row in kept.rows:
        link = row_link(project, row, mode, upstream)
        if link is None:
            continue
        if holds and cooldown.hold(project, link.filename, Version(link.version), link.upload_time):
            continue  # held back by the release cooldown
        yield row, link


def kept_listing(
    project: NormalizedName,
    kept: KeptPage,
    records: Iterable[FileRecord],
    page_url: str,
    mode: str,
    cooldown: Cooldown,
    upstream: str = "",
) -> Listing:
    """Stored files first (they win on a filename), then the upstream's (named ``upstream``),
    as one page."""
    stored = {record.filename: record for record in records}
    rows = {row[0]: row for row in kept.rows if row[10]}
    links = [
        _record_link(stored[row[0]], row) if row[0] in stored else link
        for row, link in _upstream_links(project, kept, mode, cooldown, upstream)
    ]
    mirrored = all(record.origin for record in stored.values())
    repository = Repository(tracks=(page_url,)) if mirrored else Repository(alternate_locations=(page_url,))
    display_name = kept.name or next((r.display_name for r in stored.values()), project)
    listed = {link.filename for link in links}
    missing = [_record_link(record, rows.get(name)) for name, record in stored.items() if name not in listed]
    if missing:  # stored files the upstream does not list (or holds back): sort them in
        return Listing.build(project, display_name, links + missing, repository, stored.values())
    return Listing(project, display_name, tuple(links), repository, tuple(stored.values()))
