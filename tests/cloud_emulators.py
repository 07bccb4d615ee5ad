"""moto's server (S3) and Azurite (Azure Blob), started once per test session.

A pytest plugin (loaded from ``tests/conftest.py``), shaped like ``tests/emulators.py``: each
emulator runs on a free loopback port and stops at the end; one that is missing or cannot start
fails the tests that need it, never skips. ``make test-services`` installs moto's server in a
venv of its own; Azurite is pinned in package.json (``make node-tools``). Commands, flags and
variables are the ones ``/work/shared/TEST-SERVICES.md`` documents.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators import Emulator, _export, _restore, _start, free_port, unique

ROOT = Path(__file__).resolve().parent.parent
MOTO_SERVER = Path.home() / ".cache" / "moto-venv" / "bin" / "moto_server"
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
REGION = "us-east-1"
# boto3 must never read a profile of this machine nor probe the instance metadata address.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
# Azurite's public development account (the same in every Azurite).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3_BUCKET = "registry-tests"
AZURE_CONTAINER = "registry-tests"


def _require(binary: Path, name: str, install: str) -> str:
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{name} cannot start: {binary} is missing (install it with `{install}`)", pytrace=False)
    return str(binary)


def moto_recording(log_dir: Path, name: str) -> dict[str, str]:
    """Where a moto process writes its request recording (off until a test starts it through
    ``/moto-api/recorder/``; ``tests/e2e/test_aws_policy.py``): the logs, never the work tree."""
    return {"MOTO_RECORDER_FILEPATH": str(log_dir / f"moto-{name}-recording.jsonl")}


@pytest.fixture(scope="session")
def moto_server(emulator_logs: Path) -> Iterator[Emulator]:
    """moto in server mode (in memory); exports the AWS variables every boto3 client reads."""
    binary = _require(MOTO_SERVER, "moto's server", "make test-services")
    port = free_port()
    command = [binary, "-H", "127.0.0.1", "-p", str(port)]
    emulator = _start("moto server", command, port, emulator_logs, env=moto_recording(emulator_logs, "s3"))
    emulator.wait_ready("/moto-api/")
    saved = {name: _export(name, value) for name, value in AWS_ENV.items()}
    yield emulator
    for name, old in saved.items():
        _restore(name, old)
    emulator.stop()


@pytest.fixture(scope="session")
def s3_bucket(moto_server: Emulator) -> str:
    """One bucket for the session; tests isolate themselves by object prefix."""
    s3_client(moto_server).create_bucket(Bucket=S3_BUCKET)
    return S3_BUCKET


def s3_client(moto: Emulator) -> object:
    import boto3

    return boto3.client("s3", region_name=REGION, endpoint_url=f"http://{moto.host}")


def s3_backend_settings(moto: Emulator, bucket: str) -> dict[str, str]:
    """Raw settings of an ``s3`` storage on moto, isolated by a fresh prefix."""
    return {
        "pypi.storage": "s3",
        "storage.bucket": bucket,
        "storage.prefix": unique("t") + "/",
        "storage.endpoint_url": f"http://{moto.host}",
        "storage.region_name": REGION,
    }


@pytest.fixture
def s3_settings(moto_server: Emulator, s3_bucket: str) -> dict[str, str]:
    return s3_backend_settings(moto_server, s3_bucket)


@pytest.fixture(scope="session")
def azurite(emulator_logs: Path) -> Iterator[Emulator]:
    """Azurite's Blob service, in memory, with telemetry off."""
    binary = _require(AZURITE, "Azurite", "make node-tools")
    port = free_port()
    command = [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--skipApiVersionCheck"]
    command += ["--loose", "--disableTelemetry", "--inMemoryPersistence"]
    emulator = _start("Azurite", command, port, emulator_logs)
    emulator.wait_ready(f"/{AZURE_ACCOUNT}?comp=list", statuses=(200, 403))  # 403: unsigned
    yield emulator
    emulator.stop()


def azurite_url(azurite: Emulator) -> str:
    return f"http://{azurite.host}/{AZURE_ACCOUNT}"


@pytest.fixture(scope="session")
def azure_container(azurite: Emulator) -> str:
    """One container for the session; tests isolate themselves by blob name prefix."""
    from azure.storage.blob import BlobServiceClient

    credential = {"account_name": AZURE_ACCOUNT, "account_key": AZURE_KEY}
    BlobServiceClient(azurite_url(azurite), credential=credential).create_container(AZURE_CONTAINER)
    return AZURE_CONTAINER


def azure_backend_settings(azurite: Emulator, container: str) -> dict[str, str]:
    """Raw settings of an ``azure-blob`` storage on Azurite (pypicloud's keys), isolated by prefix."""
    return {
        "pypi.storage": "azure-blob",
        "storage.storage_account_name": AZURE_ACCOUNT,
        "storage.storage_account_key": AZURE_KEY,
        "storage.storage_account_url": azurite_url(azurite),
        "storage.storage_container_name": container,
        "storage.prefix": unique("t") + "/",
    }


@pytest.fixture
def azure_settings(azurite: Emulator, azure_container: str) -> dict[str, str]:
    return azure_backend_settings(azurite, azure_container)
