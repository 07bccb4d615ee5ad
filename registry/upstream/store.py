"""Kept upstream pages in the configured Storage, so they survive restarts and every worker and
instance shares them.

The Storage is create-only, so a page is written once per content version and a small
"head" object says which version is current; every upstream has its own ``<space>`` (a
digest of its URL, see ``space_of``), so several upstreams never share a page::

    _upstream/<space>/pages/<project>/<version>.json.gz   the page's rows (``kept.encode``),
                                                          never changed
    _upstream/<space>/heads/<project>                     empty; its meta names the current
                                                          version, the upstream's ETag /
                                                          Last-Modified, and when the upstream
                                                          last confirmed it

Only the head's meta ever changes (``Storage.set_meta``, which every backend has). A refresh
the upstream answers 304 rewrites that meta alone; a changed page writes a new version, moves
the head, then deletes the old version. A reader that finds the version it was told about
already gone reads the head again. ``UPSTREAM_PREFIX`` is reserved: ``list_keys`` leaves it
out unless asked, so rebuild, migrate and the stray report never see these objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging

from ..errors import AlreadyExists, NotFound, RegistryError
from ..storage.base import UPSTREAM_PREFIX, Storage
from .kept import KeptPage, decode, encode

log = logging.getLogger("registry.upstream")


def space_of(url: str) -> str:
    """The folder of one upstream's pages: a digest of its URL (given without credentials).

    >>> space_of("http://127.0.0.1:9/simple/")
    'ddd16791be7dfe2230ad'
    """
    return hashlib.blake2b(url.encode(), digest_size=10).hexdigest()


class PageStore:
    """Load and save one upstream's kept pages through a Storage, under ``space`` (see
    ``space_of``). Failures are logged, never raised: the store only saves time, and a broken
    one must not break serving."""

    def __init__(self, storage: Storage, space: str) -> None:
        self.storage = storage
        self.heads = f"{UPSTREAM_PREFIX}{space}/heads/"
        self.pages = f"{UPSTREAM_PREFIX}{space}/pages/"

    def _page_key(self, project: str, version: str) -> str:
        return f"{self.pages}{project}/{version}.json.gz"

    def head(self, project: str) -> dict[str, str] | None:
        """The head's meta (``version``, ``etag``, ``last_modified``, ``checked``), or None."""
        try:
            meta = self.storage.get_meta(self.heads + project)
        except NotFound:
            return None
        except RegistryError as exc:
            log.warning("Cannot read the kept page of %r: %s", project, exc.message)
            return None
        return meta if meta.get("version") else None

    def load(self, project: str) -> KeptPage | None:
        """The current kept page, or None if there is none (or it cannot be read)."""
        for _attempt in range(2):  # the version may be replaced between reading head and page
            head = self.head(project)
            if head is None:
                return None
            try:
                data = self.storage.read_bytes(self._page_key(project, head["version"]))
                page = decode(data, head["version"])
            except NotFound:
                continue
            except RegistryError as exc:
                log.warning("Cannot read the kept page of %r: %s", project, exc.message)
                return None
            checked = float(head.get("checked") or 0)
            return page.confirmed(checked, head.get("etag", ""), head.get("last_modified", ""))
        return None

    def save(self, project: str, page: KeptPage, previous: str = "", rows: bytes | None = None) -> None:
        """Write a new version (if not there yet) and point the head at it (``rows``: see
        ``kept.encode``)."""
        try:
            with contextlib.suppress(AlreadyExists):  # the same page, stored by another worker
                self.storage.put(self._page_key(project, page.version), io.BytesIO(encode(page, rows)), {})
            self.confirm(project, page)
            if previous and previous != page.version:
                self.storage.delete(self._page_key(project, previous))
        except RegistryError as exc:
            log.warning("Cannot keep the upstream page of %r: %s", project, exc.message)

    def confirm(self, project: str, page: KeptPage) -> None:
        """Point the head at ``page`` and record when the upstream last confirmed it."""
        meta = {
            "version": page.version,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "checked": repr(page.checked),
        }
        try:
            try:
                self.storage.set_meta(self.heads + project, meta)
            except NotFound:
                try:
                    self.storage.put(self.heads + project, io.BytesIO(b""), meta)
                except AlreadyExists:  # another worker created it a moment ago
                    self.storage.set_meta(self.heads + project, meta)
        except RegistryError as exc:
            log.warning("Cannot record the kept page of %r: %s", project, exc.message)

    def forget(self, project: str) -> None:
        """Remove the page of a project the upstream no longer has."""
        try:
            head = self.head(project)
            self.storage.delete(self.heads + project)
            if head is not None:
                self.storage.delete(self._page_key(project, head["version"]))
        except RegistryError as exc:
            log.warning("Cannot forget the kept page of %r: %s", project, exc.message)
