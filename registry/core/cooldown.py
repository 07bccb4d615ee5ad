"""The release cooldown: upstream files younger than ``pypi.fallback_min_age`` are held back.

Supply-chain protection for every client: a file uploaded upstream a short while ago (from a
hijacked maintainer account, say) is neither listed on project pages nor served at its URL
until it is old enough for the upstream to have noticed and removed it. One owner: the
``Fallback`` asks ``Cooldown.hold`` about each upstream file it would list or fetch. Files
stored here (uploads, and upstream files cached before) are not asked about: they stay.

Admins release one file or a whole version early (``python -m registry cooldown release``,
``POST /manage/projects/<project>/cooldown/...``). Each release is a document of kind
``cooldown`` in the DocumentStore; a process keeps a snapshot of them, re-read when the
documents' serial moves (checked at most every ``auth.refresh_seconds``, and only while some
file is held back).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.utils import NormalizedName, canonicalize_version
from packaging.version import InvalidVersion, Version

from ..access import Identity, Permissions
from ..cache import DocumentStore
from ..config.views import CooldownSettings
from ..errors import ConfigError, HeldBack, InvalidRequest, InvalidUpload
from ..models import format_time, parse_time, utcnow
from .distribution import parse_filename

RELEASE_KIND = "cooldown"
_MEMO_LIMIT = 4096


def describe_duration(seconds: int) -> str:
    """``604800`` -> ``7d``; ``129600`` -> ``1d12h``."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Held:
    """An upstream file the cooldown keeps back; ``available``: when it will pass (None: never
    by itself, since the upstream gives no upload time)."""

    project: NormalizedName
    filename: str
    uploaded: datetime | None
    available: datetime | None
    min_age: int

    @property
    def message(self) -> str:
        age = describe_duration(self.min_age)
        if self.uploaded is None or self.available is None:
            return (
                f"{self.filename} is held back by the release cooldown: the upstream index gives no "
                f"upload time for it, and upstream files are served only once they are {age} old "
                "(pypi.fallback_min_age_unknown = refuse). An admin can release it early."
            )
        return (
            f"{self.filename} is held back by the release cooldown: it was uploaded to the upstream "
            f"index at {format_time(self.uploaded)}, and upstream files are served only once they "
            f"are {age} old (pypi.fallback_min_age). It becomes available at "
            f"{format_time(self.available)}. An admin can release it early."
        )


@dataclass(frozen=True)
class Release:
    """An admin's early release of one version, or one file, of a project."""

    project: NormalizedName
    version: str = ""  # normalized (PEP 440); "" when one file is released
    filename: str = ""
    by: str = ""
    at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.project}:{self.version}:{self.filename}"

    def to_doc(self) -> dict[str, str]:
        at = format_time(self.at) if self.at else ""
        return {
            "project": self.project,
            "version": self.version,
            "filename": self.filename,
            "by": self.by,
            "at": at,
        }

    @classmethod
    def from_doc(cls, data: dict[str, str]) -> Release:
        at = parse_time(data["at"]) if data.get("at") else None
        return cls(
            NormalizedName(data["project"]),
            data.get("version", ""),
            data.get("filename", ""),
            data.get("by", ""),
            at,
        )


_Released = dict[NormalizedName, tuple[frozenset[str], frozenset[str]]]  # versions, filenames


