"""The ``firestore`` backend's claims (``registry.cache.claims``).

``<ns>_claims/<key>`` holds one claim: its key and owner. ``add_file`` creates its claims in
the batch that creates the file document, without reading them first: of two uploads racing
for one key, the second ``create`` fails the whole batch, and the claims are read to name the
winner (or, when the same owner holds them, the add is tried again without them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from google.api_core import exceptions as google_errors

from ..errors import BackendUnavailable
from .claims import Claim, first_conflict, releasable
from .firestore_client import FirestoreClient
from .firestore_encoding import doc_id


class FirestoreClaims(FirestoreClient):
    """Claims kept as small documents beside the file records."""

    def _claim_doc(self, key: str) -> Any:
        return self._collection("claims").document(doc_id(key))

    def get_claims(self, keys: Iterable[str]) -> dict[str, str]:
        refs = [self._claim_doc(key) for key in dict.fromkeys(keys)]
        if not refs:
            return {}
        with self._errors("get_claims"):
            snapshots = list(self._db().get_all(refs))
        self._count("get_claims", reads=len(refs))
        return {s.get("key"): s.get("owner") for s in snapshots if s.exists}

    def _take_claims(self, batch: Any, claims: Sequence[Claim]) -> None:
        """Add the creates of ``claims`` to ``batch``, without reading: the common case (no
        claim held yet) costs no read; a failed create is sorted out by ``_free_claims``."""
        for claim in {claim.key: claim for claim in claims}.values():
            batch.create(self._claim_doc(claim.key), {"key": claim.key, "owner": claim.owner})

    def _free_claims(self, claims: Sequence[Claim]) -> list[Claim]:
        """After a failed create: the claims nobody holds (those the same owner holds need
        no write).

        :raises Claimed: one is held by another owner.
        """
        held = self.get_claims(claim.key for claim in claims) if claims else {}
        conflict = first_conflict(claims, held)
        if conflict is not None:
            raise conflict
        return [claim for claim in claims if claim.key not in held]

    def _change_claims(self, batch: Any, release: Sequence[Claim], mark: Sequence[Claim]) -> None:
        """Add the deletes of ``release`` claims still held by their owner, and the writes of
        ``mark``, to ``batch``."""
        held = self.get_claims(claim.key for claim in release) if release else {}
        marked = {claim.key for claim in mark}
        for key in releasable(release, held):
            if key not in marked:
                batch.delete(self._claim_doc(key))
        for claim in mark:
            batch.set(self._claim_doc(claim.key), {"key": claim.key, "owner": claim.owner})

    def set_claims(self, put: Sequence[Claim] = (), drop: Sequence[str] = ()) -> None:
        for key in drop:
            batch = self._db().batch()
            batch.delete(self._claim_doc(key))
            self._commit("set_claims", batch)
        for claim in {claim.key: claim for claim in put}.values():
            batch = self._db().batch()
            batch.create(self._claim_doc(claim.key), {"key": claim.key, "owner": claim.owner})
            try:
                self._commit("set_claims", batch)
            except BackendUnavailable as exc:
                if not isinstance(exc.__cause__, google_errors.AlreadyExists):
                    raise  # else held already: a held claim is kept
