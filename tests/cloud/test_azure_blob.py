"""What only the Azure Blob backend promises (on Azurite): metadata within Azure's 8 KiB,
block uploads that race and fail cleanly, reads pinned to one version, read-only SAS URLs,
account key or connection string, and its settings. The shared contract is in tests/contract/."""

from __future__ import annotations

import base64
import io
import json
import os
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.blob import ContainerClient

from registry.config import load_config
from registry.errors import AlreadyExists, BackendUnavailable, ConfigError
from registry.storage import storage_from_config
from registry.storage.azure_blob import BLOCK_BYTES, META_BYTES, AzureBlobStorage
from registry.storage.azure_config import settings_from_config
from tests.cloud.conftest import KEY, InterruptedBy, race_puts
from tests.cloud_emulators import AZURE_ACCOUNT, AZURE_KEY, azurite_url
from tests.emulators import Emulator, unique


def build(settings: dict[str, str]) -> AzureBlobStorage:
    built = storage_from_config(load_config(environ={}, overrides=settings))
    assert isinstance(built, AzureBlobStorage)
    return built


@pytest.fixture
def storage(azure_settings: dict[str, str]) -> AzureBlobStorage:
    return build(azure_settings)


@pytest.fixture
def raw(azurite: Emulator, azure_container: str) -> ContainerClient:
    credential = {"account_name": AZURE_ACCOUNT, "account_key": AZURE_KEY}
    return ContainerClient(azurite_url(azurite), azure_container, credential=credential)


def test_meta_stays_within_the_metadata_limit(storage: AzureBlobStorage, raw: ContainerClient) -> None:
    big = {"record": json.dumps({"requires_dist": [f"dependency-{n}>=1" for n in range(800)]})}
    storage.put(KEY, io.BytesIO(b"data"), big)
    metadata = raw.get_blob_client(storage.prefix + KEY).get_blob_properties().metadata
    assert sum(len(k) + len(v) for k, v in metadata.items()) <= META_BYTES
    assert storage.get_meta(KEY) == big
    small = {"record": "démo  two spaces\nand a line", "uploader": "alice"}
    storage.set_meta(KEY, small)
    properties = raw.get_blob_client(storage.prefix + KEY).get_blob_properties()
    assert properties.metadata == {
        "record": "d%C3%A9mo%20%20two%20spaces%0Aand%20a%20line",
        "uploader": "alice",
    }
    assert properties.content_settings.content_type == "application/octet-stream"
    assert storage.get_meta(KEY) == small
    storage.delete(KEY)
    assert list(raw.list_blob_names(name_starts_with=storage.prefix)) == []  # sidecar gone too


def test_objects_live_under_the_prefix(storage: AzureBlobStorage, azure_settings: dict[str, str]) -> None:
    storage.put(KEY, io.BytesIO(b"data"), {})
    neighbour = build(azure_settings | {"storage.prefix": unique("t")})
    assert list(neighbour.list_keys()) == [] and not neighbour.exists(KEY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"storage.storage_container_name": "no-such-container"}, "does not exist"),
        ({"storage.storage_account_key": base64.b64encode(b"k" * 64).decode()}, "AuthorizationFailure"),
    ],
    ids=["missing-container", "wrong-key"],
)
def test_unusable_settings_are_unhealthy(
    azure_settings: dict[str, str], change: dict[str, str], message: str
) -> None:
    with pytest.raises(BackendUnavailable, match=message):
        build(azure_settings | change).check_health()


def test_a_connection_string_works_instead_of_name_and_key(
    azure_settings: dict[str, str], azurite: Emulator
) -> None:
    connection = f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
    connection += f"BlobEndpoint={azurite_url(azurite)};"
    settings = {k: v for k, v in azure_settings.items() if "account" not in k}
    storage = build(settings | {"storage.storage_connection_string": connection})
    storage.put(KEY, io.BytesIO(b"via connection string"), {"record": "r"})
    assert storage.read_bytes(KEY) == b"via connection string"
    storage.check_health()


