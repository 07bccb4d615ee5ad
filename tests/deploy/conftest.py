"""Session fixtures: live gunicorn servers (public and private reads) and Hosting in front."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.distributions import Dist, write_wheel

from .servers import ROOT, FakeCloudRun, Process, Users, basic_auth, start_gunicorn, start_hosting

DEMO = Dist("deploy-demo", "1.0")


@dataclass
class Registry:
    """A running registry and what was uploaded to it."""

    server: Process
    users: Users
    wheel: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def admin(self) -> str:
        return basic_auth("admin", self.users.admin_password)

    @property
    def bob(self) -> str:
        return basic_auth("bob", self.users.bob_password)

    def file_path(self) -> str:
        """The wheel's URL path, as the JSON API lists it."""
        document = requests.get(f"{self.url}/pypi/{DEMO.name}/json", headers={"Authorization": self.admin})
        document.raise_for_status()
        url: str = document.json()["urls"][0]["url"]
        return url[url.index("/packages/") :]


def upload(url: str, wheel: Path, authorization: str | None, **fields: str) -> requests.Response:
    """POST a wheel the way twine does (legacy upload API)."""
    name, version = wheel.name.split("-")[:2]
    form = {":action": "file_upload", "name": name, "version": version, "filetype": "bdist_wheel"}
    form["sha256_digest"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    form.update(fields)
    headers = {"Authorization": authorization} if authorization else {}
    with wheel.open("rb") as content:
        return requests.post(
            url + "/", data=form, files={"content": (wheel.name, content)}, headers=headers, timeout=30
        )


def _registry(tmp: Path, name: str, **settings: str) -> Iterator[Registry]:
    users = Users()
    env = {**users.settings(), "REGISTRY_LOG_FORMAT": "json", **settings}
    server = start_gunicorn(tmp, env, name=name)
    try:
        wheel = write_wheel(tmp, DEMO)
        registry = Registry(server, users, wheel)
        answer = upload(server.url, wheel, registry.admin)
        assert answer.status_code == 200, answer.text
        yield registry
    finally:
        server.stop()


@pytest.fixture(scope="session")
def public_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Reads open to everyone: what a CDN may cache."""
    yield from _registry(tmp_path_factory.mktemp("public"), "public")


@pytest.fixture(scope="session")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Reads need a login: nothing may be cached in a shared cache."""
    yield from _registry(
        tmp_path_factory.mktemp("private"), "private", REGISTRY_PYPI_DEFAULT_READ="authenticated"
    )


@dataclass
class Hosting:
    emulator: Process
    cloud_run: FakeCloudRun
    registry: Registry

    @property
    def url(self) -> str:
        return self.emulator.url


@pytest.fixture(scope="session")
def hosting(tmp_path_factory: pytest.TempPathFactory, public_registry: Registry) -> Iterator[Hosting]:
    """The Firebase Hosting emulator with the repository's rewrite, in front of the public registry."""
    rewrite = json.loads((ROOT / "firebase.json").read_text())["hosting"]["rewrites"][0]["run"]
    fake = FakeCloudRun({(rewrite["region"], rewrite["serviceId"]): public_registry.url})
    with fake.serve():
        emulator = start_hosting(tmp_path_factory.mktemp("hosting"), fake.url)
        try:
            yield Hosting(emulator, fake, public_registry)
        finally:
            emulator.stop()
