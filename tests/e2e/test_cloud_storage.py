"""End to end on the S3 and Azure Blob storages (on moto and Azurite, with the SQLite cache):
twine uploads, pip installs, ranged downloads, one winner among concurrent uploads of one
filename, and pip following redirects to presigned / SAS URLs. Also prints each backend's
download and upload latency through gunicorn (median of ``ROUNDS``), the local pair's beside.

A module of its own rather than more ``backend_settings`` pairs: those would run every server
test again per backend, for minutes; what differs between storages is covered here.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cloud_emulators import azure_backend_settings, s3_backend_settings
from tests.conftest import post_upload, start_server
from tests.distributions import Dist, big_wheel_bytes, wheel_bytes, write_sdist, write_wheel
from tests.e2e.test_clients import fresh_venv, installed, pip_install, twine_upload
from tests.server import RegistryServer

pytestmark = pytest.mark.e2e
ROUNDS = 15

#: Storage -> its settings on its emulator (each call isolated by a fresh prefix).
CLOUD: dict[str, Callable[[pytest.FixtureRequest], dict[str, str]]] = {
    "s3": lambda request: s3_backend_settings(
        request.getfixturevalue("moto_server"), request.getfixturevalue("s3_bucket")
    ),
    "azure-blob": lambda request: azure_backend_settings(
        request.getfixturevalue("azurite"), request.getfixturevalue("azure_container")
    ),
}


@pytest.fixture(scope="module", params=sorted(CLOUD))
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A registry on one cloud storage, streaming downloads through the app."""
    running = start_server(tmp_path_factory.mktemp("registry"), CLOUD[request.param](request))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def redirecting(
    cloud: RegistryServer, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """The same storage with ``storage.redirect_urls = true``: downloads answer 302."""
    settings = dict(cloud.settings) | {"storage.redirect_urls": "true"}
    running = RegistryServer(settings=settings, log_dir=tmp_path_factory.mktemp("logs")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def python(cloud: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One virtualenv per storage for pip to install into (each test its own project)."""
    return fresh_venv(tmp_path_factory.mktemp("venv") / "venv")


def file_url(server: RegistryServer, project: str, filename: str) -> str:
    page = server.get(f"simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert page.status_code == 200, page.text
    (url,) = [entry["url"] for entry in page.json()["files"] if entry["filename"] == filename]
    return str(url)


def test_twine_uploads_and_pip_installs(
    cloud: RegistryServer, python: Path, unique_name: str, tmp_path: Path
) -> None:
    dist = Dist(unique_name, "1.0")
    twine_upload(cloud, [write_wheel(tmp_path, dist), write_sdist(tmp_path, dist)])
    stored = sorted(cloud.services().storage.list_keys(unique_name + "/"))
    assert stored == sorted(f"{unique_name}/{name}" for name in (dist.wheel_name, dist.sdist_name,
                                                                  dist.wheel_name + ".metadata"))  # fmt: skip
    pip_install(python, cloud.url + "simple/", unique_name)
    assert installed(python)[unique_name] == "1.0"


def test_ranged_downloads_read_the_stored_bytes(cloud: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    content = big_wheel_bytes(dist, 3 * 1024 * 1024)  # past the first read window
    assert post_upload(cloud, content, dist.wheel_name, unique_name, "1.0").status_code == 200
    url = file_url(cloud, unique_name, dist.wheel_name)
    for header, expected in (
        ("bytes=10-99", content[10:100]),
        ("bytes=-4096", content[-4096:]),
        (f"bytes={len(content) - 2_000_000}-", content[-2_000_000:]),
    ):
        answer = cloud.get(url.replace(cloud.url, ""), headers={"Range": header})
        assert answer.status_code == 206, header
        assert answer.content == expected, header
    whole = cloud.get(url.replace(cloud.url, ""))
    assert hashlib.sha256(whole.content).digest() == hashlib.sha256(content).digest()


def test_concurrent_uploads_of_one_filename_have_one_winner(cloud: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    contents = [wheel_bytes(Dist(unique_name, "1.0", summary=f"variant {n}")) for n in range(6)]
    statuses: dict[int, int] = {}
    start = threading.Barrier(len(contents))

    def upload(number: int) -> None:
        start.wait()
        answer = post_upload(cloud, contents[number], dist.wheel_name, unique_name, "1.0")
        statuses[number] = answer.status_code

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(len(contents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, status in statuses.items() if status == 200]
    assert len(winners) == 1, statuses
    assert sorted(statuses.values()) == [200] + [400] * (len(contents) - 1)
    served = cloud.get(file_url(cloud, unique_name, dist.wheel_name).replace(cloud.url, ""))
    assert served.content == contents[winners[0]]


def test_pip_follows_redirects_to_signed_urls(
    redirecting: RegistryServer, python: Path, unique_name: str, tmp_path: Path
) -> None:
    dist = Dist(unique_name, "1.0")
    twine_upload(redirecting, [write_wheel(tmp_path, dist)])
    url = file_url(redirecting, unique_name, dist.wheel_name)
    answer = redirecting.get(url.replace(redirecting.url, ""), allow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert not location.startswith(redirecting.url)
    assert ("X-Amz-Signature=" in location) != ("sig=" in location)  # presigned (S3) or SAS (Azure)
    pip_install(python, redirecting.url + "simple/", unique_name)
    assert installed(python)[unique_name] == "1.0"
    assert f'/{dist.wheel_name} HTTP/1.1" 302 ' in redirecting.access_log.read_text()


def test_latency_of_a_download_and_an_upload(
    cloud: RegistryServer, request: pytest.FixtureRequest, unique_name: str
) -> None:
    """Median milliseconds through gunicorn; printed for the record (-s), bounded generously."""
    download, upload = measure(cloud, unique_name)
    name = request.node.callspec.id
    print(f"\n{name}: download {download:.1f} ms, upload {upload:.1f} ms (median of {ROUNDS})")
    assert download < 1000 and upload < 5000


def test_latency_of_the_local_pair_for_comparison(
    tmp_path_factory: pytest.TempPathFactory, unique_name: str
) -> None:
    running = start_server(tmp_path_factory.mktemp("registry"))
    try:
        download, upload = measure(running, unique_name)
    finally:
        running.stop()
    print(f"\nfile: download {download:.1f} ms, upload {upload:.1f} ms (median of {ROUNDS})")
    assert download < 1000 and upload < 5000


def measure(server: RegistryServer, project: str) -> tuple[float, float]:
    """(download, upload) medians in ms: a 100 KB wheel fetched, and new 100 KB wheels posted."""
    uploads, downloads = [], []
    for number in range(ROUNDS):
        dist = Dist(project, f"1.{number}")
        content = big_wheel_bytes(dist, 100_000)
        started = time.perf_counter()
        answer = post_upload(server, content, dist.wheel_name, project, dist.version)
        uploads.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    path = file_url(server, project, Dist(project, "1.0").wheel_name).replace(server.url, "")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        answer = server.get(path)
        downloads.append(time.perf_counter() - started)
        assert answer.status_code == 200 and len(answer.content) > 100_000
    return statistics.median(downloads) * 1000, statistics.median(uploads) * 1000
