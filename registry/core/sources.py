"""The one owner of "local, reserved or upstream": where a project's files may come from.

Every read that could involve the upstream index (project pages, files, metadata files) asks
``Sources.decide`` first, with the canonical name. The upstream may be asked about a project
only through an ``UpstreamPermit``, which only ``decide`` makes, so no other code path can
send a name upstream. A name is never looked up upstream when:

- fallback is off (``pypi.fallback = none``, or no upstream URL);
- it is reserved: listed in ``pypi.disallow_fallback`` or named by ``package.*`` rules
  (dependency confusion: a private ``internal-lib 1.0`` must win over an upstream 99.0);
- it has files uploaded here, unless ``pypi.always_show_upstream`` mixes both;
- in redirect mode, it has any files stored here (unless ``always_show_upstream``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import NormalizedName

from ..cache import Cache
from ..config.views import FallbackSettings

_MEMO_LIMIT = 4096


@dataclass(frozen=True)
class UpstreamPermit:
    """Proof that the upstream may be asked about ``project`` (made only by ``Sources.decide``)."""

    project: NormalizedName
    serial: int | None  # the project's serial here when decided (None: nothing stored)


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
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.reserved = reserved  # package.* rules name it
        self.enabled = enabled  # an upstream is configured and fallback is on
        self._uploads: OrderedDict[NormalizedName, tuple[int, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def decide(self, project: NormalizedName) -> Decision:
        """Where ``project``'s files come from (one cheap serial read, plus a listing once per
        serial for projects stored here)."""
        serial = self.cache.project_serial(project)
        if not self.enabled or project in self.settings.disallowed or self.reserved(project):
            return Decision(project, serial)
        if serial is not None and not self.settings.always_show_upstream:
            if self.settings.mode == "redirect":
                return Decision(project, serial)
            if self._has_uploads(project, serial):
                return Decision(project, serial, uploads_only=True)
        return Decision(project, serial, UpstreamPermit(project, serial))

    def _has_uploads(self, project: NormalizedName, serial: int) -> bool:
        """Whether any file of the project was uploaded here (not cached); memoized per serial."""
        with self._lock:
            memo = self._uploads.get(project)
        if memo is not None and memo[0] == serial:
            return memo[1]
        found = any(not record.origin for record in self.cache.list_files(project))
        with self._lock:
            self._uploads[project] = (serial, found)
            while len(self._uploads) > _MEMO_LIMIT:
                self._uploads.popitem(last=False)
        return found
