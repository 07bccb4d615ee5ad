"""Every project's summary, read once per index serial per process.

The ``/simple/`` index, a filtered caller's listing and the web UI's catalog all need the
whole list after a change; on Firestore each listing is one read per index shard, so they
share one listing per serial instead of reading it once each.
"""

from __future__ import annotations

from collections.abc import Hashable

from ..cache import Cache
from ..models import ProjectSummary


class ProjectList:
    """The latest listing, kept with the index serial it was read at."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._kept: tuple[Hashable, list[ProjectSummary]] | None = None

    def at(self, serial: Hashable) -> list[ProjectSummary]:
        """The projects as of index ``serial`` (read from the Cache when the serial moved).

        The listing is read after the serial, so it is never older than the serial says; two
        threads that miss at once both read, and either result is correct.
        """
        kept = self._kept
        if kept is not None and kept[0] == serial:
            return kept[1]
        projects = self.cache.list_projects()
        self._kept = (serial, projects)
        return projects

    def current(self) -> list[ProjectSummary]:
        """The projects now (one serial read, and a listing when it moved)."""
        return self.at(self.cache.index_serial())
