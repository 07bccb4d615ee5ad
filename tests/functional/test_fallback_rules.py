"""The fallback rules through the HTTP API, in one process, against a real pypiserver upstream.

One process makes the per-process parts (kept pages, fetch locks) deterministic; the
end-to-end tests cover the same paths through gunicorn with real clients.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from registry import create_app
from registry.config import load_config
from registry.core.uploads import UploadForm
from tests.backends import Backends as Services
from tests.distributions import Dist, wheel_bytes
from tests.server import ALICE, base_settings, basic_auth
from tests.upstream import PypiServer

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp("upstream") / "files").start()
    yield server
    server.stop()


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    def make(**settings: str) -> Flask:
        merged = base_settings(tmp_path / f"data-{len(list(tmp_path.iterdir()))}")
        merged.update(settings)
        return create_app(load_config(environ={}, overrides=merged))

    return make


def services(app: Flask) -> Services:
    return Services(app.extensions["registry"])


def upload_here(app: Flask, dist: Dist) -> None:
    content = wheel_bytes(dist)
    form = UploadForm(dist.name, dist.version, "bdist_wheel", dist.wheel_name, io.BytesIO(content))
    services(app).upload(form, "admin")


def links(page: str) -> dict[str, str]:
    """filename -> href of every file on an HTML page."""
    return {name: href for href, name in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', page)}


def cache_mode(upstream: PypiServer, **extra: str) -> dict[str, str]:
    return {
        "pypi.fallback": "cache",
        "pypi.fallback_url": upstream.url,
        "pypi.cache_update": "everyone",
        **extra,
    }


def test_local_project_hides_upstream_unless_always_show_upstream(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    upstream.add(Dist(unique_name, "1.0"), sdist=False)
    upstream.add(Dist(unique_name, "2.0"), sdist=False)
    mine = Dist(unique_name, "2.0", summary="our own build")  # same filename, other bytes
    module = mine.module

    strict = make_app(**cache_mode(upstream))
    upload_here(strict, mine)
    page = strict.test_client().get(f"/simple/{unique_name}/").text
    assert set(links(page)) == {f"{module}-2.0-py3-none-any.whl"}
    assert "pypi:tracks" not in page and "pypi:alternate-locations" not in page

    mixed = make_app(**cache_mode(upstream, **{"pypi.always_show_upstream": "true"}))
    upload_here(mixed, mine)
    client = mixed.test_client()
    found = links(client.get(f"/simple/{unique_name}/").text)
    assert set(found) == {f"{module}-1.0-py3-none-any.whl", f"{module}-2.0-py3-none-any.whl"}
    ours = hashlib.sha256(wheel_bytes(mine)).hexdigest()
    assert found[f"{module}-2.0-py3-none-any.whl"].endswith(f"#sha256={ours}")  # the local file wins
    document = client.get(f"/simple/{unique_name}/", headers=JSON).json
    assert document["meta"]["api-version"] == "1.2"
    assert document["alternate-locations"] == [upstream.url + f"{unique_name}/"]
    # The merged upstream file downloads (and is cached) through our URL.
    href = found[f"{module}-1.0-py3-none-any.whl"].split("#")[0].replace("../../", "/")
    assert client.get(href).status_code == 200


def test_disallowed_name_is_never_looked_up(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    upstream.add(Dist(unique_name, "1.0"))
    app = make_app(**cache_mode(upstream, **{"pypi.disallow_fallback": unique_name.upper()}))
    answer = app.test_client().get(f"/simple/{unique_name}/")
    assert answer.status_code == 404
    assert answer.headers["Cache-Control"] == "no-store"
    assert f"/simple/{unique_name}/" not in upstream.log.read_text()


def test_upstream_miss_is_not_remembered(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    client = make_app(**cache_mode(upstream)).test_client()
    missing = client.get(f"/simple/{unique_name}/")
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"
    upstream.add(Dist(unique_name, "1.0"))
    assert client.get(f"/simple/{unique_name}/").status_code == 200


def test_stale_page_and_stored_files_when_upstream_is_down(
    make_app: Callable[..., Flask], tmp_path: Path, unique_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    own = PypiServer(tmp_path / "own-upstream").start()
    try:
        own.add(Dist(unique_name, "1.0"))
        settings = cache_mode(
            own, **{"pypi.fallback_page_ttl": "0", "pypi.fallback_wait_for_refresh": "true"}
        )
        app = make_app(**settings)
        client = app.test_client()
        first = links(client.get(f"/simple/{unique_name}/").text)
        wheel = Dist(unique_name, "1.0").wheel_name
        assert client.get(first[wheel].split("#")[0].replace("../../", "/")).status_code == 200
    finally:
        own.stop()
    with caplog.at_level(logging.WARNING, logger="registry"):
        stale = client.get(f"/simple/{unique_name}/")
    assert stale.status_code == 200 and set(links(stale.text)) == set(first)
    assert "Serving the kept copy" in caplog.text
    # Nothing kept for this name: a clear 502, never a 404, never cacheable.
    down = client.get("/simple/never-seen-before/")
    assert down.status_code == 502 and down.headers["Cache-Control"] == "no-store"
    # A fresh process reads the page kept in the Storage.
    restarted = create_app(services(app).config).test_client()
    assert set(links(restarted.get(f"/simple/{unique_name}/").text)) == set(first)


def test_concurrent_first_downloads_fetch_once(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0", extra_metadata="X" * 3_000_000)  # a few chunks long
    upstream.add(dist, sdist=False)
    app = make_app(**cache_mode(upstream))
    href = links(app.test_client().get(f"/simple/{unique_name}/").text)[dist.wheel_name]
    path = href.split("#")[0].replace("../../", "/")
    expected = hashlib.sha256(wheel_bytes(dist)).hexdigest()
    results: list[str] = []

    def download() -> None:
        response = app.test_client().get(path)
        results.append(hashlib.sha256(response.data).hexdigest() if response.status_code == 200 else "")

    threads = [threading.Thread(target=download) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [expected] * 8
    assert upstream.downloads(dist.wheel_name) == 1
    assert len(services(app).fallback.fetching) == 0


def test_head_and_range_fetch_the_whole_file_first(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    upstream.add(dist, sdist=False)
    client = make_app(**cache_mode(upstream)).test_client()
    href = links(client.get(f"/simple/{unique_name}/").text)[dist.wheel_name]
    path = href.split("#")[0].replace("../../", "/")
    head = client.head(path)
    assert head.status_code == 200 and head.content_length == len(wheel_bytes(dist))
    part = client.get(path, headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.data == b"PK\x03\x04"
    assert upstream.downloads(dist.wheel_name) == 1
    assert client.get(path + ".metadata").status_code == 200


def test_fetching_needs_cache_update_permission(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    upstream.add(dist, sdist=False)
    app = make_app(**{"pypi.fallback": "cache", "pypi.fallback_url": upstream.url})  # authenticated
    client = app.test_client()
    href = links(client.get(f"/simple/{unique_name}/").text)[dist.wheel_name]
    path = href.split("#")[0].replace("../../", "/")
    refused = client.get(path)
    assert refused.status_code == 401 and "upstream" in refused.text
    assert upstream.downloads(dist.wheel_name) == 0
    assert client.get(path, headers={"Authorization": basic_auth(*ALICE)}).status_code == 200
    assert client.get(path).status_code == 200  # stored now: reading it is enough


def test_credentials_never_leak(
    make_app: Callable[..., Flask], tmp_path: Path, unique_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "upstream-Secret-42"
    private = PypiServer(tmp_path / "private", users={"bot": secret}).start()
    try:
        private.add(Dist(unique_name, "1.0"), sdist=False)
        url = private.url.replace("http://", f"http://bot:{secret}@")
        with caplog.at_level(logging.DEBUG):
            cache = make_app(
                **{"pypi.fallback": "cache", "pypi.fallback_url": url, "pypi.cache_update": "everyone"}
            )
            client = cache.test_client()
            page = client.get(f"/simple/{unique_name}/", headers=JSON)
            assert page.status_code == 200 and secret not in page.text
            path = "/" + page.json["files"][0]["url"].replace("../../", "")
            assert client.get(path).status_code == 200
            (record,) = services(cache).cache.list_files(unique_name)
            assert (
                record.origin.startswith(private.url.removesuffix("simple/")) and secret not in record.origin
            )

            redirect = make_app(**{"pypi.fallback": "redirect", "pypi.fallback_url": url})
            answer = redirect.test_client().get(f"/simple/{unique_name}-other/")
            assert (
                answer.status_code == 302
                and answer.headers["Location"] == private.url + f"{unique_name}-other/"
            )
        assert secret not in caplog.text
        assert private.url in caplog.text  # the start-up line names the upstream, without the password
    finally:
        private.stop()


def test_wrong_credentials_for_upstream_are_a_502(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    private = PypiServer(tmp_path / "private", users={"bot": "right"}).start()
    try:
        url = private.url.replace("http://", "http://bot:wrong@")
        app = make_app(**{"pypi.fallback": "cache", "pypi.fallback_url": url})
        answer = app.test_client().get("/simple/anything/")
        assert answer.status_code == 502 and "credentials" in answer.text
    finally:
        private.stop()


def test_redirect_mode_sends_files_and_metadata_upstream(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    upstream.add(dist, sdist=False)
    client = make_app(**{"pypi.fallback": "redirect", "pypi.fallback_url": upstream.url}).test_client()
    sha256 = hashlib.sha256(wheel_bytes(dist)).hexdigest()
    answer = client.get(f"/packages/{unique_name}/{sha256[:16]}/{dist.wheel_name}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == upstream.url.replace("simple/", f"packages/{dist.wheel_name}")
    wrong_hash = client.get(f"/packages/{unique_name}/{'0' * 16}/{dist.wheel_name}")
    assert wrong_hash.status_code == 404


def test_none_mode_never_asks_the_upstream(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    upstream.add(Dist(unique_name, "1.0"))
    client = make_app(**{"pypi.fallback": "none", "pypi.fallback_url": upstream.url}).test_client()
    answer = client.get(f"/simple/{unique_name}/")
    assert answer.status_code == 404 and answer.headers["Cache-Control"] == "no-store"
    assert f"/simple/{unique_name}/" not in upstream.log.read_text()
