"""Big rendered project pages are shared on the host's disk: by every worker, across restarts,
never across databases, settings or damaged files; bounded by ``pypi.shared_pages``.

Real gunicorn servers (two workers), a static PEP 691 upstream on loopback whose project lists
hundreds of files (a page of over 64 KiB), and the pages' folder under a ``TMPDIR`` of the test's.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.server import ADMIN, RegistryServer, base_settings
from tests.static_index import StaticIndex

pytestmark = pytest.mark.e2e

JSON = "application/vnd.pypi.simple.v1+json"
FILES = 400  # about 150 KB of PEP 691 JSON as the registry renders it


def entries(project: str, count: int) -> list[dict[str, object]]:
    return [
        {
            "filename": f"{project.replace('-', '_')}-1.{number}-py3-none-any.whl",
            "url": f"../../files/{project}-{number}.whl",
            "hashes": {"sha256": hashlib.sha256(f"{project}{number}".encode()).hexdigest()},
            "size": 1000 + number,
            "upload-time": "2024-01-02T03:04:05.000000Z",
        }
        for number in range(count)
    ]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[StaticIndex]:
    index = StaticIndex(tmp_path / "upstream")
    for project, count in (("big-lib", FILES), ("other-big-lib", FILES), ("small-lib", 2)):
        index.pages[project] = entries(project, count)
        index._write(project)
    yield index
    index.stop()


_started: list[RegistryServer] = []


@pytest.fixture(autouse=True)
def _stop_servers() -> Iterator[None]:
    """Every server a test started is stopped, whatever the test's outcome."""
    yield
    while _started:
        _started.pop().stop()


def registry(upstream: StaticIndex, tmp_path: Path, data: str = "data", **extra: str) -> RegistryServer:
    settings = base_settings(tmp_path / data) | {
        "pypi.fallback": "cache",
        "pypi.fallback_url": upstream.url,
        **extra,
    }
    (tmp_path / "tmp").mkdir(exist_ok=True)
    server = RegistryServer(settings, tmp_path / "logs", extra_env={"TMPDIR": str(tmp_path / "tmp")})
    _started.append(server)
    return server.start()


def shared_files(tmp_path: Path) -> dict[Path, int]:
    """Every shared page on the host: path -> size."""
    root = tmp_path / "tmp" / "registry-pages"
    if not root.exists():
        return {}
    return {path: path.stat().st_size for path in root.glob("*/*") if not path.name.startswith(".")}


def get_json(server: RegistryServer, project: str, gzipped: bool = False) -> requests.Response:
    encoding = "gzip" if gzipped else "identity"
    answer = server.get(f"simple/{project}/", headers={"Accept": JSON, "Accept-Encoding": encoding})
    assert answer.status_code == 200, answer.text
    return answer


def test_a_big_page_rendered_once_is_read_back_after_a_restart(upstream: StaticIndex, tmp_path: Path) -> None:
    server = registry(upstream, tmp_path)
    first = get_json(server, "big-lib")
    assert len(first.content) > 64 * 1024 and len(first.json()["files"]) == FILES
    pages = shared_files(tmp_path)
    assert len(pages) == 1  # one content type asked for, one page
    (page,) = pages
    assert page.parent.parent.stat().st_mode & 0o077 == 0  # this user's alone
    server.stop()

    hour_ago = time.time() - 3600
    os.utime(page, (hour_ago, hour_ago))
    server.start()
    try:
        again = get_json(server, "big-lib", gzipped=True)  # the gzip was kept with the page
        assert again.headers["Content-Encoding"] == "gzip"
        assert again.headers["ETag"] == f"W/{first.headers['ETag']}"
        assert again.content == first.content  # requests decoded the gzip
        assert page.stat().st_mtime > hour_ago + 60  # read back (and marked as used), not rendered
        assert shared_files(tmp_path).keys() == {page}
    finally:
        server.stop()


def test_workers_answer_the_same_shared_page(upstream: StaticIndex, tmp_path: Path) -> None:
    server = registry(upstream, tmp_path)
    try:
        first = get_json(server, "big-lib")
        with ThreadPoolExecutor(8) as pool:  # both workers answer some of these
            answers = list(pool.map(lambda _: get_json(server, "big-lib", gzipped=True), range(16)))
        assert {answer.headers["ETag"] for answer in answers} == {f"W/{first.headers['ETag']}"}
        assert all(answer.content == first.content for answer in answers)
        assert len(shared_files(tmp_path)) == 1
        shown = server.get("health", auth=ADMIN).json()["shared_pages"]  # for admins only
        assert shown == {"files": 1, "bytes": sum(shared_files(tmp_path).values()), "limit": 256 * 1024**2}
        assert "shared_pages" not in server.get("health").json()
    finally:
        server.stop()


def test_a_damaged_page_is_dropped_and_rendered_again(upstream: StaticIndex, tmp_path: Path) -> None:
    server = registry(upstream, tmp_path)
    first = get_json(server, "big-lib")
    server.stop()
    (page,) = shared_files(tmp_path)
    data = bytearray(page.read_bytes())
    data[len(data) // 3] ^= 0xFF  # one flipped byte in the body
    page.write_bytes(bytes(data))
    server.start()
    try:
        again = get_json(server, "big-lib")
        assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
        assert page.read_bytes() != bytes(data)  # written again, whole
        assert get_json(server, "big-lib", gzipped=True).content == first.content
    finally:
        server.stop()


def test_a_new_database_or_other_settings_never_see_old_pages(upstream: StaticIndex, tmp_path: Path) -> None:
    server = registry(upstream, tmp_path)
    get_json(server, "big-lib")
    server.stop()
    (first,) = shared_files(tmp_path)

    fresh = registry(upstream, tmp_path, data="other-data")  # same settings but the folders: a new database
    try:
        get_json(fresh, "big-lib")
    finally:
        fresh.stop()
    for path in (tmp_path / "data").glob("registry.sqlite3*"):  # the first database, made anew
        path.unlink()
    again = registry(upstream, tmp_path)
    try:
        get_json(again, "big-lib")
    finally:
        again.stop()
    folders = {path.parent for path in shared_files(tmp_path)}
    assert len(folders) == 3 and first.parent in folders


def test_small_pages_and_a_zero_limit_share_nothing(upstream: StaticIndex, tmp_path: Path) -> None:
    server = registry(upstream, tmp_path)
    try:
        assert len(get_json(server, "small-lib").json()["files"]) == 2
        assert shared_files(tmp_path) == {}
    finally:
        server.stop()
    off = registry(upstream, tmp_path, data="off", **{"pypi.shared_pages": "0"})
    try:
        assert len(get_json(off, "big-lib").json()["files"]) == FILES
        assert shared_files(tmp_path) == {}
    finally:
        off.stop()


def test_the_folder_stays_within_its_limit(upstream: StaticIndex, tmp_path: Path) -> None:
    server = registry(upstream, tmp_path)
    try:
        get_json(server, "big-lib")
        one_page = sum(shared_files(tmp_path).values())
    finally:
        server.stop()
    limit = int(one_page * 2.5)  # room for two pages, not three
    server = registry(upstream, tmp_path, data="limited", **{"pypi.shared_pages": str(limit)})
    try:
        for project in ("big-lib", "other-big-lib"):
            for accept in (JSON, "text/html"):
                answer = server.get(f"simple/{project}/", headers={"Accept": accept})
                assert answer.status_code == 200
        kept = shared_files(tmp_path)
        assert sum(kept.values()) <= limit
        assert len(kept) >= 1
    finally:
        server.stop()
