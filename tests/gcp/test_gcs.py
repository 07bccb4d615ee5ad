"""What only the GCS backend promises: metadata within GCS's limit, signed download URLs,
prefixes, and its settings. The shared contract is in tests/contract/."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.cloud import storage as gcs

from registry.config import load_config
from registry.errors import BackendUnavailable, ConfigError
from registry.storage.gcs import INLINE_META_BYTES, GCSStorage
from tests.distributions import Dist
from tests.emulators import PROJECT, unique
from tests.recovery.conftest import backend_settings_for, build

KEY = "demo/demo-1.0-py3-none-any.whl"


@pytest.fixture
def bucket(gcs_bucket: str) -> gcs.Bucket:
    return gcs.Client(project=PROJECT).bucket(gcs_bucket)


@pytest.fixture
def storage(gcs_bucket: str) -> GCSStorage:
    return GCSStorage(gcs_bucket, prefix=unique("t") + "/", project=PROJECT)


def test_large_meta_stays_within_the_custom_metadata_limit(storage: GCSStorage, bucket: gcs.Bucket) -> None:
    big = {"record": json.dumps({"requires_dist": [f"dependency-{n}>=1" for n in range(800)]})}
    storage.put(KEY, io.BytesIO(b"data"), big)
    blob = bucket.get_blob(storage.prefix + KEY)
    assert sum(len(k) + len(v) for k, v in (blob.metadata or {}).items()) <= INLINE_META_BYTES
    assert storage.get_meta(KEY) == big
    small = {"record": "{}"}
    storage.set_meta(KEY, small)
    assert bucket.get_blob(storage.prefix + KEY).metadata == small
    storage.delete(KEY)
    assert [blob.name for blob in bucket.list_blobs(prefix=storage.prefix)] == []  # sidecar gone too


def test_objects_live_under_the_prefix(storage: GCSStorage, bucket: gcs.Bucket, gcs_bucket: str) -> None:
    storage.put(KEY, io.BytesIO(b"data"), {"record": "{}"})
    assert bucket.get_blob(storage.prefix + KEY) is not None
    neighbour = GCSStorage(gcs_bucket, prefix=unique("t") + "/", project=PROJECT)
    assert list(neighbour.list_keys()) == []
    assert not neighbour.exists(KEY)


def test_objects_are_typed_as_binary(storage: GCSStorage, bucket: gcs.Bucket) -> None:
    storage.put(KEY, io.BytesIO(b"data"), {})
    assert bucket.get_blob(storage.prefix + KEY).content_type == "application/octet-stream"


def test_a_missing_bucket_is_unhealthy(gcs_emulator: object) -> None:
    missing = GCSStorage("no-such-bucket-" + unique(""), project=PROJECT)
    with pytest.raises(BackendUnavailable, match="does not exist"):
        missing.check_health()


def service_account_key(path: Path) -> Path:
    """A throwaway service-account key file: signing works offline with it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "test",
        "private_key": pem,
        "client_email": f"registry@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",
    }
    path.write_text(json.dumps(info))
    return path


def test_downloads_redirect_to_signed_urls(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = backend_settings_for("gcp", tmp_path, request)
    settings.update(
        {
            "storage.redirect_urls": "true",
            "storage.redirect_seconds": "120",
            "storage.signing_key_file": str(service_account_key(tmp_path / "key.json")),
        }
    )
    registry = build(settings)
    dist = Dist("signed-demo", "1.0")
    assert registry.upload_wheel(dist).status_code == 200
    page = registry.client.get("/simple/signed-demo/").text
    assert "X-Goog-Signature" not in page and "../../packages/signed-demo/" in page  # stable links
    record = registry.services.cache.get_file("signed-demo", dist.wheel_name)
    assert record is not None
    answer = registry.client.get(record.url_path)
    assert answer.status_code == 302
    assert answer.headers["Cache-Control"] == "no-store"
    location = answer.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["120"]
    assert query["X-Goog-Credential"][0].startswith(f"registry@{PROJECT}.iam.gserviceaccount.com/")
    # The emulator serves signed URLs (without checking signatures): the bytes are the file's.
    downloaded = requests.get(location, timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == registry.services.storage.read_bytes(record.key)
    # The metadata file is small and still served by the app.
    assert registry.client.get(record.url_path + ".metadata").status_code == 200


def config(**settings: str) -> object:
    return load_config(environ={}, overrides={"pypi.storage": "gcs", **settings})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "storage.bucket is required"),
        ({"storage.bucket": "Not_A_Bucket"}, "not a valid bucket name"),
        ({"storage.bucket": "b", "storage.prefix": "/abs"}, "storage.prefix"),
        ({"storage.bucket": "bucket", "storage.redirect_urls": "maybe"}, "storage.redirect_urls"),
        (
            {"storage.bucket": "bucket", "storage.redirect_urls": "yes", "storage.redirect_seconds": "0"},
            "1 to",
        ),
        ({"storage.bucket": "bucket", "storage.signing_key_file": "/no/such/key.json"}, "no such file"),
        ({"storage.bucket": "bucket", "storage.signing_key_file": __file__}, "not a service account key"),
    ],
)
def test_settings_are_validated_without_connecting(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GCSStorage.from_config(config(**settings))  # type: ignore[arg-type]


def test_valid_settings(tmp_path: Path) -> None:
    built = GCSStorage.from_config(config(**{"storage.bucket": "my-bucket", "storage.prefix": "team"}))  # type: ignore[arg-type]
    assert (built.bucket_name, built.prefix, built.redirect_urls) == ("my-bucket", "team/", False)
