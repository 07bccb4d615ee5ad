"""File downloads: stable URLs, ETag/304, Range (as uv uses it), HEAD, immutable caching."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.conftest import upload_dist
from tests.distributions import Dist, wheel_bytes
from tests.server import RegistryServer


@pytest.fixture(scope="module")
def wheel(server: RegistryServer) -> tuple[str, bytes]:
    dist = Dist("files-demo", "1.0")
    upload_dist(server, dist)
    page = server.get("simple/files-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    entry = next(e for e in page["files"] if e["filename"] == dist.wheel_name)
    return entry["url"].replace("../../", ""), wheel_bytes(dist)


def test_download_whole_file(server: RegistryServer, wheel: tuple[str, bytes]) -> None:
    path, content = wheel
    response = server.get(path)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_head(server: RegistryServer, wheel: tuple[str, bytes]) -> None:
    path, content = wheel
    head = requests.head(server.url + path, timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(content))
    assert head.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'


def test_if_none_match(server: RegistryServer, wheel: tuple[str, bytes]) -> None:
    path, _ = wheel
    etag = server.get(path).headers["ETag"]
    response = server.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [("bytes=0-9", 0, 10), ("bytes=10-", 10, None), ("bytes=-22", -22, None)],
    ids=["head", "from-offset", "suffix"],
)
def test_single_range(
    server: RegistryServer, wheel: tuple[str, bytes], header: str, start: int, stop: int | None
) -> None:
    path, content = wheel
    response = server.get(path, headers={"Range": header})
    assert response.status_code == 206
    expected = content[start:stop]
    assert response.content == expected
    first = start if start >= 0 else len(content) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(content)}"
    assert response.headers["Content-Length"] == str(len(expected))


def test_unsatisfiable_range(server: RegistryServer, wheel: tuple[str, bytes]) -> None:
    path, content = wheel
    response = server.get(path, headers={"Range": f"bytes={len(content) + 10}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(content)}"


def test_if_range_with_stale_etag_gets_whole_file(server: RegistryServer, wheel: tuple[str, bytes]) -> None:
    path, content = wheel
    response = server.get(path, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert response.content == content


def test_wrong_hash_in_url_is_404(server: RegistryServer, wheel: tuple[str, bytes]) -> None:
    path, _ = wheel
    parts = path.split("/")
    parts[2] = "0" * 16
    response = server.get("/".join(parts))
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_sdist_has_no_metadata_file(server: RegistryServer) -> None:
    page = server.get("simple/files-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    sdist = next(e for e in page["files"] if e["filename"].endswith(".tar.gz"))
    assert server.get(sdist["url"].replace("../../", "")).status_code == 200
    assert server.get(sdist["url"].replace("../../", "") + ".metadata").status_code == 404


def test_path_traversal_is_404(server: RegistryServer) -> None:
    for path in ("packages/files-demo/0123456789abcdef/..%2F..%2Fetc%2Fpasswd", "packages/../../etc/passwd"):
        response = server.get(path)
        assert response.status_code == 404
        assert "root:" not in response.text
