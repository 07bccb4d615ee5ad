"""End to end on the two cloud pairs the deployment guides use: S3 + DynamoDB (both on moto) and
Azure Blob (Azurite) + PostgreSQL, behind a live gunicorn with real clients.

twine uploads; pip and uv install through presigned / SAS redirects; a yank; an overwrite refused;
a delete; concurrent uploads of one filename (one winner); a file past the first ranged window
(and past one multipart part / block); ``rebuild`` from the Storage into an empty Cache;
``migrate`` from the local pair into the cloud pair and back; the web UI's project page. The
latency of a project page and of an upload is printed (``-s``) and loosely bounded.

Each storage and each metadata store is also tested alone (``test_cloud_storage.py``,
``test_cache_backends.py``); this module checks that the halves work together, which is what a
deployment runs.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from registry.config import load_config
from tests.backends import Backends
from tests.cloud_emulators import azure_backend_settings, s3_backend_settings
from tests.conftest import post_upload, start_server
from tests.db_services import new_cache_settings
from tests.distributions import Dist, big_wheel_bytes, sdist_bytes, wheel_bytes, write_sdist, write_wheel
from tests.e2e.test_cache_backends import listed, measure_latency, race_uploads_of_one_filename
from tests.e2e.test_clients import fresh_venv, installed, pip_install, twine_upload, uv_install
from tests.recovery.conftest import build
from tests.server import ADMIN, ROOT, RegistryServer, base_settings, settings_env

pytestmark = pytest.mark.e2e

PAIRS = ["s3+dynamo", "azure-blob+postgresql"]
LARGE = 9 * 1024 * 1024  # past the first 1 MiB read window and one 8 MiB part or block


def pair_settings(pair: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Raw settings of an empty registry on ``pair``: a fresh storage prefix and a fresh cache."""
    if pair == "s3+dynamo":
        moto, bucket = request.getfixturevalue("moto_server"), request.getfixturevalue("s3_bucket")
        return {**s3_backend_settings(moto, bucket), **new_cache_settings("dynamo", request)}
    assert pair == "azure-blob+postgresql", pair
    azurite, container = request.getfixturevalue("azurite"), request.getfixturevalue("azure_container")
    return {**azure_backend_settings(azurite, container), **new_cache_settings("sql-postgresql", request)}