class Cooldown:
    """Which upstream files are too young to serve, and the admins' early releases."""

    def __init__(
        self,
        settings: CooldownSettings,
        documents: DocumentStore,
        permissions: Permissions,
        *,
        refresh_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.min_age = timedelta(seconds=settings.min_age)
        self.documents = documents
        self.permissions = permissions
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._released: _Released | None = None
        self._serial: int | None = None
        self._fresh_until = 0.0
        self._moments: OrderedDict[Hashable, tuple[tuple[datetime, ...], bool]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: CooldownSettings,
        mode: str,
        documents: DocumentStore,
        permissions: Permissions,
        refresh: float,
    ) -> Cooldown:
        """The cooldown of ``pypi.fallback_min_age*``; it needs ``pypi.fallback = cache``.

        :raises ConfigError: a cooldown with redirect mode, where clients read the upstream's
            pages themselves and nothing here could hold a file back.
        """
        if settings.min_age and mode == "redirect":
            raise ConfigError(
                "pypi.fallback_min_age needs pypi.fallback = cache: with redirect, clients read the "
                "upstream's pages and files themselves, so no file could be held back"
            )
        return cls(settings, documents, permissions, refresh_seconds=refresh)

    def applies(self, project: NormalizedName) -> bool:
        return self.settings.min_age > 0 and project not in self.settings.exempt

    # -- the rule ------------------------------------------------------------------------

    def hold(
        self, project: NormalizedName, filename: str, version: Version, uploaded: datetime | None
    ) -> Held | None:
        """Why an upstream file may not be listed or served yet, or None when it may."""
        if not self.applies(project):
            return None
        if uploaded is not None and uploaded + self.min_age <= self.clock():
            return None
        if uploaded is None and self.settings.allow_unknown:
            return None
        versions, files = self._snapshot().get(project, (frozenset(), frozenset()))
        if filename in files or canonicalize_version(version) in versions:
            return None
        available = uploaded + self.min_age if uploaded is not None else None
        return Held(project, filename, uploaded, available, self.settings.min_age)

    def check(
        self, project: NormalizedName, filename: str, version: Version, uploaded: datetime | None
    ) -> None:
        """:raises HeldBack: the file is held back (403, with the moment it becomes available)."""
        held = self.hold(project, filename, version, uploaded)
        if held is not None:
            raise HeldBack(held.message)

    def page_state(
        self, project: NormalizedName, page: Hashable, uploads: Callable[[], Iterable[datetime | None]]
    ) -> Hashable:
        """What, besides the upstream page itself, decides which of its files a page lists: how
        many held files became available since, and the project's early releases. Part of the
        page's version, so a kept rendering is replaced exactly when the list changes. The
        availability moments of ``page`` (any key naming one fetched upstream page) are
        computed once per page."""
        if not self.applies(project):
            return ()
        key = (project, page)
        with self._lock:
            memo = self._moments.get(key)
        if memo is None:
            times = list(uploads())
            memo = (tuple(sorted(u + self.min_age for u in times if u is not None)), None in times)
            with self._lock:
                self._moments[key] = memo
                while len(self._moments) > _MEMO_LIMIT:
                    self._moments.popitem(last=False)
        moments, unknown = memo
        passed = bisect.bisect_right(moments, self.clock())
        if passed == len(moments) and (self.settings.allow_unknown or not unknown):
            return (passed,)  # nothing is held: early releases change nothing
        return (passed, self._snapshot().get(project))

    def _snapshot(self) -> _Released:
        """Every early release, re-read when the documents changed (checked now and then)."""
        released = self._released
        if released is not None and time.monotonic() < self._fresh_until:
            return released
        with self._lock:
            serial = self.documents.docs_serial()
            if self._released is None or serial != self._serial:
                self._released, self._serial = _index(self.documents.list_docs(RELEASE_KIND).values()), serial
            self._fresh_until = time.monotonic() + self.refresh_seconds
            return self._released

    # -- early releases (admins) ---------------------------------------------------------

    def release(
        self,
        caller: Identity,
        project: NormalizedName,
        version: str | None = None,
        filename: str | None = None,
    ) -> Release:
        """Release one version, or one file, of ``project`` from the cooldown now.

        :raises Unauthorized | Forbidden: the caller is not an admin with a password login.
        :raises InvalidRequest: neither or both given, an invalid version, or a filename that is
            not a distribution of ``project``.
        """
        self.permissions.require_admin(caller, "release files from the cooldown")
        chosen = _chosen(project, version, filename)
        release = Release(project, chosen.version, chosen.filename, caller.label, self.clock())
        self.documents.put_doc(RELEASE_KIND, release.key, release.to_doc())
        self._forget()
        return release

    def revoke(
        self,
        caller: Identity,
        project: NormalizedName,
        version: str | None = None,
        filename: str | None = None,
    ) -> bool:
        """Undo an early release (files cached meanwhile stay); whether there was one."""
        self.permissions.require_admin(caller, "release files from the cooldown")
        existed = self.documents.delete_doc(RELEASE_KIND, _chosen(project, version, filename).key)
        self._forget()
        return existed

    def releases(self, caller: Identity, project: NormalizedName) -> list[Release]:
        """The early releases of ``project``, oldest first."""
        self.permissions.require_admin(caller, "see the cooldown's releases")
        found = [Release.from_doc(data) for data in self.documents.list_docs(RELEASE_KIND).values()]
        mine = [release for release in found if release.project == project]
        return sorted(mine, key=lambda release: (format_time(release.at) if release.at else "", release.key))

    def _forget(self) -> None:
        with self._lock:
            self._released, self._fresh_until = None, 0.0


def _chosen(project: NormalizedName, version: str | None, filename: str | None) -> Release:
    """The release a request names (without who and when), validated."""
    if bool(version) == bool(filename):
        raise InvalidRequest("Name either a version or one file (--file) to release")
    if filename:
        try:
            parsed = parse_filename(filename)
        except InvalidUpload as exc:
            raise InvalidRequest(exc.message) from None
        if parsed.project != project:
            raise InvalidRequest(f"{filename!r} is not a file of project {project!r}")
        return Release(project, filename=filename)
    try:
        return Release(project, version=str(Version(version or "")))
    except InvalidVersion:
        raise InvalidRequest(f"Invalid version {version!r}: expected a PEP 440 version") from None


def _index(docs: Iterable[dict[str, str]]) -> _Released:
    versions: dict[NormalizedName, set[str]] = {}
    files: dict[NormalizedName, set[str]] = {}
    for data in docs:
        release = Release.from_doc(data)
        versions.setdefault(release.project, set())
        files.setdefault(release.project, set())
        if release.version:
            versions[release.project].add(canonicalize_version(release.version))
        if release.filename:
            files[release.project].add(release.filename)
    return {name: (frozenset(versions[name]), frozenset(files[name])) for name in versions}
