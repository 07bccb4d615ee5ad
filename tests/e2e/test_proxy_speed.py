"""A warm proxy never waits on the upstream: kept pages in the Storage (across restarts and
workers), conditional background refresh, the shared circuit breaker, the memory bound,
gzip, and the access log's sizes. Real gunicorn servers, real upstreams on loopback.

The upstream is a second registry (it answers PEP 691 JSON with ETags and 304s, and its
access log is set to show ``If-None-Match``), pypiserver, or ``SilentServer`` (accepts
connections and never answers).
"""

from __future__ import annotations

import gzip
import http.client
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from registry.upstream.store import space_of
from tests.conftest import upload_dist
from tests.distributions import Dist
from tests.server import ADMIN, RegistryServer, base_settings
from tests.upstream import PypiServer, SilentServer

pytestmark = pytest.mark.e2e

JSON = "application/vnd.pypi.simple.v1+json"
LOGGED_CONDITIONS = ["--access-logformat", '"%(r)s" %(s)s inm=%({if-none-match}i)s']


def proxy_settings(upstream_url: str, **extra: str) -> dict[str, str]:
    return {
        "pypi.fallback": "cache",
        "pypi.fallback_url": upstream_url,
        "pypi.cache_update": "everyone",
        **extra,
    }


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_until_stored(registry: RegistryServer, project: str) -> None:
    """Pages are written to the Storage in the background, just after they are served; under a
    folder of the upstream's own (a second upstream keeps its own pages)."""
    storage = registry.services().storage
    head = f"_upstream/{space_of(registry.settings['pypi.fallback_url'])}/heads/{project}"
    wait_for(lambda: head in set(storage.list_keys("_upstream/")), "the page stored")
    assert not any(key.startswith("_upstream/") for key in storage.list_keys())  # rebuild never sees it


