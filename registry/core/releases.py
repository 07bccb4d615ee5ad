"""What a project's records say about its releases: the latest version, the release list.

Shared by the catalog (one summary per project) and the project page, so both agree on which
version is "the latest": the highest non-yanked final release, else the highest non-yanked
pre-release, else the highest version (everything yanked).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from packaging.version import InvalidVersion, Version

from ..models import FileRecord, version_sort_key
from .listing import Link


def _is_final(version: str) -> bool:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return not (parsed.is_prerelease or parsed.is_devrelease)


def latest_version(files: Iterable[Link | FileRecord]) -> str:
    """The version a project page shows first ("" when there are no files).

    >>> from registry.core.listing import Link
    >>> latest_version([Link("a-1.0.tar.gz", "1.0", "/"), Link("a-2.0b1.tar.gz", "2.0b1", "/")])
    '1.0'
    """
    versions: dict[str, bool] = {}  # version -> has a file that is not yanked
    for file in files:
        versions[file.version] = versions.get(file.version, False) or not file.yanked
    for candidates in (
        [v for v, live in versions.items() if live and _is_final(v)],
        [v for v, live in versions.items() if live],
        list(versions),
    ):
        if candidates:
            return max(candidates, key=version_sort_key)
    return ""


@dataclass(frozen=True)
class Release:
    """One version's files, newest release first in a history."""

    version: str
    files: tuple[Link, ...]
    upload_time: datetime | None  # the earliest file's, when known
    yanked: bool  # every file is yanked
    yanked_reason: str


def releases(links: Sequence[Link]) -> list[Release]:
    """The releases of a listing, newest version first."""
    by_version: dict[str, list[Link]] = {}
    for link in links:
        by_version.setdefault(link.version, []).append(link)
    found = []
    for version, files in by_version.items():
        times = [file.upload_time for file in files if file.upload_time is not None]
        reasons = [file.yanked_reason for file in files if file.yanked_reason]
        found.append(
            Release(
                version=version,
                files=tuple(files),
                upload_time=min(times) if times else None,
                yanked=all(file.yanked for file in files),
                yanked_reason=reasons[0] if reasons else "",
            )
        )
    return sorted(found, key=lambda release: version_sort_key(release.version), reverse=True)


def release_records(records: Iterable[FileRecord], version: str) -> list[FileRecord]:
    """The records of one version, wheels first (their metadata is the cheapest to read)."""
    chosen = [record for record in records if record.version == version]
    return sorted(chosen, key=lambda record: (record.packagetype != "bdist_wheel", record.filename))
