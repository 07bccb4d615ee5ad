"""When each file cached from the upstream was last served, for ``prune --unused-days``,
without a database write per download.

A download only touches memory: the (project, filename) pair is noted with today's date, and
a pair already noted today is not noted again. At most every ``pypi.usage_flush_seconds`` a
background thread writes what was noted, one document per project (kind ``usage`` in the
DocumentStore: ``{filename: "YYYY-MM-DD"}``, merged with what other processes wrote, keeping
the later day). So a file downloaded a thousand times a day costs one write that day per
process, and a flush costs one read and one write per project touched since the last one.

Why not derive it from the access log: on Cloud Run the log lives in Cloud Logging, out of
reach of a prune run, and its retention is shorter than useful thresholds. What can be lost: the
uses noted since the last flush when a process is killed (a clean stop flushes); a file used
only then looks one interval older than it is, which a threshold in days absorbs.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from packaging.utils import NormalizedName

from ..cache import DocumentStore
from ..errors import RegistryError
from ..models import utcnow

log = logging.getLogger("registry.usage")

USAGE_KIND = "usage"
_SEEN_LIMIT = 200_000  # pairs remembered per day; past it, a pair may be noted twice (harmless)


class LastUse:
    """Notes the days cached files are served on, and writes them down in batches."""

    def __init__(
        self, documents: DocumentStore, flush_seconds: float, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.documents = documents
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._day = ""
        self._seen: set[tuple[str, str]] = set()
        self._pending: dict[NormalizedName, dict[str, str]] = {}
        self._next_flush = time.monotonic() + flush_seconds
        self._flushing = False
        self._lock = threading.Lock()
        atexit.register(self.flush)

    def today(self) -> str:
        return self.clock().date().isoformat()

    def touch(self, project: NormalizedName, filename: str) -> None:
        """Note that a cached file was served now (memory only; a flush may follow in the background)."""
        day = self.today()
        with self._lock:
            if day != self._day or len(self._seen) > _SEEN_LIMIT:
                self._day, self._seen = day, set()
            if (project, filename) in self._seen:
                return
            self._seen.add((project, filename))
            self._pending.setdefault(project, {})[filename] = day
            due = not self._flushing and time.monotonic() >= self._next_flush
            self._flushing = self._flushing or due
        if due:
            threading.Thread(target=self._flush_in_background, name="last-use-flush", daemon=True).start()

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        finally:
            with self._lock:
                self._flushing = False

    def flush(self) -> int:
        """Write what was noted since the last flush; how many projects were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._next_flush = time.monotonic() + self.flush_seconds
        written = 0
        for project, files in pending.items():
            try:
                written += self._merge(project, files)
            except RegistryError as exc:  # kept for the next flush
                log.warning("Could not write down the use of %s's files: %s", project, exc.message)
                with self._lock:
                    for filename, day in files.items():
                        self._pending.setdefault(project, {}).setdefault(filename, day)
        return written

    def _merge(self, project: NormalizedName, files: dict[str, str]) -> int:
        current = {k: str(v) for k, v in (self.documents.get_doc(USAGE_KIND, project) or {}).items()}
        merged = dict(current)
        for filename, day in files.items():
            merged[filename] = max(day, merged.get(filename, ""))
        if merged == current:
            return 0
        self.documents.put_doc(USAGE_KIND, project, merged)
        return 1

    def recorded(self) -> dict[NormalizedName, dict[str, str]]:
        """Every written-down use: project -> filename -> the last day it was served."""
        docs = self.documents.list_docs(USAGE_KIND)
        return {
            NormalizedName(project): {k: str(v) for k, v in data.items()} for project, data in docs.items()
        }

    def set_days(self, project: NormalizedName, days: dict[str, str], forget: Iterable[str] = ()) -> None:
        """Write ``days`` for files of ``project`` (later days win) and forget ``forget`` (pruned)."""
        current = {k: str(v) for k, v in (self.documents.get_doc(USAGE_KIND, project) or {}).items()}
        merged = {**current, **{k: max(v, current.get(k, "")) for k, v in days.items()}}
        for filename in forget:
            merged.pop(filename, None)
        if merged == current:
            return
        if merged:
            self.documents.put_doc(USAGE_KIND, project, merged)
        else:
            self.documents.delete_doc(USAGE_KIND, project)
