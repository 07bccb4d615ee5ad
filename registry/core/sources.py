"""The one owner of "local, reserved or upstream": where a project's files may come from.

Every read that could involve the upstream index (project pages, files, metadata files) asks
``Sources.decide`` first, with the canonical name. The upstream may be asked about a project
only through an ``UpstreamPermit``, which only ``decide`` makes, so no other code path can
send a name upstream. A name is never looked up upstream when:

- fallback is off (``pypi.fallback = none``, or no upstream URL);
- it is reserved: listed in ``pypi.disallow_fallback`` or named by ``package.*`` rules
  (dependency confusion: a private ``internal-lib 1.0`` must win over an upstream 99.0);
- it has files uploaded here, unless ``pypi.always_show_upstream`` mixes both;
- in redirect mode, it has any files stored here (unless ``always_show_upstream``);
- no configured upstream's routing rules allow it, or the upstream its stored copies came
  from no longer does (the project then serves only what is stored: never merged).

With several upstreams (``pypi.upstreams``) the permit names exactly one: the upstream its
stored copies came from (each cached record names it), else the first allowed one that has
the project (``routing.Locator``). Every later step asks only that upstream.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import NormalizedName

from ..cache import Cache
from ..config.views import FallbackSettings
from .routing import Routes

Locate = Callable[[NormalizedName, tuple[str, ...]], str]

_MEMO_LIMIT = 4096


@dataclass(frozen=True)
class UpstreamPermit:
    """Proof that the upstream may be asked about ``project`` (made only by ``Sources.decide``)."""

    project: NormalizedName
    serial: int | None  # the project's serial here when decided (None: nothing stored)
    upstream: str  # the name of the one upstream that may be asked


@dataclass(frozen=True)
class _Stored:
    """What a project's stored records say (memoized per serial): whether any was uploaded
    here, and the upstream the cached ones came from."""

    serial: int
    uploads: bool
    upstream: str | None


@dataclass(frozen=True)
class Decision:
    """Where ``project``'s files come from. ``upstream``: set when the upstream may be asked;
    ``uploads_only``: a local project that also holds upstream copies shows only its uploads."""

    project: NormalizedName
    serial: int | None
    upstream: UpstreamPermit | None = None
    uploads_only: bool = False


class Sources:
    """Decides, per canonical project name, whether the upstream index may be consulted."""

    def __init__(
        self,
        cache: Cache,
        settings: FallbackSettings,
        reserved: Callable[[NormalizedName], bool],
        enabled: bool,
        locate: Locate | None = None,
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.reserved = reserved  # package.* rules name it
        self.enabled = enabled  # an upstream is configured and fallback is on
        self.routes = Routes(settings.upstreams)
        self.locate: Locate = locate or (lambda project, allowed: allowed[0])
        self._stored: OrderedDict[NormalizedName, _Stored] = OrderedDict()
        self._lock = threading.Lock()

    def decide(self, project: NormalizedName) -> Decision:
        """Where ``project``'s files come from (one cheap serial read, plus a listing once per
        serial for projects stored here)."""
        serial = self.cache.project_serial(project)
        if not self.enabled or project in self.settings.disallowed or self.reserved(project):
            return Decision(project, serial)
        stored = self._stored_state(project, serial) if serial is not None else None
        if stored is not None and not self.settings.always_show_upstream:
            if self.settings.mode == "redirect":
                return Decision(project, serial)
            if stored.uploads:
                return Decision(project, serial, uploads_only=True)
        allowed = self.routes.allowed(project)
        if stored is not None and stored.upstream is not None:
            if stored.upstream not in allowed:  # routed elsewhere since: serve what is stored
                return Decision(project, serial)
            return Decision(project, serial, UpstreamPermit(project, serial, stored.upstream))
        if not allowed:
            return Decision(project, serial)
        return Decision(project, serial, UpstreamPermit(project, serial, self.locate(project, allowed)))

    def _stored_state(self, project: NormalizedName, serial: int) -> _Stored:
        """Whether any file of the project was uploaded here (not cached), and which upstream
        its cached files came from; memoized per serial."""
        with self._lock:
            memo = self._stored.get(project)
        if memo is not None and memo.serial == serial:
            return memo
        records = self.cache.list_files(project)
        cached = next((record for record in records if record.origin), None)
        upstream = None if cached is None else cached.upstream or self.routes.owner_of(cached.origin)
        found = _Stored(serial, any(not record.origin for record in records), upstream)
        with self._lock:
            self._stored[project] = found
            while len(self._stored) > _MEMO_LIMIT:
                self._stored.popitem(last=False)
        return found
