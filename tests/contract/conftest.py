"""Backends for the contract suites: every registered backend that runs locally.

Branch ``gcp`` has the full version of this file (Firestore and GCS against their emulators,
same fixture names): when the two meet, keep that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.cache import Cache, cache_from_config
from registry.config import load_config

LOCAL_CACHES = ("sqlite",)


@pytest.fixture(params=LOCAL_CACHES)
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cache]:
    """Each Cache backend in turn, empty."""
    settings = {"storage.dir": str(tmp_path / "packages"), "db.path": str(tmp_path / "registry.db")}
    config = load_config(environ={}, overrides={**settings, "pypi.db": request.param})
    built = cache_from_config(config)
    yield built
    built.close()
