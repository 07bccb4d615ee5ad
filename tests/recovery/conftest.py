"""An in-process registry on each backend pair, for tests that inject faults into its backends."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from registry import create_app
from registry.config import load_config
from tests.backends import Backends as Services
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, base_settings, basic_auth


@dataclass
class Registry:
    """An app, its services, and the raw settings it was built from."""

    app: Flask
    settings: dict[str, str]

    @property
    def services(self) -> Services:
        return Services(self.app.extensions["registry"])

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def upload(self, content: bytes, filename: str, name: str, version: str) -> TestResponse:
        form = {
            ":action": "file_upload",
            "name": name,
            "version": version,
            "sha256_digest": hashlib.sha256(content).hexdigest(),
            "content": (io.BytesIO(content), filename),
        }
        return self.client.post("/", data=form, headers={"Authorization": basic_auth(*ADMIN)})

    def upload_wheel(self, dist: Dist) -> TestResponse:
        return self.upload(wheel_bytes(dist), dist.wheel_name, dist.name, dist.version)

    def listed(self, project: str) -> list[str]:
        """File names on the project's simple page (JSON), [] when it is a 404."""
        page = self.client.get(
            f"/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        if page.status_code == 404:
            return []
        assert page.status_code == 200, page.text
        return sorted(entry["filename"] for entry in page.get_json()["files"])


def backend_settings_for(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    settings = base_settings(tmp_path / "data")
    if kind == "gcp":
        settings.update(request.getfixturevalue("gcp_settings"))
    return settings


def build(settings: dict[str, str]) -> Registry:
    return Registry(create_app(load_config(environ={}, overrides=settings)), settings)


@pytest.fixture(params=["local", "gcp"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    built = build(backend_settings_for(request.param, tmp_path, request))
    yield built
    built.services.cache.close()
