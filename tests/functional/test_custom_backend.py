"""Backends of one's own by dotted path, through the whole app (in process: the example keeps
files in memory, which one process sees), and the docs showing the example as it is tested."""

from __future__ import annotations

import re
from pathlib import Path

from tests.distributions import Dist, wheel_bytes
from tests.example_backend import MemoryStorage
from tests.recovery.conftest import build
from tests.server import ROOT, base_settings


def test_the_example_storage_serves_uploads_and_ranges(tmp_path: Path) -> None:
    settings = base_settings(tmp_path / "data") | {
        "pypi.storage": "tests.example_backend:MemoryStorage",
        "pypi.db": "registry.cache.sqlite.SQLiteCache",  # pypicloud's dotted form, for a built-in
        "pypi.auth": "registry.access.db:DBAccess",
    }
    registry = build(settings)
    try:
        assert isinstance(registry.services.storage, MemoryStorage)
        dist = Dist("custom-backend", "1.0")
        assert registry.upload_wheel(dist).status_code == 200
        assert registry.listed("custom-backend") == [dist.wheel_name]
        page = registry.client.get(
            "/simple/custom-backend/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        url = page.get_json()["files"][0]["url"].replace("../../", "/")
        assert registry.client.get(url).data == wheel_bytes(dist)
        ranged = registry.client.get(url, headers={"Range": "bytes=5-14"})
        assert ranged.status_code == 206 and ranged.data == wheel_bytes(dist)[5:15]
        assert registry.client.get("/health").status_code == 200
    finally:
        registry.services.cache.close()


def test_extending_md_shows_the_example_exactly_as_tested() -> None:
    doc = (ROOT / "docs" / "extending.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.DOTALL)
    source = (ROOT / "tests" / "example_backend.py").read_text()
    assert source in blocks, "copy tests/example_backend.py into docs/extending.md"
