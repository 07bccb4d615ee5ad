"""The web UI's listing queries: the home page, search, and the admin overview.

Each asks ``Reads.index`` which projects the caller may see (the one owner of that decision,
with its version: the index serial) and joins them with the ``Catalog``. A result is
``Versioned`` by the index serial, so a page kept for that serial costs one read; building one
costs the visible-project listing plus, once per change, the catalog refresh. Nothing here
scans file records per request.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ..access import Identity, Permissions
from ..models import ProjectSummary
from .catalog import Catalog, CatalogEntry
from .listing import Versioned
from .reads import Reads
from .search import SearchResults, paginate, rank

T = TypeVar("T")
RECENT = 10
MONTHS = 12


@dataclass(frozen=True)
class Totals:
    """Counts over a set of projects."""

    projects: int
    files: int
    size: int
    uploaded: int
    cached: int

    @classmethod
    def of(cls, entries: list[CatalogEntry]) -> Totals:
        return cls(
            projects=len(entries),
            files=sum(entry.files for entry in entries),
            size=sum(entry.size for entry in entries),
            uploaded=sum(entry.uploaded for entry in entries),
            cached=sum(entry.cached for entry in entries),
        )


@dataclass(frozen=True)
class Home:
    """The home page: recently updated projects and counts."""

    recent: tuple[CatalogEntry, ...]
    totals: Totals


@dataclass(frozen=True)
class MonthCount:
    month: str  # YYYY-MM
    uploaded: int
    cached: int


@dataclass(frozen=True)
class Overview:
    """The admin overview: totals, and files added per month over the last ``MONTHS``."""

    totals: Totals
    months: tuple[MonthCount, ...]


def last_months(now: datetime, count: int = MONTHS) -> list[str]:
    """``count`` months up to ``now``'s, oldest first.

    >>> last_months(datetime(2024, 2, 10), 3)
    ['2023-12', '2024-01', '2024-02']
    """
    year, month = now.year, now.month
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def monthly(entries: list[CatalogEntry], months: list[str]) -> tuple[MonthCount, ...]:
    """Files added per month (uploaded here, cached from the upstream)."""
    counts = {month: [0, 0] for month in months}
    for entry in entries:
        for month, (uploaded, cached) in entry.months.items():
            if month in counts:
                counts[month][0] += uploaded
                counts[month][1] += cached
    return tuple(MonthCount(month, *counts[month]) for month in months)


class Browse:
    """Home, search and overview, over what the caller may see."""

    def __init__(self, reads: Reads, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self.reads = reads
        self.catalog = catalog
        self.clock = clock

    def _visible(
        self, caller: Identity, name: Hashable, pick: Callable[[list[CatalogEntry]], T]
    ) -> Versioned[T]:
        """``pick`` over the catalog entries of the projects the caller may see.

        :raises Unauthorized | Forbidden: the caller may read nothing here.
        """
        visible = self.reads.index(caller)

        def load() -> T:
            shown: list[ProjectSummary] = visible.load()
            entries = self.catalog.entries(visible.version)
            return pick([entries[p.name] for p in shown if p.name in entries])

        return Versioned((name, visible.key), visible.version, load, visible.public)

    def home(self, caller: Identity) -> Versioned[Home]:
        """Recently updated projects and counts."""

        def pick(entries: list[CatalogEntry]) -> Home:
            newest = sorted(entries, key=lambda e: (e.updated is not None, e.updated, e.name), reverse=True)
            return Home(tuple(newest[:RECENT]), Totals.of(entries))

        return self._visible(caller, "home", pick)

    def search(self, caller: Identity, query: str, page: int) -> Versioned[SearchResults]:
        """One page of projects matching ``query`` (checked by ``search.check_query``)."""
        return self._visible(caller, ("search", query, page), lambda e: paginate(query, rank(e, query), page))

    def overview(self, caller: Identity) -> Versioned[Overview]:
        """Totals and monthly additions (admins only).

        :raises Unauthorized | Forbidden: not an admin signed in with a password.
        """
        Permissions.require_admin(caller, "see the registry overview")
        months = last_months(self.clock())
        return self._visible(
            caller, ("overview", months[-1]), lambda e: Overview(Totals.of(e), monthly(e, months))
        )
