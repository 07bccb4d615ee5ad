"""The ``dynamo`` backend's claims (``registry.cache.claims``).

``claim#<key>`` / ``claim`` holds one claim's owner. ``add_file`` puts every claim in its own
transaction with the condition "absent, or already this owner's": of two uploads racing for one
key, DynamoDB cancels one transaction, whose claim is then read to name the winner. Releases
are deletes conditioned on the owner, in the removal's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..errors import Claimed
from .claims import Claim, releasable
from .dynamo_layout import Item, S, key
from .dynamo_table import DynamoTable, Retry

_OWNER = {"#o": "owner"}


def claim_key(name: str) -> Item:
    return key(f"claim#{name}", "claim")


class _Held(Exception):
    """A create-only claim found its key taken (``set_claims`` keeps it)."""


class DynamoClaims:
    """Claims kept as small items in the backend's one table."""

    table: DynamoTable

    def get_claims(self, keys: Iterable[str]) -> dict[str, str]:
        held: dict[str, str] = {}
        for name in dict.fromkeys(keys):
            item = self.table.get("get_claims", claim_key(name), ("owner",))
            if item is not None:
                held[name] = item["owner"]["S"]
        return held

    def _claim_items(
        self, claims: Sequence[Claim], start: int
    ) -> tuple[list[Item], dict[int, Callable[[], Exception]]]:
        """Conditional puts of ``claims``, and what a failed condition at ``start + n`` means."""
        unique = list({claim.key: claim for claim in claims}.values())
        items: list[Item] = []
        failures: dict[int, Callable[[], Exception]] = {}
        for n, claim in enumerate(unique):
            stored = {**claim_key(claim.key), "owner": S(claim.owner)}
            condition = "attribute_not_exists(pk) OR #o = :o"
            values = {":o": S(claim.owner)}
            put = {"TableName": self.table.name, "Item": stored, "ConditionExpression": condition}
            items.append(
                {"Put": {**put, "ExpressionAttributeNames": _OWNER, "ExpressionAttributeValues": values}}
            )
            failures[start + n] = self._loser(claim)
        return items, failures

    def _loser(self, claim: Claim) -> Callable[[], Exception]:
        def explain() -> Exception:
            owner = self.get_claims([claim.key]).get(claim.key)
            return Claimed(claim.key, owner) if owner is not None and owner != claim.owner else Retry()

        return explain

    def _release_items(self, release: Sequence[Claim], mark: Sequence[Claim]) -> list[Item]:
        """Deletes of ``release`` claims still held by their owner, and puts of ``mark``."""
        marked = {claim.key: claim for claim in mark}
        held = self.get_claims(claim.key for claim in release) if release else {}
        items: list[Item] = []
        for name in releasable(release, held):
            if name not in marked:
                delete = {
                    "TableName": self.table.name,
                    "Key": claim_key(name),
                    "ConditionExpression": "#o = :o",
                }
                values = {":o": S(held[name])}
                items.append(
                    {
                        "Delete": {
                            **delete,
                            "ExpressionAttributeNames": _OWNER,
                            "ExpressionAttributeValues": values,
                        }
                    }
                )
        for claim in marked.values():
            items.append(
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": {**claim_key(claim.key), "owner": S(claim.owner)},
                    }
                }
            )
        return items

    def set_claims(self, put: Sequence[Claim] = (), drop: Sequence[str] = ()) -> None:
        for name in dict.fromkeys(drop):
            self.table.commit(
                "set_claims", [{"Delete": {"TableName": self.table.name, "Key": claim_key(name)}}], {}
            )
        for claim in {claim.key: claim for claim in put}.values():
            stored = {**claim_key(claim.key), "owner": S(claim.owner)}
            put_item = {
                "TableName": self.table.name,
                "Item": stored,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            try:
                self.table.commit("set_claims", [{"Put": put_item}], {0: _Held})
            except _Held:
                continue
