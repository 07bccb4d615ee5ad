"""The upstream client's kept pages: time to live, stale copies, one fetch at a time."""

from __future__ import annotations

import threading
import time

import pytest

from registry.errors import NotFound, UpstreamError, UpstreamTimeout
from registry.upstream import KeyedLocks, UpstreamIndex, UpstreamProject, redact


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted(UpstreamIndex):
    """An UpstreamIndex whose fetches follow a script instead of going to the network."""

    def __init__(self, clock: Clock, **kwargs: float) -> None:
        super().__init__("http://bot:pw@127.0.0.1:9/simple/", clock=clock, **kwargs)  # type: ignore[arg-type]
        self.answers: list[UpstreamProject | Exception] = []
        self.calls = 0

    def fetch_project(self, project: str) -> UpstreamProject:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def page(serial: int) -> UpstreamProject:
    return UpstreamProject(name="demo", url="http://127.0.0.1:9/simple/demo/", files=(), serial=serial)


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


def test_pages_are_kept_for_their_ttl() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60)
    index.answers = [page(1), page(2)]
    assert index.project("demo").serial == 1
    clock.now += 59
    assert index.project("demo").serial == 1 and index.calls == 1
    clock.now += 2
    assert index.project("demo").serial == 2 and index.calls == 2


def test_a_failed_refresh_serves_the_stale_copy_then_backs_off() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60)
    index.answers = [page(1), UpstreamTimeout("slow"), page(3)]
    index.project("demo")
    clock.now += 61
    assert index.project("demo").serial == 1  # stale
    clock.now += 10
    assert index.project("demo").serial == 1 and index.calls == 2  # not asked again yet
    clock.now += 30
    assert index.project("demo").serial == 3


def test_nothing_kept_means_the_error_goes_through_and_misses_are_not_kept() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=60)
    index.answers = [UpstreamError("down"), NotFound("no"), page(1)]
    with pytest.raises(UpstreamError):
        index.project("demo")
    with pytest.raises(NotFound):
        index.project("demo")
    assert index.project("demo").serial == 1


def test_a_project_gone_upstream_is_forgotten() -> None:
    clock = Clock()
    index = Scripted(clock, page_ttl=0)
    index.answers = [page(1), NotFound("gone"), UpstreamError("down")]
    index.project("demo")
    with pytest.raises(NotFound):
        index.project("demo")
    with pytest.raises(UpstreamError):  # no stale copy to fall back on any more
        index.project("demo")


def test_concurrent_requests_fetch_a_page_once() -> None:
    class Slow(Scripted):
        def fetch_project(self, project: str) -> UpstreamProject:
            time.sleep(0.2)
            return super().fetch_project(project)

    index = Slow(Clock(), page_ttl=60)
    index.answers = [page(1)]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(index.project("demo").serial)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [1] * 6 and index.calls == 1


def test_keyed_locks_time_out_and_forget_idle_keys() -> None:
    locks = KeyedLocks()
    assert locks.acquire("a", timeout=1)
    assert not locks.acquire("a", timeout=0.05)
    assert locks.acquire("b", timeout=0.05)
    locks.release("a")
    locks.release("b")
    assert len(locks) == 0
