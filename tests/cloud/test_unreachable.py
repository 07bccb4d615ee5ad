"""A cloud storage that cannot be reached: building the app connects nothing, and requests
get the registry's own 503 naming the backend within seconds, never a vendor exception or a
hang (the first request's start-up work lists the storage, so every request waits for it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cloud_emulators import AWS_ENV, AZURE_ACCOUNT, AZURE_KEY
from tests.distributions import Dist
from tests.emulators import free_port
from tests.recovery.conftest import build
from tests.server import base_settings

CLOSED = f"http://127.0.0.1:{free_port()}"  # nothing listens here
UNREACHABLE = {
    "s3": {"storage.bucket": "packages", "storage.endpoint_url": CLOSED, "storage.region_name": "us-east-1"},
    "azure-blob": {
        "storage.storage_account_name": AZURE_ACCOUNT,
        "storage.storage_account_key": AZURE_KEY,
        "storage.storage_account_url": f"{CLOSED}/{AZURE_ACCOUNT}",
        "storage.storage_container_name": "packages",
    },
}


@pytest.mark.parametrize("name", sorted(UNREACHABLE))
def test_an_unreachable_store_is_a_503_naming_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in AWS_ENV.items():
        monkeypatch.setenv(variable, value)
    started = time.monotonic()
    registry = build(base_settings(tmp_path) | {"pypi.storage": name, **UNREACHABLE[name]})
    assert time.monotonic() - started < 5  # no connection attempt while building
    try:
        health = registry.client.get("/health")
        assert health.status_code == 503
        assert health.get_json()["error"].startswith(("S3: cannot", "Azure: cannot"))
        upload = registry.upload_wheel(Dist("demo", "1.0"))
        assert upload.status_code == 503, upload.get_data(as_text=True)
        assert "Traceback" not in upload.get_data(as_text=True)
    finally:
        registry.services.cache.close()
    assert time.monotonic() - started < 30  # a few quick retries, not the SDKs' minutes
