"""The upstream client's kept pages: refresh interval, background and conditional refresh,
stale copies, one fetch at a time, the shared store, the memory bound."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from registry.errors import NotFound, UpstreamError, UpstreamTimeout
from registry.storage.local import FileStorage
from registry.upstream import KeyedLocks, UpstreamFile, UpstreamIndex, UpstreamProject, redact
from registry.upstream.client import Fetched
from registry.upstream.keeper import packaging_version
from registry.upstream.kept import compact, decode, encode
from registry.upstream.store import PageStore

NOT_MODIFIED = "304"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted(UpstreamIndex):
    """An UpstreamIndex whose fetches follow a script instead of going to the network."""

    def __init__(self, clock: Clock, **kwargs: object) -> None:
        super().__init__("http://bot:pw@127.0.0.1:9/simple/", clock=clock, **kwargs)  # type: ignore[arg-type]
        self.answers: list[UpstreamProject | Exception | str] = []
        self.calls = 0
        self.validators: list[tuple[str, str]] = []

    def fetch_page(self, project: str, etag: str = "", last_modified: str = "") -> Fetched:
        self.calls += 1
        self.validators.append((etag, last_modified))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer == NOT_MODIFIED:
            return Fetched(None, etag, last_modified)
        assert isinstance(answer, UpstreamProject)
        return Fetched(answer, f'"etag-{self.calls}"', "Tue, 01 Dec 2026 10:00:00 GMT")


def page(version: str, files: int = 1) -> UpstreamProject:
    listed = tuple(
        UpstreamFile(f"demo-{version}.{n}.tar.gz", f"http://127.0.0.1:9/f/demo-{version}.{n}.tar.gz")
        for n in range(files)
    )
    return UpstreamProject(name="demo", url="http://127.0.0.1:9/simple/demo/", files=listed)


def versions(index: UpstreamIndex) -> list[str]:
    return [file.filename for file in index.project("demo").files]


def settle(index: UpstreamIndex) -> None:
    """Wait (bounded) for background refreshes to finish."""
    deadline = time.monotonic() + 10
    while index.keeper.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert index.keeper.pending() == 0


def test_redact_removes_credentials_only() -> None:
    assert redact("https://u:p@index.example:8443/simple/?a=1") == "https://index.example:8443/simple/?a=1"
    assert redact("http://127.0.0.1/simple/") == "http://127.0.0.1/simple/"


def test_credentials_go_to_the_upstream_origin_only() -> None:
    index = UpstreamIndex("http://bot:pw@127.0.0.1:9/simple/")
    assert index.url == "http://127.0.0.1:9/simple/"

    def names(url: str) -> set[str]:
        return {name.lower() for name in index._headers(url, {})}

    assert "authorization" in names("http://127.0.0.1:9/packages/x.whl")
    assert "authorization" not in names("http://files.example/x.whl")
    assert "authorization" not in names("http://127.0.0.1:10/x.whl")


def test_an_old_page_is_answered_at_once_and_refreshed_in_the_background() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60)
    index.answers = [page("1"), page("2")]
    assert versions(index) == ["demo-1.0.tar.gz"]
    clock.now += 59
    assert versions(index) == ["demo-1.0.tar.gz"] and index.calls == 1
    clock.now += 2
    assert versions(index) == ["demo-1.0.tar.gz"]  # the kept copy, without waiting
    settle(index)
    assert versions(index) == ["demo-2.0.tar.gz"] and index.calls == 2


def test_wait_for_refresh_makes_the_request_wait_for_the_upstream() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60, wait_for_refresh=True)
    index.answers = [page("1"), page("2")]
    versions(index)
    clock.now += 61
    assert versions(index) == ["demo-2.0.tar.gz"] and index.calls == 2


def test_refreshes_are_conditional_and_a_304_keeps_the_page() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60, wait_for_refresh=True)
    index.answers = [page("1"), NOT_MODIFIED, NOT_MODIFIED]
    first = index.page("demo")
    clock.now += 61
    again = index.page("demo")
    assert index.validators == [("", ""), ('"etag-1"', "Tue, 01 Dec 2026 10:00:00 GMT")]
    assert again.version == first.version and again.checked == clock.now
    clock.now += 30
    assert index.page("demo").version == first.version and index.calls == 2  # fresh again


def test_a_failed_refresh_serves_the_kept_copy_then_backs_off() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60, wait_for_refresh=True)
    index.answers = [page("1"), UpstreamTimeout("slow"), page("3")]
    versions(index)
    clock.now += 61
    assert versions(index) == ["demo-1.0.tar.gz"]  # kept
    clock.now += 10
    assert versions(index) == ["demo-1.0.tar.gz"] and index.calls == 2  # not asked again yet
    clock.now += 30
    assert versions(index) == ["demo-3.0.tar.gz"]


def test_nothing_kept_means_the_error_goes_through_and_misses_are_not_kept() -> None:
    index = Scripted(Clock(), page_ttl=60)
    index.answers = [UpstreamError("down"), NotFound("no"), page("1")]
    with pytest.raises(UpstreamError):
        index.project("demo")
    with pytest.raises(NotFound):
        index.project("demo")
    assert versions(index) == ["demo-1.0.tar.gz"]


def test_a_project_gone_upstream_is_forgotten(tmp_path: Path) -> None:
    store = PageStore(FileStorage(tmp_path), "up")
    index = Scripted(Clock(), page_ttl=0, wait_for_refresh=True, store=store)
    index.answers = [page("1"), NotFound("gone"), UpstreamError("down")]
    index.project("demo")
    settle(index)
    with pytest.raises(NotFound):
        index.project("demo")
    assert store.load("demo") is None
    with pytest.raises(UpstreamError):  # no kept copy to fall back on any more
        index.project("demo")


def test_concurrent_requests_fetch_a_page_once() -> None:
    class Slow(Scripted):
        def fetch_page(self, project: str, etag: str = "", last_modified: str = "") -> Fetched:
            time.sleep(0.2)
            return super().fetch_page(project, etag, last_modified)

    index = Slow(Clock(), page_ttl=60)
    index.answers = [page("1")]
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(index.page("demo").version)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(set(results)) == 1 and len(results) == 6 and index.calls == 1


def test_kept_pages_survive_a_restart_and_are_shared_through_the_store(tmp_path: Path) -> None:
    clock = Clock()
    storage = FileStorage(tmp_path)
    first = Scripted(clock, page_ttl=60, store=PageStore(storage, "up"))
    first.answers = [page("1", files=3)]
    kept = first.page("demo")
    settle(first)  # saved in the background
    second = Scripted(clock, page_ttl=60, store=PageStore(storage, "up"))  # another worker, or a restart
    assert second.page("demo").rows == kept.rows and second.calls == 0
    assert list(storage.list_keys()) == []  # reserved: never taken for package files
    assert len(list(storage.list_keys("_upstream/"))) == 2  # the head and one version


def test_a_refresh_by_another_worker_spares_the_upstream(tmp_path: Path) -> None:
    clock = Clock()
    storage = FileStorage(tmp_path)
    one = Scripted(clock, page_ttl=60, wait_for_refresh=True, store=PageStore(storage, "up"))
    two = Scripted(clock, page_ttl=60, wait_for_refresh=True, store=PageStore(storage, "up"))
    one.answers = [page("1"), page("2")]
    one.page("demo")
    settle(one)
    two.page("demo")  # from the store
    clock.now += 61
    refreshed = one.page("demo")  # one asks the upstream: a new version
    settle(one)
    assert two.page("demo").version == refreshed.version and two.calls == 0
    assert len(list(storage.list_keys("_upstream/up/pages/"))) == 1  # the old version is deleted


def test_memory_is_bounded_in_bytes() -> None:
    index = Scripted(Clock(), page_ttl=60, memory_limit=200_000)
    index.answers = [page(str(n), files=100) for n in range(10)]
    for n in range(10):
        index.page(f"demo{n}")
    use = index.memory.use()
    assert 0 < use.bytes <= 200_000 and use.evicted > 0 and use.entries < 10


def test_the_compact_form_round_trips_and_sorts_files_by_version() -> None:
    listed = UpstreamProject(
        name="Demo",
        url="http://127.0.0.1:9/simple/demo/",
        files=(
            UpstreamFile("demo-10.0.tar.gz", "http://127.0.0.1:9/f/demo-10.0.tar.gz", {"sha256": "a" * 64}),
            UpstreamFile("other-1.0.tar.gz", "http://127.0.0.1:9/f/other-1.0.tar.gz"),
            UpstreamFile("demo-9.0-py3-none-any.whl", "http://127.0.0.1:9/f/d.whl", size=12),
        ),
    )
    kept = compact(listed, "demo", packaging_version, etag='"e"', last_modified="", when=5.0)
    assert [row[0] for row in kept.rows] == [
        "demo-9.0-py3-none-any.whl",
        "demo-10.0.tar.gz",
        "other-1.0.tar.gz",
    ]
    assert [row[10] for row in kept.rows] == ["9.0", "10.0", ""]
    again = decode(encode(kept), kept.version)
    assert again.rows == kept.rows and again.name == "Demo"
    found = again.find("demo-10.0.tar.gz")
    assert found is not None and found.sha256 == "a" * 64 and again.find("other-1.0.tar.gz") is None
    with pytest.raises(UpstreamError):
        decode(b"not gzip", "x")


def test_keyed_locks_time_out_and_forget_idle_keys() -> None:
    locks = KeyedLocks()
    assert locks.acquire("a", timeout=1)
    assert not locks.acquire("a", timeout=0.05)
    assert locks.acquire("b", timeout=0.05)
    locks.release("a")
    locks.release("b")
    assert len(locks) == 0
