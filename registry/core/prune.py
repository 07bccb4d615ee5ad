"""Retention (``python -m registry prune``): which stored files may go, by rules an admin picks.

For files cached from the upstream: not used for N days (``lastuse``), beyond the newest N
versions of their project, and, last, the least recently used ones while the cached files
together are over a size budget. When asked, uploaded pre-releases and dev releases older
than N days. A plan is made first (what would go, and why); deleting is a separate step, each
file through ``FilePipeline.delete`` (bytes, metadata file, then record). A cached file is
fetched again on its next download, as long as the upstream still has it.

A cached file with no recorded use (cached before uses were recorded) is never judged unused:
applying a plan records today for it, so it is judged from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from ..cache import Cache
from ..errors import RegistryError
from ..models import FileRecord, utcnow, version_sort_key
from .lastuse import LastUse
from .pipeline import FilePipeline


@dataclass(frozen=True)
class Rules:
    """What may go (None: that rule is off)."""

    unused_days: int | None = None
    keep_versions: int | None = None
    max_bytes: int | None = None
    prerelease_days: int | None = None


@dataclass(frozen=True)
class Doomed:
    record: FileRecord
    reason: str


@dataclass
class PrunePlan:
    doomed: list[Doomed] = field(default_factory=list)
    unknown: dict[NormalizedName, list[str]] = field(default_factory=dict)  # cached, no use recorded

    @property
    def bytes(self) -> int:
        return sum(item.record.size for item in self.doomed)


class Pruner:
    """Plans and applies the deletions the rules call for."""

    def __init__(
        self, cache: Cache, pipeline: FilePipeline, last_use: LastUse, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.cache = cache
        self.pipeline = pipeline
        self.last_use = last_use
        self.clock = clock

    def plan(self, rules: Rules) -> PrunePlan:
        """What the rules would delete (reads every project's records: a batch job)."""
        plan, used = PrunePlan(), self.last_use.recorded()
        cached: list[tuple[str, FileRecord]] = []  # (last use, record), for the size budget
        for summary in self.cache.list_projects():
            records = self.cache.list_files(summary.name)
            days = used.get(summary.name, {})
            mine = [r for r in records if r.origin]
            plan.unknown.update(
                {summary.name: [r.filename for r in mine if r.filename not in days]} if mine else {}
            )
            if not plan.unknown.get(summary.name):
                plan.unknown.pop(summary.name, None)
            kept = self._cached_rules(plan, rules, mine, days)
            cached += [(days.get(r.filename, "9999-99-99"), r) for r in kept]
            self._prerelease_rule(plan, rules, [r for r in records if not r.origin])
        if rules.max_bytes is not None:
            total = sum(record.size for _, record in cached)
            for _, record in sorted(cached, key=lambda item: (item[0], item[1].filename)):
                if total <= rules.max_bytes:
                    break
                plan.doomed.append(
                    Doomed(record, f"over the {rules.max_bytes}-byte budget (least recently used)")
                )
                total -= record.size
        return plan

    def _cached_rules(
        self, plan: PrunePlan, rules: Rules, records: list[FileRecord], days: dict[str, str]
    ) -> list[FileRecord]:
        """Apply the unused and newest-versions rules; the records that stay."""
        doomed: dict[str, str] = {}
        if rules.unused_days is not None:
            limit = (self.clock() - timedelta(days=rules.unused_days)).date().isoformat()
            for record in records:
                last = days.get(record.filename)
                if last is not None and last < limit:
                    doomed[record.filename] = f"not used for {rules.unused_days} days (last {last})"
        if rules.keep_versions is not None:
            versions = sorted({r.version for r in records}, key=version_sort_key, reverse=True)
            old = set(versions[rules.keep_versions :])
            for record in records:
                if record.version in old:
                    doomed.setdefault(
                        record.filename, f"older than the newest {rules.keep_versions} versions"
                    )
        plan.doomed += [Doomed(r, doomed[r.filename]) for r in records if r.filename in doomed]
        return [r for r in records if r.filename not in doomed]

    def _prerelease_rule(self, plan: PrunePlan, rules: Rules, uploads: Iterable[FileRecord]) -> None:
        if rules.prerelease_days is None:
            return
        limit = self.clock() - timedelta(days=rules.prerelease_days)
        for record in uploads:
            try:
                early = Version(record.version).is_prerelease  # dev releases included
            except InvalidVersion:
                continue
            if early and record.upload_time < limit:
                reason = f"an uploaded pre-release older than {rules.prerelease_days} days"
                plan.doomed.append(Doomed(record, reason))

    def apply(self, plan: PrunePlan, progress: Callable[[Doomed], None] = lambda _: None) -> list[str]:
        """Delete the planned files; record today for cached files with no recorded use.
        Returns what could not be deleted (deleted meanwhile, a backend failure)."""
        gone: dict[NormalizedName, list[str]] = {}
        failed = []
        for item in plan.doomed:
            try:
                self.pipeline.delete(item.record)
            except RegistryError as exc:
                failed.append(f"{item.record.project}: {item.record.filename}: {exc.message}")
                continue
            gone.setdefault(item.record.project, []).append(item.record.filename)
            progress(item)
        today = self.clock().date().isoformat()
        for project in set(gone) | set(plan.unknown):
            first_seen = {
                name: today for name in plan.unknown.get(project, []) if name not in gone.get(project, [])
            }
            self.last_use.set_days(project, first_seen, forget=gone.get(project, []))
        return failed
