"""The release cooldown end to end: a static PEP 691 upstream that states upload times, the
registry in cache mode in front of it, and real pip."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from registry.config import load_config
from registry.core.app import build
from registry.errors import ConfigError
from tests.distributions import Dist
from tests.e2e.test_clients import fresh_venv, installed, pip_install
from tests.server import ADMIN, ALICE, ROOT, RegistryServer
from tests.static_index import StaticIndex

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
NOW = datetime.now(UTC)
OLD, YOUNG = NOW - timedelta(days=30), NOW - timedelta(minutes=10)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[StaticIndex]:
    index = StaticIndex(tmp_path / "static-upstream")
    yield index
    index.stop()


@pytest.fixture
def cooled(upstream: StaticIndex, make_server: Callable[..., RegistryServer]) -> RegistryServer:
    """A cache-mode registry with a one-day cooldown; access data re-read on every request."""
    return make_server(
        **{
            "pypi.fallback": "cache",
            "pypi.fallback_url": upstream.url,
            "pypi.fallback_min_age": "1d",
            "pypi.fallback_min_age_exempt": "Cool_Exempt",
            "pypi.cache_update": "everyone",
            "auth.refresh_seconds": "0",
        }
    )


def listed(server: RegistryServer, project: str) -> set[str]:
    """The filenames the JSON project page lists, checked against the HTML page."""
    page = server.get(f"/simple/{project}/", headers=JSON)
    assert page.status_code == 200, page.text
    names = {entry["filename"] for entry in page.json()["files"]}
    html = server.get(f"/simple/{project}/", headers={"Accept": "text/html"}).text
    assert {name for name in names if name in html} == names
    return names


def wait_until_stored(server: RegistryServer, project: str, filename: str, timeout: float = 20) -> None:
    """Poll the JSON API (stored files only) until ``filename`` is recorded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = server.get(f"pypi/{project}/json")
        if answer.status_code == 200 and any(
            entry["filename"] == filename for files in answer.json()["releases"].values() for entry in files
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"{filename} was not stored within {timeout} s")


def file_url(server: RegistryServer, project: str, filename: str, sha256: str) -> str:
    return f"{server.url}packages/{project}/{sha256[:16]}/{filename}"


def test_young_files_are_left_off_pages_and_refused_with_their_date(
    upstream: StaticIndex, cooled: RegistryServer, tmp_path: Path
) -> None:
    old = upstream.add(Dist("cool-lib", "1.0"), OLD)
    young = upstream.add(Dist("cool-lib", "2.0"), YOUNG, sdist=True)
    unknown = upstream.add(Dist("cool-lib", "1.5"), None)
    assert listed(cooled, "cool-lib") == set(old)
    for filename, sha256 in young.items():
        answer = requests.get(file_url(cooled, "cool-lib", filename, sha256), timeout=30)
        assert answer.status_code == 403, answer.text
        available = (YOUNG + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
        assert f"It becomes available at {available}" in answer.text
        assert "pypi.fallback_min_age" in answer.reason
        assert (
            answer.headers["Cache-Control"].startswith("no-store")
            or "no-store" in answer.headers["Cache-Control"]
        )
    ((filename, sha256),) = unknown.items()
    answer = requests.get(file_url(cooled, "cool-lib", filename, sha256) + ".metadata", timeout=30)
    assert answer.status_code == 403 and "gives no upload time" in answer.text
    assert cooled.services().cache.list_files("cool-lib") == []  # nothing young was fetched

    python = fresh_venv(tmp_path / "venv")
    pip_install(python, cooled.url + "simple/", "cool-lib")
    assert installed(python)["cool-lib"] == "1.0"


def test_exempt_projects_and_early_releases_are_served(upstream: StaticIndex, cooled: RegistryServer) -> None:
    exempt = upstream.add(Dist("cool-exempt", "1.0"), YOUNG)
    assert listed(cooled, "cool-exempt") == set(exempt)
    old = upstream.add(Dist("cool-app", "1.0"), OLD)
    young = upstream.add(Dist("cool-app", "2.0"), YOUNG, sdist=True)
    assert listed(cooled, "cool-app") == set(old)
    base = "manage/projects/Cool.App/cooldown"

    assert cooled.post(f"{base}/releases/2.0").status_code == 401
    assert cooled.post(f"{base}/releases/2.0", auth=ALICE).status_code == 403
    bad = cooled.post(f"{base}/releases/not-a-version!", auth=ADMIN)  # (a space: 404 at the edge)
    assert bad.status_code == 400 and "Invalid version" in bad.json()["error"]
    released = cooled.post(f"{base}/releases/2.0", auth=ADMIN)
    assert released.status_code == 201 and released.json()["released_by"] == "admin"
    assert listed(cooled, "cool-app") == set(old) | set(young)
    wheel = Dist("cool-app", "2.0").wheel_name
    answer = requests.get(file_url(cooled, "cool-app", wheel, young[wheel]), timeout=30)
    assert answer.status_code == 200 and answer.content == (upstream.root / "files" / wheel).read_bytes()
    wait_until_stored(cooled, "cool-app", wheel)  # stored once the streamed answer is closed
    shown = cooled.get(base, auth=ADMIN).json()
    assert shown["min_age"] == "1d" and [r["version"] for r in shown["releases"]] == ["2.0"]

    # Revoked: the sdist is held back again, the wheel fetched meanwhile stays.
    assert cooled.delete(f"{base}/releases/2.0", auth=ADMIN).json() == {"revoked": True}
    assert listed(cooled, "cool-app") == set(old) | {wheel}
    assert requests.get(file_url(cooled, "cool-app", wheel, young[wheel]), timeout=30).status_code == 200


def test_the_command_line_releases_one_file(upstream: StaticIndex, cooled: RegistryServer) -> None:
    young = upstream.add(Dist("cool-cli", "3.0"), YOUNG, sdist=True)
    wheel = Dist("cool-cli", "3.0").wheel_name
    assert listed(cooled, "cool-cli") == set()
    command = [sys.executable, "-m", "registry", "cooldown", "release", "Cool_CLI", "--file", wheel]
    env = cooled.environment()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert listed(cooled, "cool-cli") == {wheel} and wheel in young
    wrong = subprocess.run(
        [*command[:-1], "other-1.0.tar.gz"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode != 0 and "is not a file of project 'cool-cli'" in wrong.stderr


def test_a_cooldown_with_redirect_mode_is_refused_at_start(tmp_path: Path) -> None:
    settings = {
        "pypi.fallback": "redirect",
        "pypi.fallback_url": "http://127.0.0.1:9/simple/",
        "pypi.fallback_min_age": "7d",
        "db.path": str(tmp_path / "db.sqlite3"),
        "storage.dir": str(tmp_path / "files"),
    }
    with pytest.raises(ConfigError, match=r"needs pypi\.fallback = cache"):
        build(load_config(environ={}, overrides=settings))
