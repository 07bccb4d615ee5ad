"""The upload rules that need stored state: one sdist per release, no filename used again
after its file was deleted, one filename per set of bytes, no new project whose name is
confusable with an existing one's (docs/uploads.md, with the reasons).

Each rule is a claim (``registry.cache.claims``) that an uploaded file takes in the transaction
that records it: ``file:<project>/<filename>``, ``sha256:<hex>``, ``sdist:<project>/<version>``
and ``name:<skeleton>``. A claim already held by another owner refuses the upload, so two
concurrent uploads cannot both pass a rule. ``check`` reads them first, so that a refusal
normally comes before any byte is stored; the add itself is the guard. Deleting an uploaded
file releases its ``sha256:`` and ``sdist:`` claims and turns its ``file:`` claim into a
tombstone, also kept in Storage (``TOMBSTONES``) so that a rebuild restores it.

Files cached from the upstream were accepted by that index: they take no claim, are checked
against none, and leave no tombstone (a pruned cached file may be fetched again).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable

from packaging.utils import NormalizedName
from packaging.version import Version

from ..cache import Cache
from ..cache.claims import Claim, first_conflict
from ..errors import Claimed, InvalidUpload, NotFound
from ..models import FileRecord, utcnow
from ..storage import Storage

#: Storage prefix of tombstone objects (no project name starts with ``_``).
TOMBSTONES = "_tombstones/"
DELETED = "deleted "
#: Held once every record written before claims existed has its claims (``Backfill``).
FILLED = Claim("meta:claims-filled", "yes")
FILL_BATCH = 50
_FOLD = str.maketrans({"1": "l", "i": "l", "0": "o"})


def skeleton(project: NormalizedName) -> str:
    """A project name with separators removed and confusable characters folded.

    >>> skeleton(NormalizedName("pi11ow")) == skeleton(NormalizedName("pillow"))
    True
    >>> skeleton(NormalizedName("req-uests")), skeleton(NormalizedName("f00-bar"))
    ('requests', 'foobar')
    """
    return project.replace("-", "").translate(_FOLD)


def owner_of(record: FileRecord) -> str:
    return f"{record.project}/{record.filename}"


def filename_key(project: NormalizedName, filename: str) -> str:
    return f"file:{project}/{filename}"


def claims_for(record: FileRecord, new_project: bool = True) -> list[Claim]:
    """The claims an uploaded file holds (none for a file cached from the upstream).

    The name's skeleton is claimed by a project's first file only: the rule is about new
    projects, so a project that exists keeps taking uploads even where an older registry
    already held two look-alike names.
    """
    if record.origin:
        return []
    owner = owner_of(record)
    claims = [
        Claim(filename_key(record.project, record.filename), owner),
        Claim(f"sha256:{record.sha256}", owner),
    ]
    if new_project:
        claims.append(Claim(f"name:{skeleton(record.project)}", record.project))
    if record.packagetype == "sdist":
        claims.append(Claim(f"sdist:{record.project}/{Version(record.version)}", owner))
    return claims


def released_by(record: FileRecord) -> list[Claim]:
    """The claims a deleted file gives back (its name stays: ``tombstone``)."""
    return [claim for claim in claims_for(record) if claim.key.startswith(("sha256:", "sdist:"))]


def tombstone(record: FileRecord) -> Claim:
    """The claim that keeps a deleted file's filename from being used again."""
    about = json.dumps({"sha256": record.sha256, "deleted": utcnow().isoformat()}, separators=(",", ":"))
    return Claim(filename_key(record.project, record.filename), DELETED + about)


def tombstone_key(project: NormalizedName, filename: str) -> str:
    """Where a tombstone object lives in Storage."""
    return f"{TOMBSTONES}{project}/{filename}"


def refusal(claimed: Claimed, record: FileRecord) -> InvalidUpload:
    """The 400 an upload gets when one of its claims is held by another owner."""
    kind, _, _rest = claimed.key.partition(":")
    owner = claimed.owner
    if kind == "file" and owner.startswith(DELETED):
        return InvalidUpload(
            f"This filename was previously used by a file that has since been deleted: {record.filename!r} "
            "cannot be used again; upload under a new version instead"
        )
    if kind == "sdist":
        return InvalidUpload(
            f"Only one sdist may be uploaded per release: version {record.version} of {record.project!r} "
            f"already has {owner.partition('/')[2]!r}"
        )
    if kind == "sha256":
        return InvalidUpload(
            f"The same file was already uploaded as {owner.partition('/')[2]!r} (project "
            f"{owner.partition('/')[0]!r}): a file's bytes may be uploaded under one filename only"
        )
    if kind == "name":
        return InvalidUpload(
            f"The project name {record.project!r} is too similar to the existing project {owner!r}: "
            "they differ only in separators or confusable characters (1/l/i, 0/o); choose another name"
        )
    return InvalidUpload(f"The upload conflicts with {owner!r}")


