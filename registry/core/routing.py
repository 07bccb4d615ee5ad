"""Which upstream a project comes from, when several are configured (``pypi.upstreams``).

``Routes`` is the pure part: the routing rules (``upstream.<name>.projects``) give each
canonical name an ordered list of upstreams it may come from. ``Locator`` picks one of them:
the first, in order, whose index has the project. ``Sources.decide`` asks both and puts the
answer in the ``UpstreamPermit``; from then on only that upstream is asked about the project,
so its files are never merged with a same-named project's files from another upstream.

Where a project was found is remembered in this process. For the upstream's page TTL
nothing is asked again; after that only that upstream is asked, and the project stays there
while it still has it: a project found on the second upstream does not move to the first
when the first later gets a project of the same name. If an upstream fails, a project
remembered there stays there; one never located gets the failing upstream's error (asking
the next one instead could serve a same-named project of another index: dependency
confusion). Once a file is stored, its record names the upstream, which binds the project
for good in every process (see ``sources``); until then a restart may locate it afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from packaging.utils import NormalizedName

from ..config.views import UpstreamSettings
from ..errors import NotFound, UpstreamError
from ..upstream import UpstreamIndex

log = logging.getLogger("registry.fallback")

_MEMO_LIMIT = 16384


class Routes:
    """The routing rules of the configured upstreams (names in ``pypi.upstreams`` order)."""

    def __init__(self, upstreams: tuple[UpstreamSettings, ...]) -> None:
        self.upstreams = upstreams
        self.names = tuple(upstream.name for upstream in upstreams)

    def allowed(self, project: NormalizedName) -> tuple[str, ...]:
        """The upstreams ``project`` may come from, in order: those whose patterns name it,
        or, when none does, every upstream without patterns.

        >>> from registry.config.views import UpstreamSettings as U
        >>> routes = Routes((U("pypi", "http://a/"), U("torch", "http://b/", projects=("nvidia-*",))))
        >>> routes.allowed("nvidia-cublas"), routes.allowed("requests")
        (('torch',), ('pypi',))
        """
        claimed = tuple(
            upstream.name
            for upstream in self.upstreams
            if any(fnmatchcase(project, pattern) for pattern in upstream.projects)
        )
        return claimed or tuple(upstream.name for upstream in self.upstreams if not upstream.projects)

    def owner_of(self, origin: str) -> str:
        """The upstream a stored record without an upstream name came from (records cached
        before several upstreams existed): the one on its URL's host, else the first.

        >>> from registry.config.views import UpstreamSettings as U
        >>> Routes((U("a", "http://a.example/simple/"), U("b", "http://b.example/"))).owner_of("http://b.example/f")
        'b'
        """
        host = urlsplit(origin).netloc.rpartition("@")[2].lower()
        for upstream in self.upstreams:
            if urlsplit(upstream.url).netloc.rpartition("@")[2].lower() == host:
                return upstream.name
        return self.names[0] if self.names else ""


class Locator:
    """Finds the first upstream (of those allowed) whose index has a project."""

    def __init__(
        self, indexes: Mapping[str, UpstreamIndex], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.indexes = indexes
        self._clock = clock
        self._found: OrderedDict[NormalizedName, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def locate(self, project: NormalizedName, allowed: tuple[str, ...]) -> str:
        """The upstream that serves ``project``: the one it was found on before while that
        still has it, else the first of ``allowed`` that has it. With one candidate nothing is
        asked. When none has it the first is named (it answers "not found"); when one fails
        before any has it, that one (it answers with its error)."""
        if len(allowed) == 1:
            return allowed[0]
        remembered = self._remembered(project, allowed)
        if remembered is not None:
            name, fresh_until = remembered
            if self._clock() < fresh_until or self._has(name, project) is not False:
                return name  # still there, or failing now: an outage does not move a project
        for name in allowed:
            has = self._has(name, project)
            if has is None:
                return name
            if has:
                return name
        return allowed[0]

    def _has(self, name: str, project: NormalizedName) -> bool | None:
        """Whether upstream ``name`` has the project (None: it failed to say)."""
        try:
            self.indexes[name].page(project)  # the page is kept: reading it next is free
        except NotFound:
            return False
        except UpstreamError:
            return None
        self._remember(project, name)
        return True

    def _remembered(self, project: NormalizedName, allowed: tuple[str, ...]) -> tuple[str, float] | None:
        with self._lock:
            found = self._found.get(project)
        return found if found is not None and found[0] in allowed else None

    def _remember(self, project: NormalizedName, name: str) -> None:
        until = self._clock() + self.indexes[name].page_ttl
        with self._lock:
            self._found[project] = (name, until)
            self._found.move_to_end(project)
            while len(self._found) > _MEMO_LIMIT:
                self._found.popitem(last=False)
