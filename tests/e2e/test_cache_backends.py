"""End to end on the SQL and DynamoDB metadata stores, each paired with local file storage.

PostgreSQL and MariaDB (``pypi.db = sql``) and DynamoDB on moto (``pypi.db = dynamo``) behind a
live gunicorn, with real clients: twine uploads, pip and uv install, a yank, concurrent uploads
of one filename, ``python -m registry rebuild`` and ``migrate`` from the local pair. The latency
of a project page and of an upload is measured too, printed (``-s``) and loosely bounded, so a
backend that makes every request slow fails here. These pairs stay out of the ``backend_settings``
matrix that every server test runs on, to keep ``make test`` short.
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import requests

from registry.config import load_config
from tests.backends import Backends
from tests.conftest import post_upload, start_server
from tests.contract.test_cache import run_parallel
from tests.db_services import new_cache_settings
from tests.distributions import Dist, sdist_bytes, wheel_bytes, write_sdist, write_wheel
from tests.e2e.test_clients import fresh_venv, installed, pip_install, twine_upload, uv_install
from tests.recovery.conftest import build
from tests.server import ADMIN, ROOT, RegistryServer, base_settings

pytestmark = pytest.mark.e2e

TARGETS = ["sql-postgresql", "sql-mariadb", "dynamo"]
JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture(scope="module", params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def pair(
    target: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """Local file storage + the target's metadata store, on a live gunicorn."""
    running = start_server(tmp_path_factory.mktemp(target), new_cache_settings(target, request))
    yield running
    running.stop()


def listed(server: RegistryServer, project: str) -> dict[str, dict[str, object]]:
    page = server.get(f"simple/{project}/", headers=JSON)
    if page.status_code == 404:
        return {}
    assert page.status_code == 200, page.text
    return {entry["filename"]: entry for entry in page.json()["files"]}


def test_twine_upload_pip_and_uv_install_and_yank(
    pair: RegistryServer, unique_name: str, tmp_path: Path
) -> None:
    dists = [Dist(unique_name, "1.0"), Dist(unique_name, "2.0")]
    twine_upload(pair, [write(tmp_path, dist) for dist in dists for write in (write_wheel, write_sdist)])
    assert set(listed(pair, unique_name)) == {name for d in dists for name in (d.wheel_name, d.sdist_name)}
    yank = pair.post(
        f"manage/projects/{unique_name}/releases/2.0/yank", auth=ADMIN, json={"reason": "broken"}
    )
    assert yank.status_code == 200, yank.text
    assert listed(pair, unique_name)[dists[1].wheel_name]["yanked"] == "broken"
    index = pair.url + "simple/"
    python = fresh_venv(tmp_path / "pip")
    pip_install(python, index, unique_name)
    assert installed(python)[unique_name] == "1.0"
    pinned = pip_install(python, index, f"{unique_name}==2.0")
    assert "broken" in pinned.stdout + pinned.stderr  # pip warns about the yanked release
    assert installed(python)[unique_name] == "2.0"
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(uv_python, index, unique_name, cache=tmp_path / "uv-cache")
    assert installed(uv_python)[unique_name] == "1.0"


def race_uploads_of_one_filename(
    server: RegistryServer, unique_name: str, count: int
) -> tuple[bytes, dict[str, object]]:
    """``count`` different wheels sent under one filename at once: exactly one is stored, the
    others are refused with 400. Returns the winner's bytes and its entry on the project page."""
    filename = Dist(unique_name, "1.0").wheel_name
    variants = [wheel_bytes(Dist(unique_name, "1.0", summary=f"variant {n}")) for n in range(count)]
    outcomes = run_parallel(count, lambda n: post_upload(server, variants[n], filename, unique_name, "1.0"))
    answers = {n: outcome for n, outcome in outcomes.items() if isinstance(outcome, requests.Response)}
    assert len(answers) == count, outcomes
    winners = [n for n, answer in answers.items() if answer.status_code == 200]
    assert len(winners) == 1, {n: (a.status_code, a.text) for n, a in answers.items()}
    losers = [answer for n, answer in answers.items() if n != winners[0]]
    assert all(a.status_code == 400 and "File already exists" in a.text for a in losers)
    entries = listed(server, unique_name)
    assert list(entries) == [filename]
    return variants[winners[0]], entries[filename]