def test_a_block_upload_is_refused_if_the_blob_appears_meanwhile(storage: AzureBlobStorage) -> None:
    def other_writer() -> None:
        storage.put(KEY, io.BytesIO(b"the other upload won"), {"record": "theirs"})

    source = InterruptedBy(BLOCK_BYTES + 1024 * 1024, BLOCK_BYTES, other_writer)
    with pytest.raises(AlreadyExists):
        storage.put(KEY, source, {"record": "ours"})  # type: ignore[arg-type]
    assert storage.read_bytes(KEY) == b"the other upload won"
    assert storage.get_meta(KEY) == {"record": "theirs"}


def test_racing_block_uploads_have_one_winner(storage: AzureBlobStorage) -> None:
    outcomes, contents = race_puts(storage, BLOCK_BYTES + 1024 * 1024)
    (winner,) = [number for number, outcome in outcomes.items() if outcome == "stored"]
    assert storage.read_bytes(KEY) == contents[winner]  # never blocks of two writers mixed
    assert storage.get_meta(KEY) == {"writer": str(winner)}


def test_a_read_never_mixes_two_versions_of_a_blob(storage: AzureBlobStorage) -> None:
    storage.put(KEY, io.BytesIO(os.urandom(3 * 1024 * 1024)), {})
    stored = storage.open(KEY)
    assert len(stored.stream.read(1000)) == 1000
    storage.delete(KEY)
    storage.put(KEY, io.BytesIO(os.urandom(3 * 1024 * 1024)), {})  # replaced (allow_overwrite)
    stored.stream.seek(2 * 1024 * 1024)
    with pytest.raises(BackendUnavailable, match="already exists or changed"):
        stored.stream.read(1000)
    stored.stream.close()


def test_an_empty_blob_reads_as_empty(storage: AzureBlobStorage) -> None:
    storage.put(KEY, io.BytesIO(b""), {})
    stored = storage.open(KEY)
    assert stored.size == 0 and stored.stream.read() == b""


def test_sas_download_urls_read_one_blob_only(azure_settings: dict[str, str]) -> None:
    storage = build(azure_settings | {"storage.redirect_urls": "true", "storage.redirect_seconds": "90"})
    storage.put(KEY, io.BytesIO(b"sas bytes"), {})
    url = storage.download_url(KEY)
    assert url is not None
    assert parse_qs(urlsplit(url).query)["sp"] == ["r"]
    assert requests.get(url, timeout=10).content == b"sas bytes"
    refused = requests.put(url, data=b"other", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert refused.status_code == 403
    assert storage.read_bytes(KEY) == b"sas bytes"


CONTAINER = {"storage.storage_container_name": "packages"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "storage.storage_container_name is required"),
        ({"storage.storage_container_name": "Bad_Name"}, "not a valid container name"),
        (CONTAINER, "needs storage.storage_account_name and storage.storage_account_key"),
        (
            CONTAINER
            | {
                "storage.storage_connection_string": "BlobEndpoint=https://x;SharedAccessSignature=sv=1",
                "storage.redirect_urls": "true",
            },
            "needs the account key to sign SAS URLs",
        ),
        (CONTAINER | {"storage.storage_connection_string": "no pairs here"}, "expected Name=value"),
    ],
)
def test_bad_settings_stop_start_up(settings: dict[str, str], message: str) -> None:
    config = load_config(environ={}, overrides={"pypi.storage": "azure-blob", **settings})
    with pytest.raises(ConfigError, match=message):
        settings_from_config(config, environ={})


def test_the_azure_tools_variables_fill_in_for_settings() -> None:
    config = load_config(environ={}, overrides={"pypi.storage": "azure-blob", **CONTAINER})
    environ = {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "a2V5"}
    found = settings_from_config(config, environ=environ)
    assert (found.account_name, found.account_key) == ("acct", "a2V5")
    assert found.account_url == "https://acct.blob.core.windows.net"
    given = config.replace(**{"storage.storage_account_name": "mine"})
    assert settings_from_config(given, environ=environ).account_name == "mine"  # settings win
