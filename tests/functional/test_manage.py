"""Yank, unyank and delete over HTTP (admins only) and from the CLI; /health."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import upload_dist
from tests.distributions import Dist
from tests.server import ADMIN, ALICE, ROOT, RegistryServer, settings_env


def files_of(server: RegistryServer, project: str) -> dict[str, object]:
    page = server.get(f"simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    return {entry["filename"]: entry["yanked"] for entry in page.json()["files"]}


def test_yank_and_unyank_release(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    response = server.post(
        f"manage/projects/{unique_name}/releases/1.0/yank", auth=ADMIN, json={"reason": "oops"}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert set(files_of(server, unique_name).values()) == {"oops"}
    response = server.post(f"manage/projects/{unique_name}/releases/1.0/unyank", auth=ADMIN)
    assert response.status_code == 200
    assert set(files_of(server, unique_name).values()) == {False}


def test_yank_one_file(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    response = server.post(f"manage/projects/{unique_name}/files/{dist.wheel_name}/yank", auth=ADMIN)
    assert response.status_code == 200
    assert files_of(server, unique_name) == {dist.wheel_name: True, dist.sdist_name: False}


def test_delete_file(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    page = server.get(
        f"simple/{unique_name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    ).json()
    url = next(e["url"] for e in page["files"] if e["filename"] == dist.wheel_name).replace("../../", "")
    response = server.delete(f"manage/projects/{unique_name}/files/{dist.wheel_name}", auth=ADMIN)
    assert response.status_code == 200
    assert list(files_of(server, unique_name)) == [dist.sdist_name]
    assert server.get(url).status_code == 404
    services = server.services()
    assert not services.storage.exists(f"{unique_name}/{dist.wheel_name}")
    assert not services.storage.exists(f"{unique_name}/{dist.wheel_name}.metadata")


def test_management_needs_an_admin(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    path = f"manage/projects/{unique_name}/releases/1.0/yank"
    anonymous = server.post(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"].startswith("Authentication required")
    assert server.post(path, auth=ALICE).status_code == 403
    assert (
        server.delete(f"manage/projects/{unique_name}/files/{dist.wheel_name}", auth=ALICE).status_code == 403
    )
    assert set(files_of(server, unique_name).values()) == {False}


def test_management_errors_are_precise(server: RegistryServer, unique_name: str) -> None:
    upload_dist(server, Dist(unique_name, "1.0"))
    assert server.post(f"manage/projects/{unique_name}/releases/9.9/yank", auth=ADMIN).status_code == 404
    assert server.post("manage/projects/nope-nope/releases/1.0/yank", auth=ADMIN).status_code == 404
    bad_body = server.post(
        f"manage/projects/{unique_name}/releases/1.0/yank", auth=ADMIN, data="not json",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert bad_body.status_code == 400
    assert "JSON" in bad_body.json()["error"]


def run_cli(server: RegistryServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server.environment(), **settings_env(server.settings)}
    return subprocess.run(
        [sys.executable, "-m", "registry", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_yank_unyank_delete(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    result = run_cli(server, "yank", unique_name, "1.0", "--reason", "cli reason")
    assert result.returncode == 0, result.stderr
    assert set(files_of(server, unique_name).values()) == {"cli reason"}
    result = run_cli(server, "unyank", unique_name, "--file", dist.sdist_name)
    assert result.returncode == 0, result.stderr
    assert files_of(server, unique_name) == {dist.wheel_name: "cli reason", dist.sdist_name: False}
    result = run_cli(server, "delete", unique_name, dist.wheel_name)
    assert result.returncode == 0, result.stderr
    assert list(files_of(server, unique_name)) == [dist.sdist_name]
    missing = run_cli(server, "delete", unique_name, "nope.whl")
    assert missing.returncode != 0
    assert "not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_health(server: RegistryServer) -> None:
    response = server.get("health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "storage": "ok", "cache": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
