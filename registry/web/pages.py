"""Rendered pages kept in memory until the data behind them changes.

Rendering a 500-version project page costs milliseconds; checking the project's serial costs
one indexed lookup. So every rendered body is kept with the version (serial) of the data it was
built from and served again, byte for byte with the same ETag, until the version moves. The core
returns ``Versioned`` data whose loading is deferred, so a kept page never reads the data.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..core.listing import Versioned

if TYPE_CHECKING:
    from .shared_pages import SharedPages

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """A rendered response body with its content type and strong ETag."""

    body: bytes
    content_type: str
    etag: str

    @classmethod
    def build(cls, body: bytes, content_type: str) -> Page:
        return cls(body, content_type, hashlib.blake2b(body, digest_size=16).hexdigest())


class PageCache:
    """A bounded LRU of pages keyed by what they show, valid for one serial each: at most
    ``limit`` pages and ``max_bytes`` of bodies (an upstream page can be megabytes). With
    ``shared``, big pages asked for with ``share`` are also shared with the host's other
    workers and later starts (``shared_pages``), with their gzip (handed to ``remember``)."""

    def __init__(
        self,
        limit: int = 2048,
        max_bytes: int = 64 * 1024 * 1024,
        shared: SharedPages | None = None,
        remember: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.shared = shared
        self._remember = remember
        self._pages: OrderedDict[Hashable, tuple[Hashable, Page]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, serial: Hashable, render: Callable[[], Page], share: bool = False) -> Page:
        """The page for ``key`` at ``serial``, rendered only if not kept for that serial (here,
        or with ``share`` by another worker)."""
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None and kept[0] == serial:
                self._pages.move_to_end(key)
                return kept[1]
        page = self._shared(key, serial, render) if share and self.shared is not None else render()
        with self._lock:
            old = self._pages.pop(key, None)
            self._bytes -= len(old[1].body) if old is not None else 0
            if len(page.body) <= self.max_bytes:
                self._pages[key] = (serial, page)
                self._bytes += len(page.body)
            while len(self._pages) > self.limit or self._bytes > self.max_bytes:
                self._bytes -= len(self._pages.popitem(last=False)[1][1].body)
        return page

    def _shared(self, key: Hashable, serial: Hashable, render: Callable[[], Page]) -> Page:
        """The page another worker shared, else rendered here (and shared if big)."""
        assert self.shared is not None
        found = self.shared.get(key, serial)
        gzipped: bytes | None
        if found is not None:
            page, gzipped = found
        else:
            page = render()
            gzipped = self.shared.put(key, serial, page)
        if gzipped is not None and self._remember is not None:
            self._remember(page.etag, gzipped)
        return page

    def use(self) -> tuple[int, int]:
        """(pages kept, bytes of their bodies), for ``/health``."""
        with self._lock:
            return len(self._pages), self._bytes

    def render(
        self, data: Versioned[T], variant: Hashable, render: Callable[[T], Page], share: bool = False
    ) -> Page:
        """The page ``render`` makes of ``data`` (``variant``: content type and the like),
        loading and rendering only when no page is kept for the data's version; ``share``: the
        page is the same for every caller, so big ones may be shared across workers."""
        return self.get((data.key, variant), data.version, lambda: render(data.load()), share)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0
