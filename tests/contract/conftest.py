"""Backends for the contract suites: every registered backend, plus the example backend of
docs/extending.md by dotted path, built from settings as the app does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.cache import Cache, cache_from_config
from registry.config import load_config
from registry.storage import BACKENDS as STORAGES
from registry.storage import Storage, storage_from_config

#: Storage backend -> the fixture giving its settings on an emulator. A backend not here is
#: local and gets a fresh directory; a new cloud backend is one entry.
EMULATED: dict[str, str] = {
    "gcs": "gcp_settings",
    "s3": "s3_settings",
    "azure-blob": "azure_settings",
}
#: Classes of one's own, named by dotted path as in ``pypi.storage`` (docs/extending.md).
CUSTOM_STORAGES = ["tests.example_backend:MemoryStorage"]

#: Every target the Cache contract runs on: test id -> the fixture giving its raw settings
#: (``pypi.db`` and ``db.*``, isolated per test). A new backend, or a new database under one,
#: is one row here; ``test_every_cache_backend_has_a_contract_target`` keeps the table complete.
CACHE_TARGETS: dict[str, str] = {
    "sqlite": "sqlite_settings",
    "firestore": "firestore_settings",
    "sql-postgresql": "sql_postgres_settings",  # tests/db_services.py
    "sql-mariadb": "sql_mariadb_settings",
    "sql-sqlite": "sql_sqlite_settings",
    "dynamo": "dynamo_settings",
}


def _settings(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if name in EMULATED:
        settings: dict[str, str] = request.getfixturevalue(EMULATED[name])
    else:
        settings = {"storage.dir": str(tmp_path / "packages")}
    return {**settings, "pypi.storage": name}


@pytest.fixture(params=sorted(STORAGES) + CUSTOM_STORAGES)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each Storage backend in turn, empty."""
    config = load_config(environ={}, overrides=_settings(request.param, tmp_path, request))
    return storage_from_config(config)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> dict[str, str]:
    return {"pypi.db": "sqlite", "db.path": str(tmp_path / "registry.db")}


@pytest.fixture
def firestore_settings(gcp_settings: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in gcp_settings.items() if key.startswith(("db.", "pypi.db"))}


@pytest.fixture(params=list(CACHE_TARGETS))
def cache(request: pytest.FixtureRequest) -> Iterator[Cache]:
    """Each Cache backend (on each of its databases) in turn, empty."""
    settings: dict[str, str] = request.getfixturevalue(CACHE_TARGETS[request.param])
    built = cache_from_config(load_config(environ={}, overrides=settings))
    yield built
    built.close()