def check(cache: Cache, record: FileRecord) -> list[Claim]:
    """Read the claims ``record`` needs; return them when none is held by another owner.

    :raises InvalidUpload: one is (a tombstone, another sdist, the same bytes, a look-alike name).
    """
    claims = claims_for(record, new_project=cache.project_serial(record.project) is None)
    if not claims:
        return claims
    conflict = first_conflict(claims, cache.get_claims(claim.key for claim in claims))
    if conflict is not None:
        raise refusal(conflict, record)
    return claims


def fill(cache: Cache, records: Iterable[FileRecord]) -> int:
    """Take the claims of records written before claims existed (rebuild, migrate, an import);
    return how many were asked for.

    Create-only and first come first served (oldest upload first): a registry that already
    breaks a rule still loads; the file that comes first keeps the claim, the others hold none.
    """
    ordered = sorted(records, key=lambda record: record.upload_time)
    claims = [claim for record in ordered for claim in claims_for(record)]
    for start in range(0, len(claims), FILL_BATCH):
        cache.set_claims(put=claims[start : start + FILL_BATCH])
    return len(claims)


def fill_all(cache: Cache) -> int:
    """Fill the claims of every recorded file, then mark the Cache as filled (``FILLED``)."""
    records = [record for project in cache.list_projects() for record in cache.list_files(project.name)]
    count = fill(cache, records)
    cache.set_claims(put=[FILLED])
    return count


def fill_from(cache: Cache, storage: Storage, records: Iterable[FileRecord], keys: Iterable[str]) -> int:
    """After a rebuild or a migration: the claims of ``records``, the tombstones among the
    Storage ``keys``, and the mark that the Cache is filled. Returns the claims asked for."""
    count = fill(cache, records) + restore_tombstones(cache, storage, keys)
    cache.set_claims(put=[FILLED])
    return count


class Backfill:
    """Fills the claims of a Cache written before claims existed, once, before the first upload
    that needs them. A process pays one read to learn it is done; the filling is create-only,
    so processes that fill at once agree."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.done = False

    def ensure(self) -> None:
        if self.done:
            return
        if FILLED.key not in self.cache.get_claims([FILLED.key]):
            fill_all(self.cache)
        self.done = True


def lift(cache: Cache, storage: Storage, project: NormalizedName, filename: str) -> str:
    """Lift the tombstone of a deleted file, so its filename may be uploaded again (admins
    only: the command line). Returns what the tombstone said.

    :raises NotFound: the filename has no tombstone.
    """
    key = filename_key(project, filename)
    owner = cache.get_claims([key]).get(key, "")
    if not owner.startswith(DELETED):
        raise NotFound(f"{project}/{filename} has no tombstone: it was not deleted, or never uploaded")
    cache.set_claims(drop=[key])
    storage.delete(tombstone_key(project, filename))
    return owner[len(DELETED) :]


def restore_tombstones(cache: Cache, storage: Storage, keys: Iterable[str]) -> int:
    """Take the tombstone claims kept in Storage (a rebuild: ``keys`` is its listing)."""
    marks = []
    for key in keys:
        if key.startswith(TOMBSTONES):
            with contextlib.suppress(NotFound):
                project, _, filename = key[len(TOMBSTONES) :].partition("/")
                owner = storage.get_meta(key).get("owner", DELETED + "{}")
                marks.append(Claim(filename_key(NormalizedName(project), filename), owner))
    cache.set_claims(put=marks)
    return len(marks)


def claim_replacement(cache: Cache, old: FileRecord, new: FileRecord) -> None:
    """Before replacing ``old`` by ``new`` (``pypi.allow_overwrite``): take the new bytes'
    claim, create-only, so that they too live under one filename.

    :raises InvalidUpload: another file holds the new bytes' claim; nothing was changed.
    """
    claims = claims_for(new, new_project=False)
    cache.set_claims(put=claims)
    conflict = first_conflict(claims, cache.get_claims(claim.key for claim in claims))
    if conflict is not None:
        raise refusal(conflict, new)


def release_replaced(cache: Cache, old: FileRecord) -> None:
    """After a replacement: give back the old bytes' claim, if this file held it."""
    key = f"sha256:{old.sha256}"
    if not old.origin and cache.get_claims([key]).get(key) == owner_of(old):
        cache.set_claims(drop=[key])
