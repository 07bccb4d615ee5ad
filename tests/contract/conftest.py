"""Backends for the contract suites: every registered backend, plus the example backend of
docs/extending.md by dotted path, built from settings as the app does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.cache import BACKENDS as CACHES
from registry.cache import Cache, cache_from_config
from registry.config import load_config
from registry.storage import BACKENDS as STORAGES
from registry.storage import Storage, storage_from_config

#: Backend -> the fixture giving its settings on an emulator. A backend not here is local and
#: gets a fresh directory and database file; a new cloud backend is one entry.
EMULATED: dict[str, str] = {
    "gcs": "gcp_settings",
    "firestore": "gcp_settings",
    "s3": "s3_settings",
    "azure-blob": "azure_settings",
}
#: Classes of one's own, named by dotted path as in ``pypi.storage`` (docs/extending.md).
CUSTOM_STORAGES = ["tests.example_backend:MemoryStorage"]


def _settings(kind: str, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if name in EMULATED:
        settings: dict[str, str] = request.getfixturevalue(EMULATED[name])
    else:
        settings = {"storage.dir": str(tmp_path / "packages"), "db.path": str(tmp_path / "registry.db")}
    return {**settings, f"pypi.{kind}": name}


@pytest.fixture(params=sorted(STORAGES) + CUSTOM_STORAGES)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each Storage backend in turn, empty."""
    config = load_config(environ={}, overrides=_settings("storage", request.param, tmp_path, request))
    return storage_from_config(config)


@pytest.fixture(params=sorted(CACHES))
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cache]:
    """Each Cache backend in turn, empty."""
    config = load_config(environ={}, overrides=_settings("db", request.param, tmp_path, request))
    built = cache_from_config(config)
    yield built
    built.close()
