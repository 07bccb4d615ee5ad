"""What only the S3 backend promises (on moto): metadata within S3's 2 KiB, multipart uploads
that race and fail cleanly, reads pinned to one version, presigned URLs, and its settings. The
shared contract is in tests/contract/."""

from __future__ import annotations

import io
import json
import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from registry.config import load_config
from registry.errors import AlreadyExists, BackendUnavailable, ConfigError
from registry.storage import storage_from_config
from registry.storage.s3 import META_BYTES, PART_BYTES, S3Storage
from tests.cloud.conftest import KEY, FailingAfter, InterruptedBy, race_puts
from tests.cloud_emulators import s3_client
from tests.emulators import Emulator, unique


@pytest.fixture
def storage(s3_settings: dict[str, str]) -> S3Storage:
    built = storage_from_config(load_config(environ={}, overrides=s3_settings))
    assert isinstance(built, S3Storage)
    return built


@pytest.fixture
def raw(moto_server: Emulator) -> Any:
    return s3_client(moto_server)


def user_metadata(raw: Any, storage: S3Storage, key: str) -> dict[str, str]:
    found: dict[str, str] = raw.head_object(Bucket=storage.bucket, Key=storage.prefix + key)["Metadata"]
    return found


def test_meta_stays_within_the_user_metadata_limit(storage: S3Storage, raw: Any) -> None:
    big = {"record": json.dumps({"requires_dist": [f"dependency-{n}>=1" for n in range(200)]})}
    storage.put(KEY, io.BytesIO(b"data"), big)
    assert sum(len(k) + len(v) for k, v in user_metadata(raw, storage, KEY).items()) <= META_BYTES
    assert storage.get_meta(KEY) == big
    small = {"record": "démo  two spaces\nand a line"}
    storage.set_meta(KEY, small)
    assert user_metadata(raw, storage, KEY) == {"record": "d%C3%A9mo%20%20two%20spaces%0Aand%20a%20line"}
    assert storage.get_meta(KEY) == small
    awkward = {"Upper-Case": "value", "uploader": "alice"}  # not an S3-safe name: sidecar
    storage.set_meta(KEY, awkward)
    assert storage.get_meta(KEY) == awkward
    storage.delete(KEY)
    assert raw.list_objects_v2(Bucket=storage.bucket, Prefix=storage.prefix).get("Contents", []) == []


def test_objects_live_under_the_prefix_typed_as_binary(
    storage: S3Storage, raw: Any, s3_settings: dict[str, str]
) -> None:
    storage.put(KEY, io.BytesIO(b"data"), {})
    head = raw.head_object(Bucket=storage.bucket, Key=storage.prefix + KEY)
    assert head["ContentType"] == "application/octet-stream"
    neighbour = storage_from_config(
        load_config(environ={}, overrides=s3_settings | {"storage.prefix": unique("t")})
    )
    assert list(neighbour.list_keys()) == [] and not neighbour.exists(KEY)


def test_a_missing_bucket_is_unhealthy(s3_settings: dict[str, str]) -> None:
    missing = s3_settings | {"storage.bucket": "no-such-bucket-" + unique("")}
    with pytest.raises(BackendUnavailable, match="does not exist"):
        storage_from_config(load_config(environ={}, overrides=missing)).check_health()


def test_a_failed_large_upload_leaves_no_parts_behind(storage: S3Storage, raw: Any) -> None:
    with pytest.raises(OSError, match="went away"):
        storage.put(KEY, FailingAfter(PART_BYTES + 3 * 1024 * 1024), {})  # type: ignore[arg-type]
    assert raw.list_multipart_uploads(Bucket=storage.bucket, Prefix=storage.prefix).get("Uploads", []) == []
    assert not storage.exists(KEY)


def test_a_multipart_upload_is_refused_if_the_key_appears_meanwhile(storage: S3Storage, raw: Any) -> None:
    def other_writer() -> None:
        storage.put(KEY, io.BytesIO(b"the other upload won"), {"record": "theirs"})

    source = InterruptedBy(PART_BYTES + 1024 * 1024, PART_BYTES, other_writer)
    with pytest.raises(AlreadyExists):
        storage.put(KEY, source, {"record": "ours"})  # type: ignore[arg-type]
    assert storage.read_bytes(KEY) == b"the other upload won"
    assert storage.get_meta(KEY) == {"record": "theirs"}
    assert raw.list_multipart_uploads(Bucket=storage.bucket, Prefix=storage.prefix).get("Uploads", []) == []