@pytest.fixture(scope="module", params=PAIRS)
def pair(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(
    pair: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """The pair behind gunicorn, streaming downloads through the app (ranged reads)."""
    running = start_server(tmp_path_factory.mktemp("registry"), pair_settings(pair, request))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def redirecting(server: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """The same backends with ``storage.redirect_urls = true``: downloads answer 302 to the cloud."""
    settings = dict(server.settings) | {"storage.redirect_urls": "true"}
    running = RegistryServer(settings=settings, log_dir=tmp_path_factory.mktemp("logs")).start()
    yield running
    running.stop()


def file_path(server: RegistryServer, project: str, filename: str) -> str:
    """The download path of ``filename`` as the JSON simple page links it."""
    url = str(listed(server, project)[filename]["url"])
    return url.replace(server.url, "/") if url.startswith("http") else url


def test_twine_upload_yank_and_pip_and_uv_install_through_redirects(
    redirecting: RegistryServer, unique_name: str, tmp_path: Path
) -> None:
    dists = [Dist(unique_name, "1.0"), Dist(unique_name, "2.0")]
    twine_upload(redirecting, [write(tmp_path, d) for d in dists for write in (write_wheel, write_sdist)])
    stored = set(redirecting.services().storage.list_keys(unique_name + "/"))
    assert {f"{unique_name}/{d.wheel_name}" for d in dists} <= stored
    yank = redirecting.post(
        f"manage/projects/{unique_name}/releases/2.0/yank", auth=ADMIN, json={"reason": "broken"}
    )
    assert yank.status_code == 200, yank.text
    assert listed(redirecting, unique_name)[dists[1].wheel_name]["yanked"] == "broken"
    answer = redirecting.get(file_path(redirecting, unique_name, dists[0].wheel_name), allow_redirects=False)
    assert answer.status_code == 302
    assert ("X-Amz-Signature=" in answer.headers["Location"]) != ("sig=" in answer.headers["Location"])
    index = redirecting.url + "simple/"
    python = fresh_venv(tmp_path / "pip")
    pip_install(python, index, unique_name)
    assert installed(python)[unique_name] == "1.0"  # 2.0 is yanked
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(uv_python, index, unique_name, cache=tmp_path / "uv-cache")
    assert installed(uv_python)[unique_name] == "1.0"
    assert f'/{dists[0].wheel_name} HTTP/1.1" 302 ' in redirecting.access_log.read_text()


def test_overwrite_is_refused_and_delete_removes_the_file(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    first = wheel_bytes(dist)
    assert post_upload(server, first, dist.wheel_name, unique_name, "1.0").status_code == 200
    other = wheel_bytes(Dist(unique_name, "1.0", summary="different bytes"))
    refused = post_upload(server, other, dist.wheel_name, unique_name, "1.0")
    assert refused.status_code == 400 and "File already exists" in refused.text
    path = file_path(server, unique_name, dist.wheel_name)
    assert server.get(path).content == first
    deleted = server.delete(f"manage/projects/{unique_name}/files/{dist.wheel_name}", auth=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert server.get(f"simple/{unique_name}/").status_code == 404
    assert server.get(path).status_code == 404
    assert list(server.services().storage.list_keys(unique_name + "/")) == []


def test_concurrent_uploads_of_one_filename_have_one_winner(server: RegistryServer, unique_name: str) -> None:
    winner, _entry = race_uploads_of_one_filename(server, unique_name, 8)
    filename = Dist(unique_name, "1.0").wheel_name
    assert server.get(file_path(server, unique_name, filename)).content == winner


def test_a_large_file_streams_ranged_and_through_the_redirect(
    server: RegistryServer, redirecting: RegistryServer, unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    content = big_wheel_bytes(dist, LARGE)
    assert len(content) > LARGE
    assert post_upload(server, content, dist.wheel_name, unique_name, "1.0").status_code == 200
    path = file_path(server, unique_name, dist.wheel_name)
    whole = server.get(path)
    digest = hashlib.sha256(content).digest()
    assert whole.status_code == 200 and hashlib.sha256(whole.content).digest() == digest
    tail = server.get(path, headers={"Range": f"bytes={LARGE - 100}-"})
    assert tail.status_code == 206 and tail.content == content[LARGE - 100 :]
    followed = redirecting.get(path)  # requests follows the 302 to the presigned / SAS URL
    assert followed.history and followed.history[0].status_code == 302
    assert hashlib.sha256(followed.content).digest() == digest


def test_the_web_ui_project_page_renders(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0", summary="A project on a cloud pair")
    assert post_upload(server, wheel_bytes(dist), dist.wheel_name, unique_name, "1.0").status_code == 200
    page = server.get(f"project/{unique_name}/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert unique_name in page.text and "A project on a cloud pair" in page.text
    assert dist.wheel_name in server.get(f"project/{unique_name}/1.0/").text


def registry_command(*arguments: str, env: dict[str, str] | None = None) -> str:
    """``python -m registry ARGUMENTS``; its standard output (the command must succeed)."""
    result = subprocess.run(
        [sys.executable, "-m", "registry", *arguments], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_rebuild_fills_an_empty_cache_from_the_storage(
    server: RegistryServer, pair: str, request: pytest.FixtureRequest, unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    for content, filename in ((wheel_bytes(dist), dist.wheel_name), (sdist_bytes(dist), dist.sdist_name)):
        assert post_upload(server, content, filename, unique_name, "1.0").status_code == 200
    yank = server.post(f"manage/projects/{unique_name}/releases/1.0/yank", auth=ADMIN, json={"reason": "old"})
    assert yank.status_code == 200, yank.text
    empty = pair_settings(pair, request)
    settings = {**server.settings, **{k: v for k, v in empty.items() if k.startswith("db.")}}
    env = {k: v for k, v in server.environment().items() if not k.startswith("REGISTRY_")}
    output = registry_command("rebuild", env=env | settings_env(settings))
    assert "Rebuilt:" in output
    theirs = Backends.from_config(load_config(environ=settings_env(server.settings))).cache
    ours = Backends.from_config(load_config(environ=settings_env(settings))).cache
    try:
        expected = sorted(theirs.list_files(unique_name), key=str)
        assert len(expected) == 2 and sorted(ours.list_files(unique_name), key=str) == expected
    finally:
        theirs.close()
        ours.close()


def _ini(path: Path, settings: dict[str, str]) -> str:
    path.write_text("[app:main]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items()))
    return str(path)


def test_migrate_from_the_local_pair_and_back(
    pair: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    local = build(base_settings(tmp_path / "local"))
    dists = [Dist("Migrate.Me", "1.0"), Dist("migrate-me", "1.1"), Dist("other-one", "0.1")]
    for dist in dists:
        assert local.upload_wheel(dist).status_code == 200
        assert local.upload(sdist_bytes(dist), dist.sdist_name, dist.name, dist.version).status_code == 200
    cloud_settings = {**base_settings(tmp_path / "cloud"), **pair_settings(pair, request)}
    back_settings = base_settings(tmp_path / "back")
    files = {name: _ini(tmp_path / f"{name}.ini", settings) for name, settings in
             (("local", local.settings), ("cloud", cloud_settings), ("back", back_settings))}  # fmt: skip
    assert "records: 6 added" in registry_command("migrate", files["local"], files["cloud"])
    assert "records: 6 added" in registry_command("migrate", files["cloud"], files["back"])
    registries = [local, build(cloud_settings), build(back_settings)]
    try:
        for project in ("migrate-me", "other-one"):
            listings = [registry.listed(project) for registry in registries]
            assert listings[0] == listings[1] == listings[2] and len(listings[0]) >= 2
            records = [sorted(r.services.cache.list_files(project), key=str) for r in registries]
            assert records[0] == records[1] == records[2]
        for dist in dists:
            key = f"{canonicalize_name(dist.name)}/{dist.wheel_name}"
            original, returned = (r.services.storage.read_bytes(key) for r in (registries[0], registries[2]))
            assert returned == original
    finally:
        for registry in registries:
            registry.services.cache.close()


def test_latency_of_a_project_page_and_an_upload(server: RegistryServer, pair: str, unique_name: str) -> None:
    medians = measure_latency(server, unique_name)
    print(f"\nlatency [{pair}]: project page {medians['page'] * 1000:.1f} ms, "
          f"upload {medians['upload'] * 1000:.1f} ms (medians)")  # fmt: skip
    assert medians["page"] < 0.25
    assert medians["upload"] < 2.0
