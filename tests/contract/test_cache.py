"""The Cache contract, run against every backend and database in ``conftest.CACHE_TARGETS``.

Only the public interface is used, so a backend passes by behaving, not by how it is built.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from registry.cache import BACKENDS, Cache
from registry.errors import AlreadyExists, NotFound
from registry.models import FileRecord
from tests.contract.conftest import CACHE_TARGETS


def record(project: str = "demo", version: str = "1.0", filename: str = "", **changes: object) -> FileRecord:
    filename = filename or f"{project.replace('-', '_')}-{version}-py3-none-any.whl"
    base = FileRecord(
        project=project,
        version=version,
        filename=filename,
        packagetype="bdist_wheel",
        size=1234,
        sha256=hashlib.sha256(filename.encode()).hexdigest(),
        md5="0" * 32,
        blake2b_256="1" * 64,
        requires_python=">=3.9",
        upload_time=datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=UTC),
        uploader="alice",
        metadata_sha256="2" * 64,
        python_version="py3",
        info={
            "name": project.title(),
            "summary": "Ünïcode summary ✓",
            "requires_dist": ["requests>=2", 'tomli; python_version < "3.11"'],
            "classifiers": ["Programming Language :: Python :: 3"],
            "project_urls": {"Homepage": "https://example.invalid/"},
        },
    )
    return base.with_changes(**changes)


def run_parallel(count: int, work: Callable[[int], object]) -> dict[int, object]:
    """Run ``work(n)`` for n in range(count) on as many threads at once; outcome or exception."""
    outcomes: dict[int, object] = {}
    start = threading.Barrier(count)

    def run(number: int) -> None:
        start.wait()
        try:
            outcomes[number] = work(number)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcomes[number] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_new_cache_is_empty(cache: Cache) -> None:
    assert cache.is_empty()
    assert cache.list_projects() == []
    assert cache.list_files("demo") == []
    assert cache.get_file("demo", "demo-1.0.tar.gz") is None
    assert cache.project_serial("demo") is None
    cache.check_health()


def test_records_round_trip(cache: Cache) -> None:
    wheel = record()
    sdist = record(filename="demo-1.0.tar.gz", packagetype="sdist", yanked=True, yanked_reason="broken")
    cache.add_file(wheel)
    cache.add_file(sdist)
    assert cache.get_file("demo", wheel.filename) == wheel
    assert cache.get_file("demo", sdist.filename) == sdist
    assert sorted(cache.list_files("demo"), key=lambda r: r.packagetype) == [wheel, sdist]
    assert not cache.is_empty()


def test_a_record_with_default_fields_round_trips(cache: Cache) -> None:
    plain = FileRecord(
        project="plain",
        version="0.1",
        filename="plain-0.1.tar.gz",
        packagetype="sdist",
        size=1,
        sha256="f" * 64,
    )
    cache.add_file(plain)
    assert cache.get_file("plain", plain.filename) == plain


def test_add_is_create_only(cache: Cache) -> None:
    first = record()
    cache.add_file(first)
    with pytest.raises(AlreadyExists):
        cache.add_file(first.with_changes(sha256="e" * 64, uploader="mallory"))
    assert cache.get_file("demo", first.filename) == first
    assert len(cache.list_files("demo")) == 1


def test_every_cache_backend_has_a_contract_target() -> None:
    assert {target.split("-")[0] for target in CACHE_TARGETS} == set(BACKENDS)


def test_sixteen_concurrent_adds_of_one_filename_have_exactly_one_winner(cache: Cache) -> None:
    candidates = [record(sha256=f"{n:064x}", uploader=f"user{n}") for n in range(16)]
    outcomes = run_parallel(16, lambda n: cache.add_file(candidates[n]))
    winners = [n for n, outcome in outcomes.items() if outcome is None]
    losers = [outcome for outcome in outcomes.values() if outcome is not None]
    assert len(winners) == 1, outcomes
    assert all(isinstance(outcome, AlreadyExists) for outcome in losers), losers
    assert cache.list_files("demo") == [candidates[winners[0]]]


def test_thirty_parallel_adds_to_one_project_all_land(cache: Cache) -> None:
    records = [record(version=f"1.{n}") for n in range(30)]
    outcomes = run_parallel(30, lambda n: cache.add_file(records[n]))
    assert [o for o in outcomes.values() if o is not None] == []
    assert sorted(cache.list_files("demo"), key=lambda r: r.filename) == sorted(
        records, key=lambda r: r.filename
    )
    assert [p.name for p in cache.list_projects()] == ["demo"]


def test_list_projects_shows_display_names(cache: Cache) -> None:
    cache.add_file(record("zope-interface", info={"name": "zope.interface"}))
    cache.add_file(record("demo"))
    cache.add_file(record("demo", "2.0"))
    projects = {p.name: p.display_name for p in cache.list_projects()}
    assert projects == {"zope-interface": "zope.interface", "demo": "Demo"}


def test_project_serial_changes_on_every_change_and_only_then(cache: Cache) -> None:
    first = record()
    cache.add_file(first)
    after_add = cache.project_serial("demo")
    assert after_add is not None
    cache.list_files("demo")
    cache.get_file("demo", first.filename)
    assert cache.project_serial("demo") == after_add
    cache.add_file(record(version="2.0"))
    after_second = cache.project_serial("demo")
    cache.update_files([first.with_changes(yanked=True)])
    after_yank = cache.project_serial("demo")
    cache.remove_file("demo", first.filename)
    after_remove = cache.project_serial("demo")
    serials = [after_add, after_second, after_yank, after_remove]
    assert None not in serials
    assert len(set(serials)) == 4, serials


def test_other_projects_keep_their_serial(cache: Cache) -> None:
    cache.add_file(record("quiet"))
    quiet = cache.project_serial("quiet")
    cache.add_file(record("busy"))
    cache.update_files([record("busy", yanked=True)])
    assert cache.project_serial("quiet") == quiet


def test_index_serial_changes_with_any_project(cache: Cache) -> None:
    seen = [cache.index_serial()]
    cache.add_file(record("one"))
    seen.append(cache.index_serial())
    cache.add_file(record("two"))
    seen.append(cache.index_serial())
    assert cache.index_serial() == seen[-1]  # reading changes nothing
    cache.update_files([record("one", yanked=True)])
    seen.append(cache.index_serial())
    cache.remove_file("two", record("two").filename)
    seen.append(cache.index_serial())
    assert len(set(seen)) == len(seen), seen


def test_a_project_created_again_gets_a_new_serial(cache: Cache) -> None:
    # A page cached for the old project must never be served for the new one.
    old = record()
    cache.add_file(old)
    old_serial = cache.project_serial("demo")
    cache.remove_file("demo", old.filename)
    assert cache.project_serial("demo") is None
    cache.add_file(record(version="9.0"))
    assert cache.project_serial("demo") not in (None, old_serial)


def test_update_files_replaces_records(cache: Cache) -> None:
    files = [record(version="1.0"), record(version="1.1"), record("other")]
    for item in files:
        cache.add_file(item)
    yanked = [files[0].with_changes(yanked=True, yanked_reason="bad"), files[2].with_changes(yanked=True)]
    cache.update_files(yanked)
    assert cache.get_file("demo", files[0].filename) == yanked[0]
    assert cache.get_file("demo", files[1].filename) == files[1]
    assert cache.get_file("other", files[2].filename) == yanked[1]
    assert sorted(cache.list_files("demo"), key=lambda r: r.version) == [yanked[0], files[1]]


def test_update_files_is_all_or_nothing(cache: Cache) -> None:
    present = record()
    cache.add_file(present)
    serial = cache.project_serial("demo")
    with pytest.raises(NotFound):
        cache.update_files([present.with_changes(yanked=True), record(version="404")])
    assert cache.get_file("demo", present.filename) == present
    assert cache.get_file("demo", record(version="404").filename) is None
    assert cache.project_serial("demo") == serial


def test_remove_file(cache: Cache) -> None:
    keep, drop = record(version="1.0"), record(version="2.0")
    cache.add_file(keep)
    cache.add_file(drop)
    cache.remove_file("demo", drop.filename)
    assert cache.get_file("demo", drop.filename) is None
    assert cache.list_files("demo") == [keep]
    with pytest.raises(NotFound):
        cache.remove_file("demo", drop.filename)
    cache.add_file(drop)  # a removed filename may be recorded again
    assert cache.get_file("demo", drop.filename) == drop


def test_removing_the_last_file_removes_the_project(cache: Cache) -> None:
    only, other = record(), record("other")
    cache.add_file(only)
    cache.add_file(other)
    cache.remove_file("demo", only.filename)
    assert [p.name for p in cache.list_projects()] == ["other"]
    assert cache.list_files("demo") == []
    assert cache.project_serial("demo") is None
    cache.remove_file("other", other.filename)
    assert cache.is_empty()


def test_parallel_removes_and_adds_keep_the_project_consistent(cache: Cache) -> None:
    old = [record(version=f"1.{n}") for n in range(6)]
    new = [record(version=f"2.{n}") for n in range(6)]
    for item in old:
        cache.add_file(item)

    def work(n: int) -> None:
        if n % 2:
            cache.remove_file("demo", old[n // 2].filename)
        else:
            cache.add_file(new[n // 2])

    outcomes = run_parallel(12, work)
    assert [o for o in outcomes.values() if o is not None] == []
    assert sorted(r.filename for r in cache.list_files("demo")) == sorted(r.filename for r in new)
    assert [p.name for p in cache.list_projects()] == ["demo"]


# Access data (users, groups, permissions, tokens): test_cache_docs.py.


def test_a_burst_of_new_projects_all_land_and_are_listed(cache: Cache) -> None:
    # A cold proxy fills many new projects at once (each a first add: header and index entry).
    names = [f"burst-{n}" for n in range(60)]
    serial = cache.index_serial()
    failures: list[BaseException] = []

    def add(name: str) -> None:
        try:
            cache.add_file(record(name))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(p.name for p in cache.list_projects()) == sorted(names)
    assert cache.index_serial() != serial
