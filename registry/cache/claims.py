"""Claims: small create-only keys the Cache keeps beside the file records.

The upload rules that need stored state (docs/uploads.md) each hold a key: ``file:`` for every
filename ever recorded (a deleted file's stays, as a tombstone), ``sha256:`` for the bytes,
``sdist:`` for a release's one sdist, ``name:`` for a project name's confusable skeleton. A
claim's owner says who holds it (``project/filename``, a project, or a tombstone). A backend
takes claims in the same transaction as the record they belong to (``Cache.add_file``) and
releases them in the one that removes it (``Cache.remove_file``), so two concurrent uploads
cannot both pass a rule. This module only names the pieces; the rules are in
``registry.core.upload_state``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import Claimed

#: Longest claim key a backend must hold: ``file:`` + a 255-character project and filename.
KEY_LENGTH = 600


@dataclass(frozen=True)
class Claim:
    """``key`` held by ``owner``."""

    key: str
    owner: str


def first_conflict(claims: Iterable[Claim], held: Mapping[str, str]) -> Claimed | None:
    """The error for the first claim that ``held`` (key -> owner) gives to another owner.

    >>> first_conflict([Claim("k", "a")], {"k": "a"}) is None
    True
    >>> first_conflict([Claim("k", "a")], {"k": "b"}).owner
    'b'
    """
    for claim in claims:
        owner = held.get(claim.key)
        if owner is not None and owner != claim.owner:
            return Claimed(claim.key, owner)
    return None


def releasable(release: Iterable[Claim], held: Mapping[str, str]) -> list[str]:
    """The keys of ``release`` still held by the owner named there (others are left alone)."""
    return [claim.key for claim in release if held.get(claim.key) == claim.owner]