def filenames(answer: requests.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {entry["filename"] for entry in answer.json()["files"]}


@pytest.fixture
def pypiserver(tmp_path: Path) -> Iterator[PypiServer]:
    upstream = PypiServer(tmp_path / "upstream-files").start()
    yield upstream
    upstream.stop()


def test_kept_pages_survive_a_restart_with_the_upstream_gone(pypiserver: PypiServer, tmp_path: Path) -> None:
    pypiserver.add(Dist("kept-lib", "1.0"))
    pypiserver.add(Dist("kept-lib", "2.0"))
    registry = RegistryServer(
        proxy_settings(pypiserver.url) | base_settings(tmp_path / "data"), tmp_path / "logs"
    )
    registry.start()
    try:
        before = filenames(registry.get("simple/kept-lib/", headers={"Accept": JSON}))
        assert len(before) == 4
        wait_until_stored(registry, "kept-lib")
    finally:
        registry.stop()
    pypiserver.stop()
    registry.start()  # same Storage, nothing in memory, no upstream
    try:
        assert filenames(registry.get("simple/kept-lib/", headers={"Accept": JSON})) == before
        html = registry.get("simple/kept-lib/").text
        assert "kept_lib-2.0-py3-none-any.whl" in html
    finally:
        registry.stop()


def test_workers_share_kept_pages(pypiserver: PypiServer, make_server: Callable[..., RegistryServer]) -> None:
    pypiserver.add(Dist("shared-lib", "1.0"))
    registry = make_server(**proxy_settings(pypiserver.url))  # two workers
    first = filenames(registry.get("simple/shared-lib/", headers={"Accept": JSON}))
    wait_until_stored(registry, "shared-lib")
    pypiserver.stop()
    with ThreadPoolExecutor(8) as pool:  # both workers answer some of these
        answers = list(
            pool.map(lambda _: registry.get("simple/shared-lib/", headers={"Accept": JSON}), range(24))
        )
    assert all(filenames(answer) == first for answer in answers)
    assert pypiserver.log.read_text().count("GET /simple/shared-lib/") == 1


def test_refresh_is_conditional_and_in_the_background(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    upstream = RegistryServer(base_settings(tmp_path / "upstream"), tmp_path / "upstream-logs", workers=1)
    upstream.extra_args = LOGGED_CONDITIONS
    upstream.start()
    try:
        upload_dist(upstream, Dist("fresh-lib", "1.0"))
        registry = make_server(**proxy_settings(upstream.url + "simple/", **{"pypi.fallback_page_ttl": "1"}))
        assert filenames(registry.get("simple/fresh-lib/", headers={"Accept": JSON}))
        time.sleep(1.1)  # past the refresh interval
        started = time.monotonic()
        answer = registry.get("simple/fresh-lib/", headers={"Accept": JSON})
        assert filenames(answer) and time.monotonic() - started < 5
        line = re.compile(
            r'"GET /simple/fresh-lib/ HTTP/1.1" 304 inm=\\?"[0-9a-f]+\\?"'
        )  # gunicorn escapes "
        wait_for(lambda: bool(line.search(upstream.access_log.read_text())), "a conditional refresh")
        upload_dist(upstream, Dist("fresh-lib", "2.0"))  # a change: the next refresh gets a 200
        time.sleep(1.1)

        def refreshed() -> bool:
            names = filenames(registry.get("simple/fresh-lib/", headers={"Accept": JSON}))
            return "fresh_lib-2.0-py3-none-any.whl" in names

        wait_for(refreshed, "the new release to show")
    finally:
        upstream.stop()


def test_a_hanging_upstream_is_noticed_once(make_server: Callable[..., RegistryServer]) -> None:
    silent = SilentServer()
    try:
        registry = make_server(**proxy_settings(silent.url, **{"pypi.fallback_timeout": "1"}))
        first = registry.get("simple/never-seen/")
        assert first.status_code == 504 and "did not answer within 1 seconds" in first.text
        for _ in range(4):  # both workers: the breaker is shared
            again = registry.get("simple/other-name/")
            assert again.status_code == 504 and "not asked again" in again.text
            assert again.headers["Cache-Control"] == "no-store"
        assert len(silent.accepted) == 1
    finally:
        silent.stop()


def test_memory_is_bounded_and_shown_to_admins(pypiserver: PypiServer, tmp_path: Path) -> None:
    names = [f"mem-lib-{n}" for n in range(16)]
    for name in names:
        pypiserver.add(Dist(name, "1.0"))
    settings = proxy_settings(pypiserver.url, **{"pypi.fallback_memory": "8KiB"})
    registry = RegistryServer(
        settings | base_settings(tmp_path / "data"), tmp_path / "logs", workers=1
    ).start()
    try:
        for name in names:
            assert registry.get(f"simple/{name}/", headers={"Accept": JSON}).status_code == 200
        assert "upstream" not in registry.get("health").json()  # not for anonymous callers
        details = registry.get("health", auth=ADMIN).json()["upstream"]
        assert 0 < details["memory_bytes"] <= details["memory_limit"] == 8 * 1024
        assert details["memory_evicted"] > 0 and details["breaker"] == {"open": False}
        assert 0 < details["rendered_bytes"] <= 8 * 1024  # rendered pages: the same bound
        assert details["rendered_pages"] < len(names)
    finally:
        registry.stop()


def raw_get(server: RegistryServer, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A GET that does not decode the body (requests would gunzip it)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_pages_are_gzipped_for_clients_that_accept_it(server: RegistryServer, unique_name: str) -> None:
    for version in ("1.0", "1.1", "1.2", "1.3"):
        upload_dist(server, Dist(unique_name, version))
    path = f"/simple/{unique_name}/"
    status, plain_headers, plain = raw_get(server, path, {"Accept": JSON})
    assert status == 200 and "content-encoding" not in plain_headers
    status, headers, body = raw_get(server, path, {"Accept": JSON, "Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain and len(body) < len(plain)
    assert "Accept-Encoding" in headers["vary"]
    assert headers["etag"] == "W/" + plain_headers["etag"]
    status, _, _ = raw_get(
        server, path, {"Accept": JSON, "Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    )
    assert status == 304


def test_access_log_shows_the_size_of_file_downloads(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    page = server.get(f"simple/{unique_name}/", headers={"Accept": JSON}).json()
    wheel = next(entry for entry in page["files"] if entry["filename"] == dist.wheel_name)
    url = wheel["url"].replace("../../", "")
    sizes = {url: len(server.get(url).content), url + ".metadata": len(server.get(url + ".metadata").content)}
    for path, size in sizes.items():
        line = re.compile(rf'"GET /{re.escape(path)} HTTP/1.1" 200 {size} ')
        wait_for(lambda line=line: bool(line.search(server.access_log.read_text())), f"{path} logged")
