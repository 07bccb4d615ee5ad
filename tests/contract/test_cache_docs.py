"""The Cache's document API (access data), through the public interface, for every backend
(the ``cache`` fixture in ``conftest.py`` yields each in turn)."""

from __future__ import annotations

import pytest

from registry.cache import Cache
from registry.errors import AlreadyExists
from tests.contract.test_cache import run_parallel


def test_put_get_list_delete(cache: Cache) -> None:
    assert cache.list_docs("user") == {}
    assert cache.get_doc("user", "alice") is None
    cache.put_doc("user", "alice", {"password_hash": "h", "admin": False})
    cache.put_doc("group", "alice", {"members": ["alice"]})
    assert cache.get_doc("user", "alice") == {"password_hash": "h", "admin": False}
    assert cache.list_docs("user") == {"alice": {"password_hash": "h", "admin": False}}
    cache.put_doc("user", "alice", {"password_hash": "h2", "admin": True})
    assert cache.get_doc("user", "alice") == {"password_hash": "h2", "admin": True}
    assert cache.delete_doc("user", "alice") is True
    assert cache.delete_doc("user", "alice") is False
    assert cache.list_docs("user") == {}
    assert cache.list_docs("group") == {"alice": {"members": ["alice"]}}


def test_create_only(cache: Cache) -> None:
    cache.put_doc("token", "abc", {"n": 1}, create_only=True)
    with pytest.raises(AlreadyExists):
        cache.put_doc("token", "abc", {"n": 2}, create_only=True)
    assert cache.get_doc("token", "abc") == {"n": 1}


def test_every_change_moves_the_serial(cache: Cache) -> None:
    seen = [cache.docs_serial()]
    cache.put_doc("perm", "p:user:a", {"x": 1})
    seen.append(cache.docs_serial())
    cache.put_doc("perm", "p:user:a", {"x": 2})
    seen.append(cache.docs_serial())
    cache.delete_doc("perm", "p:user:a")
    seen.append(cache.docs_serial())
    assert len(set(seen)) == 4
    cache.delete_doc("perm", "missing")
    assert cache.docs_serial() == seen[-1]
    assert cache.index_serial() == 0, "documents are not files: the index serial stays"


def test_nested_json_round_trips(cache: Cache) -> None:
    data = {"list": ["a", "b"], "nested": {"n": 1, "none": None}, "text": "é ☃"}
    cache.put_doc("token", "k", data)
    assert cache.get_doc("token", "k") == data


def test_concurrent_creates_have_one_winner(cache: Cache) -> None:
    outcomes = run_parallel(6, lambda n: cache.put_doc("user", "alice", {"n": n}, create_only=True))
    winners = [n for n, outcome in outcomes.items() if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(outcome, AlreadyExists) for outcome in outcomes.values() if outcome is not None)
    assert cache.get_doc("user", "alice") == {"n": winners[0]}


def test_keys_with_unusual_characters(cache: Cache) -> None:
    keys = ["a/b", "..", "__x__", "x.y@example.invalid", "ünï cöde", "p:user:a"]
    for key in keys:
        cache.put_doc("perm", key, {"key": key})
    assert cache.list_docs("perm") == {key: {"key": key} for key in keys}
    assert all(cache.get_doc("perm", key) == {"key": key} for key in keys)
