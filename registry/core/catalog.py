"""The project catalog: one compact summary per project, for search, the home page and the
admin overview.

An entry is computed from a project's file records and carries the project's serial; it is
recomputed only when that serial moves. The whole catalog is kept in memory per index serial
and saved in a ``CatalogStore`` (one Firestore document beside the ``/simple/`` index), so a
fresh process starts from the saved entries. After an upload the catalog costs the index
read, the catalog read, one listing of the changed project and one write: never a scan of every
record. It is derived data: a lost or stale catalog only costs recomputing its entries.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections.abc import Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from packaging.utils import NormalizedName

from ..cache import Cache
from ..cache.catalog import CatalogStore
from ..errors import BackendUnavailable
from ..models import FileRecord, ProjectSummary, format_time, parse_time
from .projects import ProjectList
from .releases import latest_version, release_records

log = logging.getLogger("registry")
FORMAT = 1
SUMMARY_CHARS = 300
KEYWORD_CHARS = 200
THREADS = 8  # projects listed at once when many entries are stale (a cold catalog)


@dataclass(frozen=True)
class CatalogEntry:
    """What browsing needs about one project, as of its ``serial``."""

    name: NormalizedName
    display_name: str
    serial: int
    version: str = ""
    summary: str = ""
    keywords: str = ""
    updated: datetime | None = None  # the newest file's upload time
    files: int = 0
    size: int = 0
    uploaded: int = 0  # files uploaded here; the others were cached from the upstream
    months: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # YYYY-MM -> (uploaded, cached)

    @property
    def cached(self) -> int:
        return self.files - self.uploaded

    def to_json(self) -> dict[str, Any]:
        return {
            "d": self.display_name,
            "s": self.serial,
            "v": self.version,
            "sm": self.summary,
            "kw": self.keywords,
            "t": format_time(self.updated) if self.updated else "",
            "n": self.files,
            "b": self.size,
            "u": self.uploaded,
            "m": {month: list(counts) for month, counts in self.months.items()},
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> CatalogEntry:
        return cls(
            name=NormalizedName(name),
            display_name=str(data["d"]),
            serial=int(data["s"]),
            version=str(data["v"]),
            summary=str(data["sm"]),
            keywords=str(data["kw"]),
            updated=parse_time(data["t"]) if data["t"] else None,
            files=int(data["n"]),
            size=int(data["b"]),
            uploaded=int(data["u"]),
            months={str(k): (int(v[0]), int(v[1])) for k, v in data["m"].items()},
        )


def _text(value: object, limit: int) -> str:
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return " ".join(str(value or "").split())[:limit]


def summarize(project: ProjectSummary, records: list[FileRecord]) -> CatalogEntry:
    """The entry of a project from all of its records."""
    version = latest_version(records)
    latest = release_records(records, version)
    info = latest[0].info if latest else {}
    months: dict[str, tuple[int, int]] = {}
    for record in records:
        month = record.upload_time.strftime("%Y-%m")
        uploaded, cached = months.get(month, (0, 0))
        months[month] = (uploaded + (not record.origin), cached + bool(record.origin))
    return CatalogEntry(
        name=project.name,
        display_name=project.display_name,
        serial=project.serial,
        version=version,
        summary=_text(info.get("summary"), SUMMARY_CHARS),
        keywords=_text(info.get("keywords"), KEYWORD_CHARS),
        updated=max(record.upload_time for record in records),
        files=len(records),
        size=sum(record.size for record in records),
        uploaded=sum(1 for record in records if not record.origin),
        months=months,
    )


def encode(entries: Mapping[NormalizedName, CatalogEntry]) -> bytes:
    body = {"format": FORMAT, "projects": {name: entry.to_json() for name, entry in entries.items()}}
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode())


def decode(data: bytes | None) -> dict[NormalizedName, CatalogEntry]:
    """The saved entries; none when nothing is saved or it cannot be read (then rebuilt)."""
    if not data:
        return {}
    try:
        body = json.loads(zlib.decompress(data))
        if body.get("format") != FORMAT:
            return {}
        return {NormalizedName(k): CatalogEntry.from_json(k, v) for k, v in body["projects"].items()}
    except (ValueError, TypeError, KeyError, IndexError, zlib.error) as exc:
        log.warning("The saved project catalog cannot be read (%s): rebuilding it", exc)
        return {}


class Catalog:
    """Every project's entry, current as of an index serial."""

    def __init__(self, cache: Cache, store: CatalogStore, projects: ProjectList | None = None) -> None:
        self.cache = cache
        self.store = store
        self.projects = projects or ProjectList(cache)
        self._current: tuple[Hashable, dict[NormalizedName, CatalogEntry]] | None = None
        self._lock = threading.Lock()

    def entries(self, serial: Hashable) -> Mapping[NormalizedName, CatalogEntry]:
        """The catalog as of index ``serial`` (refreshed once per serial per process)."""
        current = self._current
        if current is not None and current[0] == serial:
            return current[1]
        with self._lock:
            current = self._current
            if current is not None and current[0] == serial:
                return current[1]
            entries = self._refresh(serial, current[1] if current else {})
            self._current = (serial, entries)
            return entries

    def _refresh(
        self, serial: Hashable, known: dict[NormalizedName, CatalogEntry]
    ) -> dict[NormalizedName, CatalogEntry]:
        """Entries for the projects listed now: saved or known ones whose serial still holds,
        the others recomputed from their records (and then saved for other processes)."""
        projects = self.projects.at(serial)
        saved = decode(self.store.load_catalog())
        found: dict[NormalizedName, CatalogEntry] = {}
        stale: list[ProjectSummary] = []
        for project in projects:
            current = [e for e in (saved.get(project.name), known.get(project.name)) if e is not None]
            fresh = [entry for entry in current if entry.serial == project.serial]
            if fresh:
                found[project.name] = replace(fresh[0], display_name=project.display_name)
            else:
                stale.append(project)
        if stale:
            with ThreadPoolExecutor(min(THREADS, len(stale))) as pool:
                for project, records in zip(stale, pool.map(self._records, stale), strict=True):
                    if records:  # removed meanwhile: left out
                        found[project.name] = summarize(project, records)
        if stale or set(saved) != set(found):
            self._save(found)
        return found

    def _records(self, project: ProjectSummary) -> list[FileRecord]:
        return self.cache.list_files(project.name)

    def _save(self, entries: Mapping[NormalizedName, CatalogEntry]) -> None:
        try:
            self.store.save_catalog(encode(entries))
        except BackendUnavailable as exc:  # derived data: the next refresh computes it again
            log.warning("The project catalog could not be saved: %s", exc.message)
