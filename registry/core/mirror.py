"""Pre-seeding from lock files (``python -m registry mirror``): plan which pinned files are
missing here, then fetch each one through ``Fallback.fill``, the path a first download takes.

Nothing here decides where a project may come from (``Sources`` does) or how a file is
checked and stored (``Fallback`` and the ``FilePipeline`` do). A file the lock lists with a
sha256 is fetched only if the upstream lists it with that same sha256, and its bytes are
checked against it. Files already stored with the pinned sha256 are skipped, so a run that
was interrupted resumes where it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_version, parse_wheel_filename

from ..cache import Cache
from ..errors import RegistryError
from ..lockfiles import Pin
from ..models import FileRecord
from .fallback import Fallback
from .sources import Sources, UpstreamPermit


@dataclass(frozen=True)
class Wanted:
    """One file to fetch, with the sha256 it must have."""

    permit: UpstreamPermit
    filename: str
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.permit.project}: {self.filename}"


@dataclass
class Plan:
    """What a mirror run fetches, what is already here, and what it cannot get."""

    wanted: list[Wanted] = field(default_factory=list)
    stored: int = 0
    problems: list[str] = field(default_factory=list)


class Mirror:
    """Plans and fetches the pinned files of lock files into this registry's store."""

    def __init__(self, sources: Sources, fallback: Fallback | None, cache: Cache) -> None:
        self.sources = sources
        self.fallback = fallback
        self.cache = cache

    def plan(self, pins: Iterable[Pin], select: Callable[[str], bool]) -> Plan:
        """The files of ``pins`` that ``select`` keeps and that are not stored yet."""
        plan = Plan()
        for pin in pins:
            try:
                self._plan_pin(plan, pin, select)
            except RegistryError as exc:
                plan.problems.append(f"{pin.project}=={pin.version}: {exc.message}")
        return plan

    def _plan_pin(self, plan: Plan, pin: Pin, select: Callable[[str], bool]) -> None:
        decision = self.sources.decide(pin.project)
        known = decision.serial is not None
        stored = {r.filename: r for r in self.cache.list_files(pin.project)} if known else {}
        if pin.files:
            files = {name: sha for name, sha in pin.files.items() if select(name)}
        elif decision.upstream is not None and self.fallback is not None:
            listed = self.fallback.release_files(decision.upstream, pin.version)
            files = {f.filename: f.sha256 for f in listed if select(f.filename)}
            if pin.hashes:
                files = {name: sha for name, sha in files.items() if sha in pin.hashes}
        else:
            wanted = canonicalize_version(pin.version)
            files = {
                r.filename: r.sha256 for r in stored.values() if canonicalize_version(r.version) == wanted
            }
        if not files:
            plan.problems.append(f"{pin.project}=={pin.version}: no file to mirror (none listed matches)")
        for filename, sha256 in sorted(files.items()):
            self._plan_file(plan, decision.upstream, stored.get(filename), filename, sha256)

    def _plan_file(
        self, plan: Plan, permit: UpstreamPermit | None, stored: FileRecord | None, filename: str, sha256: str
    ) -> None:
        if stored is not None and stored.sha256 == sha256:
            plan.stored += 1
        elif stored is not None:
            plan.problems.append(f"{filename}: a file with another sha256 ({stored.sha256}) is stored here")
        elif not sha256:
            plan.problems.append(f"{filename}: the upstream lists no sha256 to check it against")
        elif permit is None or self.fallback is None:
            plan.problems.append(f"{filename}: not stored here, and the upstream may not be asked for it")
        else:
            plan.wanted.append(Wanted(permit, filename, sha256))

    def fetch(self, wanted: Wanted) -> FileRecord:
        """Fetch, check and store one planned file.

        :raises RegistryError: it could not be fetched, checked or stored (the message says why).
        """
        assert self.fallback is not None  # planned only with a fallback
        return self.fallback.fill(wanted.permit, wanted.filename, wanted.sha256)


# -- choosing files by platform and Python version ------------------------------------------

_LEGACY_LINUX = {
    "manylinux1": "manylinux_2_5",
    "manylinux2010": "manylinux_2_12",
    "manylinux2014": "manylinux_2_17",
}
_VERSIONED = re.compile(r"(manylinux|musllinux|macosx)_(\d+)_(\d+)_(.+)")


def _platform_parts(platform: str) -> tuple[str, tuple[int, int], str] | None:
    for legacy, modern in _LEGACY_LINUX.items():
        if platform.startswith(legacy + "_"):
            platform = modern + platform[len(legacy) :]
    match = _VERSIONED.fullmatch(platform)
    if match is None:
        return None
    return match.group(1), (int(match.group(2)), int(match.group(3))), match.group(4)


def platform_fits(tagged: str, wanted: str) -> bool:
    """Whether a wheel built for ``tagged`` runs on ``wanted`` (a platform tag).

    >>> platform_fits("manylinux2014_x86_64", "manylinux_2_28_x86_64"), platform_fits("win_amd64", "linux")
    (True, False)
    """
    if tagged in ("any", wanted):
        return True
    have, need = _platform_parts(tagged), _platform_parts(wanted)
    if have is None or need is None or have[0] != need[0] or have[1] > need[1]:
        return False
    return have[2] == need[2] or (
        have[0] == "macosx" and have[2] == "universal2" and need[2] in ("arm64", "x86_64")
    )


def python_fits(tag: Tag, version: str) -> bool:
    """Whether a wheel tag's interpreter and ABI run on CPython ``version`` (``3.11``)."""
    major, _, minor = version.partition(".")
    match = re.fullmatch(r"(py|cp)(\d)(\d*)", tag.interpreter)
    if match is None or match.group(2) != major:
        return False
    if not match.group(3):
        return match.group(1) == "py"
    built = int(match.group(3))
    if match.group(1) == "py" or tag.abi == "abi3":
        return built <= int(minor or 0)
    return built == int(minor or 0)


def selector(platforms: tuple[str, ...], pythons: tuple[str, ...]) -> Callable[[str], bool]:
    """Keeps sdists, and wheels with a tag that fits one of ``platforms`` and of ``pythons``
    (either empty: any)."""

    def select(filename: str) -> bool:
        if not filename.endswith(".whl"):
            return True
        try:
            tags = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename:
            return False
        return any(
            (not platforms or any(platform_fits(tag.platform, p) for p in platforms))
            and (not pythons or any(python_fits(tag, v) for v in pythons))
            for tag in tags
        )

    return select