def test_concurrent_uploads_of_one_filename_have_one_winner(pair: RegistryServer, unique_name: str) -> None:
    winner, entry = race_uploads_of_one_filename(pair, unique_name, 16)
    download = pair.get(str(entry["url"]))
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(winner).digest()


def test_rebuild_command_restores_a_lost_record(pair: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    for content, filename in ((wheel_bytes(dist), dist.wheel_name), (sdist_bytes(dist), dist.sdist_name)):
        assert post_upload(pair, content, filename, unique_name, "1.0").status_code == 200
    services = Backends.from_config(load_config(environ=pair.environment()))
    services.cache.remove_file(unique_name, dist.sdist_name)  # drift: the record is lost
    services.cache.close()
    assert set(listed(pair, unique_name)) == {dist.wheel_name}
    result = subprocess.run(
        [sys.executable, "-m", "registry", "rebuild"], cwd=ROOT, env=pair.environment(),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 added, 0 updated, 0 removed" in result.stdout
    assert set(listed(pair, unique_name)) == {dist.wheel_name, dist.sdist_name}


def _ini(path: Path, settings: dict[str, str]) -> Path:
    path.write_text("[app:main]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items()))
    return path


def test_migrate_from_the_local_pair(target: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    local = build(base_settings(tmp_path / "local"))
    dists = [Dist("Migrate.Me", "1.0"), Dist("migrate-me", "1.1"), Dist("other-one", "0.1")]
    for dist in dists:
        assert local.upload_wheel(dist).status_code == 200
        assert local.upload(sdist_bytes(dist), dist.sdist_name, dist.name, dist.version).status_code == 200
    target_settings = {**base_settings(tmp_path / "target"), **new_cache_settings(target, request)}
    result = subprocess.run(
        [sys.executable, "-m", "registry", "migrate", str(_ini(tmp_path / "local.ini", local.settings)),
         str(_ini(tmp_path / "target.ini", target_settings))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "records: 6 added" in result.stdout
    migrated = build(target_settings)
    for project in ("migrate-me", "other-one"):
        assert migrated.listed(project) == local.listed(project)
        theirs, ours = local.services.cache, migrated.services.cache
        assert sorted(theirs.list_files(project), key=str) == sorted(ours.list_files(project), key=str)
    migrated.services.cache.close()
    local.services.cache.close()


def _timed(call: Callable[[], requests.Response]) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return elapsed


def measure_latency(
    server: RegistryServer, project: str, uploads: int = 15, views: int = 100
) -> dict[str, float]:
    """Median seconds of an upload (a new wheel each) and of a warm project page view."""
    upload_times = []
    for number in range(uploads):
        dist = Dist(project, f"1.{number}")
        send = partial(post_upload, server, wheel_bytes(dist), dist.wheel_name, project, dist.version)
        upload_times.append(_timed(send))
    with requests.Session() as session:
        url = f"{server.url}simple/{project}/"
        session.get(url, timeout=30)
        page_times = [_timed(lambda: session.get(url, timeout=30)) for _ in range(views)]
    return {"upload": statistics.median(upload_times), "page": statistics.median(page_times)}


def test_latency_of_a_project_page_and_an_upload(pair: RegistryServer, target: str, unique_name: str) -> None:
    medians = measure_latency(pair, unique_name)
    print(f"\nlatency [{target}]: project page {medians['page'] * 1000:.1f} ms, "
          f"upload {medians['upload'] * 1000:.1f} ms (medians)")  # fmt: skip
    assert medians["page"] < 0.25
    assert medians["upload"] < 2.0
