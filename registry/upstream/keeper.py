"""Kept project pages: answered from what is kept, refreshed in the background.

A page asked for is looked for in this process's memory (bounded in bytes), then in the
shared store (the Storage: survives restarts, shared by every worker and instance), and only
then fetched from the upstream, once per process however many ask at the same moment.

A kept page older than the refresh interval (``pypi.fallback_page_ttl``) is still answered at
once; a background thread then refreshes it, with a conditional request (``If-None-Match`` /
``If-Modified-Since``) so an unchanged page costs the upstream a 304. Before asking, it reads
the store's head: when another worker or instance has just refreshed the page, that copy is
taken and the upstream is not asked at all. With ``wait_for_refresh`` the request itself waits
for the refresh instead (still answered from the kept copy if the upstream fails).

A failure is never remembered as "not found"; a 404 from the upstream forgets the page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from ..errors import NotFound, RegistryError, UpstreamError, UpstreamTimeout
from .kept import KeptPage, VersionOf, compacted
from .locks import KeyedLocks
from .memory import ByteLRU
from .store import PageStore

if TYPE_CHECKING:
    from .client import UpstreamIndex

log = logging.getLogger("registry.upstream")

RETRY_AFTER_FAILURE = 30.0  # seconds before a page whose refresh failed is tried again
REFRESH_THREADS = 2


def packaging_version(project: str, filename: str) -> str | None:
    """The version of a wheel or sdist of ``project`` named ``filename``, else None."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return str(version) if canonicalize_name(name) == project else None


class PageKeeper:
    """The kept pages of one upstream, in memory and in the store."""

    def __init__(
        self,
        index: UpstreamIndex,
        *,
        store: PageStore | None,
        memory: ByteLRU,
        ttl: float,
        clock: Callable[[], float],
        version_of: VersionOf | None = None,
        wait_for_refresh: bool = False,
    ) -> None:
        self.index = index
        self.store = store
        self.memory = memory
        self.ttl = ttl
        self.wait_for_refresh = wait_for_refresh
        self.version_of = version_of or packaging_version
        self._clock = clock
        self._fetching = KeyedLocks()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    # -- answering -------------------------------------------------------------------------

    def page(self, project: str) -> KeptPage:
        """The page: kept (refreshed in the background when old), else fetched now.

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed and nothing is kept.
        """
        kept = self._kept(project)
        if kept is None or (self._stale(kept) and self.wait_for_refresh):
            return self._fetch_now(project, kept)
        if self._stale(kept):
            self._refresh_later(project)
        return kept

    def _stale(self, kept: KeptPage) -> bool:
        return self._clock() - kept.checked >= self.ttl

    def _kept(self, project: str) -> KeptPage | None:
        kept: KeptPage | None = self.memory.get(("page", project))
        if kept is None and self.store is not None:
            kept = self.store.load(project)
            if kept is not None:
                self._remember(project, kept)
        return kept

    def _remember(self, project: str, page: KeptPage) -> None:
        self.memory.put(("page", project), page, page.size)

    def _fetch_now(self, project: str, kept: KeptPage | None) -> KeptPage:
        """Refresh in this thread, once per process; waiters take the fetcher's result."""
        # Waiters give up a little after the fetcher's own timeout would have fired.
        with self._fetching.hold(project, timeout=2 * self.index.timeout + 1) as acquired:
            current: KeptPage | None = self.memory.get(("page", project))
            if current is not None and (not self._stale(current) or not acquired):
                return current
            if not acquired:
                if kept is not None:
                    return kept
                raise UpstreamTimeout(
                    f"The upstream index did not answer within {self.index.timeout:g} seconds"
                )
            return self._refresh(project, current or kept)

    # -- refreshing ------------------------------------------------------------------------

    def _refresh(self, project: str, kept: KeptPage | None) -> KeptPage:
        """Take a fresher shared copy, or ask the upstream (conditionally if something is kept)."""
        if kept is not None and (shared := self._shared_fresh(project, kept)) is not None:
            return shared
        try:
            fetched = self.index.fetch_page(
                project, kept.etag if kept else "", kept.last_modified if kept else ""
            )
        except NotFound:
            self.forget(project)
            raise
        except UpstreamError as exc:
            if kept is None:
                raise
            log.warning("Serving the kept copy of upstream project %r: %s", project, exc.message)
            retry_at = self._clock() - self.ttl + min(self.ttl, RETRY_AFTER_FAILURE)
            self._remember(project, kept.confirmed(retry_at))
            return kept
        now = self._clock()
        rows = None
        if fetched.project is None and kept is not None:  # 304: unchanged
            page = kept.confirmed(now, fetched.etag, fetched.last_modified)
        elif fetched.project is None:
            raise UpstreamError("The upstream index answered 304 to an unconditional request")
        else:
            page, rows = compacted(
                fetched.project, project, self.version_of,
                etag=fetched.etag, last_modified=fetched.last_modified, when=now,
            )  # fmt: skip
        self._remember(project, page)
        if self.store is not None:  # off the request's path: the page is in memory already
            previous = kept.version if kept else ""
            self._in_background(f"save:{project}", lambda: self._save(project, page, previous, rows))
        return page

    def _save(self, project: str, page: KeptPage, previous: str, rows: bytes | None) -> None:
        assert self.store is not None
        if previous == page.version:
            self.store.confirm(project, page)
        else:
            self.store.save(project, page, previous=previous, rows=rows)

    def _shared_fresh(self, project: str, kept: KeptPage) -> KeptPage | None:
        """The store's copy if another worker or instance refreshed it within the interval."""
        if self.store is None:
            return None
        head = self.store.head(project)
        if head is None or self._clock() - float(head.get("checked") or 0) >= self.ttl:
            return None
        if head["version"] == kept.version:
            page = kept.confirmed(float(head["checked"]), head.get("etag", ""), head.get("last_modified", ""))
        elif (loaded := self.store.load(project)) is not None:
            page = loaded
        else:
            return None
        self._remember(project, page)
        return page

    def _refresh_later(self, project: str) -> None:
        self._in_background(f"refresh:{project}", lambda: self._fetch_now(project, self._kept(project)))

    def _in_background(self, task: str, work: Callable[[], object]) -> None:
        """Run ``work`` on the refresh threads, unless the same task is queued or running."""
        with self._lock:
            if task in self._pending:
                return
            self._pending.add(task)
            if self._executor is None:  # created on first use: after gunicorn's fork
                self._executor = ThreadPoolExecutor(REFRESH_THREADS, thread_name_prefix="upstream-refresh")
            executor = self._executor
        executor.submit(self._run, task, work)

    def _run(self, task: str, work: Callable[[], object]) -> None:
        try:
            work()
        except RegistryError as exc:
            log.info("Background work on the upstream (%s): %s", task, exc.message)
        except Exception:  # a background thread has nobody to raise to
            log.exception("Background work on the upstream (%s) failed", task)
        finally:
            with self._lock:
                self._pending.discard(task)

    def forget(self, project: str) -> None:
        """Drop a project the upstream no longer has, here and in the store."""
        self.memory.pop(("page", project))
        if self.store is not None:
            self.store.forget(project)

    def pending(self) -> int:
        """Background refreshes and saves queued or running (tests wait for 0)."""
        with self._lock:
            return len(self._pending)
