"""The shared pages' folder on a real filesystem, and the database identity it is named by
(a real SQLite database)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from registry.cache.sqlite import SQLiteCache
from registry.core.identity import database_id
from registry.web.pages import Page
from registry.web.shared_pages import MIN_SIZE, SharedPages, _decode, _encode, stable_text

BIG = Page.build(b'{"files":[' + b'{"filename":"x"},' * (MIN_SIZE // 10) + b"{}]}", "application/json")


def shared(
    root: Path, limit: int = 64 * 1024 * 1024, identity: str = "db-1", settings: str = "s"
) -> SharedPages:
    return SharedPages(root, limit, lambda: identity, settings)


def test_only_plain_versions_are_named() -> None:
    assert stable_text((("fallback", "lib"), (12, "abc", (3,)))) == stable_text(
        (("fallback", "lib"), (12, "abc", (3,)))
    )
    assert stable_text((1, "1")) != stable_text((1, 1))
    assert stable_text((1, frozenset({"a", "b"}))) is None  # a set's order differs between processes
    assert stable_text((1, object())) is None


def test_a_page_round_trips_and_damage_is_refused() -> None:
    data = _encode(BIG, b"gzip-bytes")
    assert _decode(data) == (BIG, b"gzip-bytes")
    for damaged in (data[:-1], data + b"x", data.replace(b'"filename"', b'"fi1ename"', 1), b"other" + data):
        assert _decode(damaged) is None


def test_pages_are_found_by_key_version_database_and_settings(tmp_path: Path) -> None:
    pages = shared(tmp_path / "pages")
    assert pages.get(("k", "json"), (1, "v")) is None
    gzipped = pages.put(("k", "json"), (1, "v"), BIG)
    assert gzipped is not None
    assert pages.get(("k", "json"), (1, "v")) == (BIG, gzipped)
    assert shared(tmp_path / "pages").get(("k", "json"), (1, "v")) == (BIG, gzipped)  # another worker
    assert pages.get(("k", "json"), (2, "v")) is None
    assert shared(tmp_path / "pages", identity="db-2").get(("k", "json"), (1, "v")) is None
    assert shared(tmp_path / "pages", settings="t").get(("k", "json"), (1, "v")) is None


def test_small_or_unnamable_pages_are_not_kept(tmp_path: Path) -> None:
    pages = shared(tmp_path / "pages")
    assert pages.put(("k", "json"), 1, Page.build(b"{}", "application/json")) is None
    assert pages.put(("k", "json"), (1, frozenset({"a"})), BIG) is None
    assert not any((tmp_path / "pages").glob("*/*"))


def test_a_folder_others_may_write_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "pages"
    root.mkdir(mode=0o777)
    os.chmod(root, 0o777)
    pages = shared(root)
    assert pages.put(("k", "json"), 1, BIG) is None  # left to the usual gzip of the answer
    assert pages.get(("k", "json"), 1) is None
    assert list(root.iterdir()) == []


def test_an_unreadable_identity_shares_nothing_and_is_asked_again_later(tmp_path: Path) -> None:
    from registry.errors import BackendUnavailable

    asked = []

    def identity() -> str:
        asked.append(1)
        raise BackendUnavailable("database down")

    pages = SharedPages(tmp_path / "pages", 1 << 30, identity, "s")
    assert pages.get(("k",), 1) is None and pages.get(("k",), 1) is None
    assert len(asked) == 1  # not on every request


def test_the_least_recently_used_go_first(tmp_path: Path) -> None:
    pages = shared(tmp_path / "pages", limit=10 * len(BIG.body))
    for number in range(3):
        pages.put(("k", number), 1, BIG)
    old = time.time() - 3600
    files = sorted((tmp_path / "pages").glob("*/*"))
    for path in files:
        os.utime(path, (old, old))
    pages.get(("k", 0), 1)  # used now: kept
    one = files[0].stat().st_size
    pages.limit = int(one * 2.5)
    pages.sweep()
    assert pages.get(("k", 0), 1) is not None
    assert sum(1 for number in range(3) if pages.get(("k", number), 1) is not None) == 1
    (tmp_path / "pages" / "emptied").mkdir()  # another database's folder, all its pages gone
    pages.sweep()
    assert not (tmp_path / "pages" / "emptied").exists() and files[0].parent.exists()


def test_the_database_identity_is_made_once(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "db.sqlite3")
    first = database_id(cache)
    assert database_id(SQLiteCache(tmp_path / "db.sqlite3")) == first
    assert database_id(SQLiteCache(tmp_path / "other.sqlite3")) != first


@pytest.mark.parametrize("size", [0, 1])
def test_nothing_is_shared_within_a_zero_limit(tmp_path: Path, size: int) -> None:
    pages = shared(tmp_path / "pages", limit=size)
    pages.put(("k",), 1, BIG)
    assert pages.get(("k",), 1) is None
