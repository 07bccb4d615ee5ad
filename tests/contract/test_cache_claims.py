"""The Cache's claims (``registry.cache.claims``), on every backend in ``conftest.CACHE_TARGETS``.

Claims carry the upload rules that need stored state (docs/uploads.md): taken create-only with
a file's record, released or marked (a tombstone) with its removal. The races show that two
concurrent adds cannot both take one claim, which is what makes each rule hold under load.
"""

from __future__ import annotations

import pytest

from registry.cache import Cache
from registry.cache.claims import Claim
from registry.errors import AlreadyExists, Claimed, NotFound
from tests.contract.test_cache import record, run_parallel


def test_add_file_takes_its_claims(cache: Cache) -> None:
    first = record()
    cache.add_file(first, [Claim("sha256:aa", "demo/a.whl"), Claim("name:demo", "demo")])
    assert cache.get_claims(["sha256:aa", "name:demo", "sha256:bb"]) == {
        "sha256:aa": "demo/a.whl",
        "name:demo": "demo",
    }


def test_a_claim_held_by_another_owner_refuses_the_whole_add(cache: Cache) -> None:
    cache.add_file(record(version="1.0"), [Claim("sha256:aa", "demo/one")])
    second = record(version="2.0")
    with pytest.raises(Claimed) as caught:
        cache.add_file(second, [Claim("name:demo", "demo"), Claim("sha256:aa", "demo/two")])
    assert (caught.value.key, caught.value.owner) == ("sha256:aa", "demo/one")
    assert cache.get_file("demo", second.filename) is None
    assert cache.get_claims(["name:demo"]) == {}  # nothing of the refused add was written
    assert len(cache.list_files("demo")) == 1


def test_a_claim_held_by_the_same_owner_is_kept(cache: Cache) -> None:
    cache.add_file(record(version="1.0"), [Claim("name:demo", "demo")])
    cache.add_file(record(version="2.0"), [Claim("name:demo", "demo")])
    assert cache.get_claims(["name:demo"]) == {"name:demo": "demo"}
    assert len(cache.list_files("demo")) == 2


def test_a_duplicate_record_is_still_already_exists(cache: Cache) -> None:
    first = record()
    claims = [Claim("file:demo/x", "demo/x")]
    cache.add_file(first, claims)
    with pytest.raises(AlreadyExists):
        cache.add_file(first, claims)


def test_remove_file_releases_its_claims_and_marks_a_tombstone(cache: Cache) -> None:
    first = record()
    cache.add_file(first, [Claim("sha256:aa", "demo/x"), Claim("file:demo/x", "demo/x"), Claim("k", "other")])
    cache.set_claims(drop=["k"])
    cache.set_claims(put=[Claim("k", "someone-else")])
    release = [Claim("sha256:aa", "demo/x"), Claim("k", "demo/x")]  # k is not ours: kept
    cache.remove_file("demo", first.filename, release, [Claim("file:demo/x", "deleted 1")])
    assert cache.get_claims(["sha256:aa", "file:demo/x", "k"]) == {
        "file:demo/x": "deleted 1",
        "k": "someone-else",
    }
    assert cache.get_file("demo", first.filename) is None


def test_a_failed_remove_changes_no_claim(cache: Cache) -> None:
    with pytest.raises(NotFound):
        cache.remove_file("demo", "nothing.whl", [], [Claim("file:demo/nothing.whl", "deleted")])
    assert cache.get_claims(["file:demo/nothing.whl"]) == {}


def test_set_claims_is_create_only_and_drop_lifts_any_holder(cache: Cache) -> None:
    cache.set_claims(put=[Claim("a", "one"), Claim("b", "one")])
    cache.set_claims(put=[Claim("a", "two"), Claim("c", "two")])
    assert cache.get_claims(["a", "b", "c"]) == {"a": "one", "b": "one", "c": "two"}
    cache.set_claims(drop=["a", "missing"])
    assert cache.get_claims(["a", "b"]) == {"b": "one"}


def test_long_keys_fit(cache: Cache) -> None:
    key = "file:" + "p" * 255 + "/" + "f" * 255
    cache.set_claims(put=[Claim(key, "x" * 600)])
    assert cache.get_claims([key]) == {key: "x" * 600}


def test_eight_concurrent_adds_claiming_one_key_have_exactly_one_winner(cache: Cache) -> None:
    """Eight files of eight projects with the same bytes (or the same skeleton): one is recorded."""
    files = [record(project=f"p{n}") for n in range(8)]
    outcomes = run_parallel(8, lambda n: cache.add_file(files[n], [Claim("sha256:same", f"p{n}/f")]))
    winners = [n for n, outcome in outcomes.items() if outcome is None]
    assert len(winners) == 1, outcomes
    losers = [outcome for outcome in outcomes.values() if outcome is not None]
    assert all(isinstance(outcome, Claimed) for outcome in losers), losers
    assert all(outcome.owner == f"p{winners[0]}/f" for outcome in losers if isinstance(outcome, Claimed))
    assert cache.get_claims(["sha256:same"]) == {"sha256:same": f"p{winners[0]}/f"}
    assert [summary.name for summary in cache.list_projects()] == [f"p{winners[0]}"]


def test_concurrent_re_adds_of_a_deleted_filename_are_all_refused(cache: Cache) -> None:
    """Four re-adds of a tombstoned filename at once: none gets through."""
    old = record()
    key = "file:demo/" + old.filename
    cache.add_file(old.with_changes(version="0.9", filename="demo-0.9.tar.gz"), [])
    cache.add_file(old, [Claim(key, "demo/" + old.filename)])
    cache.remove_file("demo", old.filename, [], [Claim(key, "deleted")])
    outcomes = run_parallel(4, lambda n: cache.add_file(old, [Claim(key, "demo/" + old.filename)]))
    assert all(isinstance(outcome, Claimed) for outcome in outcomes.values()), outcomes
    assert cache.get_file("demo", old.filename) is None
