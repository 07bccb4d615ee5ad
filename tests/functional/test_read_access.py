"""Reads follow pypi.default_read: 401 without credentials, 403 when they are not enough."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conftest import start_server, upload_dist
from tests.distributions import Dist
from tests.server import ADMIN, ALICE, RegistryServer

READ_PATHS = ["simple/", "simple/read-demo/", "pypi/read-demo/json", "pypi/read-demo/1.0/json"]


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    running = start_server(tmp_path_factory.mktemp("private"), **{"pypi.default_read": "authenticated"})
    upload_dist(running, Dist("read-demo", "1.0"))
    yield running
    running.stop()


def file_paths(server: RegistryServer) -> list[str]:
    page = server.get(
        "simple/read-demo/", auth=ADMIN, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    wheel = next(entry for entry in page.json()["files"] if entry["filename"].endswith(".whl"))
    path = wheel["url"].replace("../../", "")
    return [path, path + ".metadata"]


def test_anonymous_reads_need_a_login(private: RegistryServer) -> None:
    for path in READ_PATHS + file_paths(private):
        response = private.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Basic"), path
        assert response.headers["Cache-Control"] == "no-store", path


def test_wrong_password_is_401(private: RegistryServer) -> None:
    response = private.get("simple/", auth=("alice", "wrong"))
    assert response.status_code == 401


def test_authenticated_reads_are_private(private: RegistryServer) -> None:
    for path in READ_PATHS + file_paths(private):
        response = private.get(path, auth=ALICE)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"].startswith("private"), path
        assert "Authorization" in response.headers["Vary"], path


def test_not_enough_is_403(make_server: Callable[..., RegistryServer]) -> None:
    admins_only = make_server(**{"pypi.default_read": "admin"})
    upload_dist(admins_only, Dist("read-demo", "1.0"))
    for path in READ_PATHS:
        assert admins_only.get(path, auth=ALICE).status_code == 403, path
        assert admins_only.get(path, auth=ADMIN).status_code == 200, path