def test_racing_multipart_uploads_store_one_whole_file(storage: S3Storage, raw: Any) -> None:
    """S3 makes one conditional completion win; moto checks and completes without a lock, so
    here several may "win" one after the other. What must hold anyway: the object is one
    writer's whole file with that writer's meta, and no parts are left behind."""
    outcomes, contents = race_puts(storage, PART_BYTES + 1024 * 1024)
    assert "stored" in outcomes.values()
    stored = storage.read_bytes(KEY)
    (writer,) = [number for number, content in contents.items() if content == stored]
    assert outcomes[writer] == "stored"
    assert storage.get_meta(KEY) == {"writer": str(writer)}
    assert raw.list_multipart_uploads(Bucket=storage.bucket, Prefix=storage.prefix).get("Uploads", []) == []


def test_set_meta_keeps_the_bytes_of_a_multipart_object(storage: S3Storage) -> None:
    data = os.urandom(PART_BYTES + 100)
    storage.put(KEY, io.BytesIO(data), {"record": "old"})
    storage.set_meta(KEY, {"record": "new"})
    assert storage.get_meta(KEY) == {"record": "new"}
    assert storage.read_bytes(KEY) == data


def test_a_read_never_mixes_two_versions_of_an_object(storage: S3Storage) -> None:
    storage.put(KEY, io.BytesIO(os.urandom(3 * 1024 * 1024)), {})
    stored = storage.open(KEY)
    assert len(stored.stream.read(1000)) == 1000
    storage.delete(KEY)
    storage.put(KEY, io.BytesIO(os.urandom(3 * 1024 * 1024)), {})  # replaced (allow_overwrite)
    stored.stream.seek(2 * 1024 * 1024)
    with pytest.raises(BackendUnavailable, match="already exists or changed"):
        stored.stream.read(1000)
    stored.stream.close()


def test_an_empty_object_reads_as_empty(storage: S3Storage) -> None:
    storage.put(KEY, io.BytesIO(b""), {})
    stored = storage.open(KEY)
    assert stored.size == 0 and stored.stream.read() == b""


def test_presigned_download_urls(s3_settings: dict[str, str]) -> None:
    settings = s3_settings | {"storage.redirect_urls": "true", "storage.expire_after": "120"}
    settings |= {"storage.aws_access_key_id": "AKIDEXAMPLE", "storage.aws_secret_access_key": "secret"}
    storage = storage_from_config(load_config(environ={}, overrides=settings))
    storage.put(KEY, io.BytesIO(b"presigned bytes"), {})
    url = storage.download_url(KEY)
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["120"]  # pypicloud's storage.expire_after
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")  # the settings' key, not the env's
    assert requests.get(url, timeout=10).content == b"presigned bytes"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "storage.bucket is required when pypi.storage = s3"),
        ({"storage.bucket": "a bucket"}, "not a valid bucket name"),
        ({"storage.bucket": "b12", "storage.aws_access_key_id": "AKID"}, "go together: set both"),
        ({"storage.bucket": "b12", "storage.endpoint_url": "s3.example.com"}, "storage.endpoint_url = "),
        ({"storage.bucket": "b12", "storage.redirect_seconds": "0"}, "use 1 to 604800"),
        ({"storage.bucket": "b12", "storage.addressing_style": "dns"}, "choose one of auto, path, virtual"),
    ],
)
def test_bad_settings_stop_start_up(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        storage_from_config(load_config(environ={}, overrides={"pypi.storage": "s3", **settings}))


def test_pypicloud_older_key_names_are_read() -> None:
    settings = {"pypi.storage": "s3", "storage.bucket": "b12", "storage.access_key": "AKID"}
    storage = storage_from_config(load_config(environ={}, overrides=settings | {"storage.secret_key": "s"}))
    assert isinstance(storage, S3Storage)
    assert (storage.options.access_key_id, storage.options.secret_access_key) == ("AKID", "s")
