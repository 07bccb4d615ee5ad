"""Fixtures shared by every test: a clean client environment and live registry servers."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.server import ADMIN, RegistryServer, base_settings

# Emulators and databases, started on first use: Firestore and GCS; moto (S3) and Azurite (Azure
# Blob); PostgreSQL, MariaDB and moto served one request at a time (DynamoDB).
pytest_plugins = ["tests.emulators", "tests.cloud_emulators", "tests.db_services"]

# From ../shared/TEST-SERVICES.md: keep google-auth off the metadata server and pip on the
# registry under test only.
CLIENT_ENV = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": "demo-test",
    "PIP_CONFIG_FILE": "/dev/null",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "UV_NO_CONFIG": "1",
}
os.environ.update(CLIENT_ENV)
for name in list(os.environ):
    if name.startswith(("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "UV_INDEX", "UV_EXTRA")):
        del os.environ[name]

_names = itertools.count()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A project name no other test uses, so tests can share one server."""
    stem = request.node.name.split("[")[0].replace("test_", "").replace("_", "-")[:40]
    return f"{stem}-{next(_names)}"


def start_server(tmp: Path, backend: dict[str, str] | None = None, **settings: str) -> RegistryServer:
    """A live server on local backends, or on ``backend`` (settings from ``backend_settings``)."""
    merged = base_settings(tmp / "data")
    merged.update(backend or {})
    merged.update(settings)
    return RegistryServer(settings=merged, log_dir=tmp / "logs").start()


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, backend_settings: Callable[[], dict[str, str]]
) -> Iterator[RegistryServer]:
    """One registry per backend pair, shared by the tests that only add their own projects."""
    running = start_server(tmp_path_factory.mktemp("registry"), backend_settings())
    yield running
    running.stop()


@pytest.fixture
def make_server(
    tmp_path_factory: pytest.TempPathFactory, backend_settings: Callable[[], dict[str, str]]
) -> Iterator[Callable[..., RegistryServer]]:
    """Start a server with extra settings, stopped after the test."""
    started: list[RegistryServer] = []

    def make(**settings: str) -> RegistryServer:
        running = start_server(tmp_path_factory.mktemp("registry"), backend_settings(), **settings)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


def upload_form(
    content: bytes, filename: str, name: str, version: str, filetype: str = "", **fields: str
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """The multipart form twine sends (digests computed unless overridden)."""
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": filetype or ("bdist_wheel" if filename.endswith(".whl") else "sdist"),
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    data.update(fields)
    return data, {"content": (filename, content, "application/octet-stream")}


def post_upload(
    server: RegistryServer,
    content: bytes,
    filename: str,
    name: str,
    version: str,
    auth: tuple[str, str] | None = ADMIN,
    path: str = "/",
    **fields: str,
) -> requests.Response:
    data, files = upload_form(content, filename, name, version, **fields)
    return server.post(path, auth=auth, data=data, files=files)


def upload_dist(server: RegistryServer, dist: Dist, auth: tuple[str, str] = ADMIN) -> None:
    """Upload a wheel and an sdist of ``dist``; fail the test if either is refused."""
    for content, filename in ((wheel_bytes(dist), dist.wheel_name), (sdist_bytes(dist), dist.sdist_name)):
        response = post_upload(server, content, filename, dist.name, dist.version, auth=auth)
        assert response.status_code == 200, response.text
