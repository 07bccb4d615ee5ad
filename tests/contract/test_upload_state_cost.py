"""The cost of the stored-state upload rules on every Cache backend (``bench/upload_state.py``).

Run with ``-s`` to see the table (docs/uploads.md quotes it). The assertions bound the extra
billed operations on the backends that count them, so a change that adds a round trip per
upload shows up here.
"""

from __future__ import annotations

import pytest

from bench.upload_state import measure, table
from registry.cache import Cache

ROUNDS = 12


def test_the_rules_cost_a_bounded_number_of_extra_operations(
    cache: Cache, request: pytest.FixtureRequest
) -> None:
    results = measure(cache, ROUNDS)
    print("\n" + table({request.node.callspec.id: results}))
    before, rules = results["before"], results["rules"]
    if before["upload writes"]:  # Firestore and DynamoDB count billed operations
        assert rules["upload reads"] - before["upload reads"] <= 4
        assert rules["upload writes"] - before["upload writes"] <= 4
        assert rules["delete reads"] - before["delete reads"] <= 2
        assert rules["delete writes"] - before["delete writes"] <= 3
    assert rules["upload ms"] < before["upload ms"] * 5 + 50
