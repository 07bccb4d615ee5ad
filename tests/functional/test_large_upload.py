"""Large-file uploads over HTTP: open a session, send the bytes to fake-gcs-server, complete.

In-process apps on GCS + Firestore (the emulators); the client's bytes go to the real session
URL. Every refusal is a precise 4xx and leaves nothing behind: no record, no file, no staged
object (except after a backend failure, when the staged object waits for a retry).
"""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from packaging.utils import canonicalize_name
from werkzeug.test import TestResponse

from registry.errors import BackendUnavailable
from registry.storage.base import STAGING_PREFIX
from tests.distributions import Dist, big_wheel_bytes, sdist_bytes, wheel_bytes
from tests.recovery.conftest import Registry, backend_settings_for, build
from tests.server import ADMIN, ALICE, basic_auth


@pytest.fixture
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    built = build(backend_settings_for("gcp", tmp_path, request) | {"pypi.max_large_file_size": "64MiB"})
    yield built
    built.services.cache.close()


@pytest.fixture
def dist(unique_name: str) -> Dist:
    return Dist(canonicalize_name(unique_name), "1.0")


def declaration(content: bytes, filename: str, **fields: Any) -> dict[str, Any]:
    return {
        "filename": filename,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    } | fields


def start(registry: Registry, body: object, auth: tuple[str, str] | None = ADMIN) -> TestResponse:
    headers = {"Authorization": basic_auth(*auth)} if auth else {}
    return registry.client.post("/upload-sessions", json=body, headers=headers)


def send(upload_url: str, content: bytes) -> None:
    """What the client does: PUT the bytes to the session (one chunk)."""
    answer = requests.put(
        upload_url,
        data=content,
        headers={"Content-Range": f"bytes 0-{len(content) - 1}/{len(content)}"},
        timeout=30,
    )
    assert answer.status_code in (200, 201), answer.text


def complete(registry: Registry, session: str, auth: tuple[str, str] | None = ADMIN) -> TestResponse:
    headers = {"Authorization": basic_auth(*auth)} if auth else {}
    return registry.client.post(f"/upload-sessions/{session}/complete", headers=headers)


def staged(registry: Registry) -> list[str]:
    return list(registry.services.storage.list_keys(STAGING_PREFIX))


def upload_large(registry: Registry, content: bytes, filename: str, **fields: Any) -> TestResponse:
    opened = start(registry, declaration(content, filename, **fields))
    assert opened.status_code == 201, opened.text
    send(opened.get_json()["upload_url"], content)
    return complete(registry, opened.get_json()["session"])


def assert_refused(answer: TestResponse, status: int, phrase: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.get_json()
    assert body["status"] == status and phrase.lower() in body["error"].lower(), body
    assert "Traceback" not in answer.text
    assert answer.headers["Cache-Control"] == "no-store"


def assert_nothing_left(registry: Registry, project: str) -> None:
    services = registry.services
    assert services.cache.list_files(project) == []
    assert list(services.storage.list_keys(f"{project}/")) == []
    assert staged(registry) == []


def test_a_file_sent_to_the_bucket_is_checked_recorded_and_served(registry: Registry, dist: Dist) -> None:
    content = wheel_bytes(dist)
    answer = upload_large(registry, content, dist.wheel_name)
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert body["status"] == "created" and body["sha256"] == hashlib.sha256(content).hexdigest()
    assert answer.headers["Cache-Control"] == "no-store"  # an upload answer, never cached
    assert registry.listed(dist.name) == [dist.wheel_name]
    record = registry.services.cache.get_file(dist.name, dist.wheel_name)
    assert record is not None and record.uploader == ADMIN[0] and record.info["summary"] == dist.summary
    assert body["url"].endswith(record.url_path)
    assert registry.client.get(record.url_path).data == content
    assert registry.client.get(record.url_path + ".metadata").data == dist.metadata().encode()
    assert staged(registry) == []  # the staged copy is gone
    # The record rides on the stored object, as for any upload (rebuild reads it back).
    assert "record" in registry.services.storage.get_meta(record.key)


def test_an_sdist_too(registry: Registry, dist: Dist) -> None:
    answer = upload_large(registry, sdist_bytes(dist), dist.sdist_name)
    assert answer.status_code == 200, answer.text
    assert registry.listed(dist.name) == [dist.sdist_name]


def test_the_same_file_again_needs_no_session(registry: Registry, dist: Dist) -> None:
    content = wheel_bytes(dist)
    assert upload_large(registry, content, dist.wheel_name).status_code == 200
    again = start(registry, declaration(content, dist.wheel_name))
    assert again.status_code == 200 and again.get_json()["status"] == "exists"
    other = start(registry, declaration(content + b"x", dist.wheel_name))
    assert_refused(other, 400, "File already exists")
    assert staged(registry) == []


def test_a_file_is_replaced_only_by_who_may_overwrite(registry: Registry, dist: Dist) -> None:
    assert upload_large(registry, wheel_bytes(dist), dist.wheel_name).status_code == 200
    replacing = build(registry.settings | {"pypi.allow_overwrite": "admin"})
    other = wheel_bytes(Dist(dist.name, dist.version, summary="replaced"))
    assert_refused(
        start(replacing, declaration(other, dist.wheel_name), auth=ALICE), 400, "File already exists"
    )
    answer = upload_large(replacing, other, dist.wheel_name)  # as an admin
    assert answer.status_code == 200 and answer.get_json()["status"] == "created", answer.text
    record = replacing.services.cache.get_file(dist.name, dist.wheel_name)
    assert record is not None and record.sha256 == hashlib.sha256(other).hexdigest()
    assert replacing.client.get(urlsplit(answer.get_json()["url"]).path).data == other
    assert staged(replacing) == []


def bad_zip(dist: Dist) -> bytes:
    return b"PK\x03\x04 this is not a zip archive" * 100


def no_metadata(dist: Dist) -> bytes:
    return wheel_bytes(dist, omit=("METADATA",))


def wrong_version(dist: Dist) -> bytes:
    return wheel_bytes(Dist(dist.name, "2.0"))


def zip_bomb(dist: Dist) -> bytes:
    buffer = io.BytesIO(wheel_bytes(dist))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", b"\0" * (3 * 2**20))  # 3 MiB of zeros, a few KiB packed
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (bad_zip, "not a valid zip"),
        (no_metadata, "METADATA is missing"),
        (wrong_version, "its metadata says version"),
        (zip_bomb, "possible zip bomb"),
    ],
    ids=["not-a-zip", "no-metadata", "wrong-version", "zip-bomb"],
)
def test_a_bad_file_is_refused_and_leaves_nothing(
    registry: Registry, dist: Dist, make: Any, phrase: str
) -> None:
    if make is zip_bomb:
        registry = build(registry.settings | {"pypi.max_unpacked_size": "1MiB"})
    answer = upload_large(registry, make(dist), dist.wheel_name)
    assert_refused(answer, 400, phrase)
    assert_nothing_left(registry, dist.name)


def test_bytes_that_differ_from_the_declared_digest_are_refused(registry: Registry, dist: Dist) -> None:
    content = wheel_bytes(dist)
    opened = start(registry, declaration(content, dist.wheel_name))
    send(opened.get_json()["upload_url"], wheel_bytes(Dist(dist.name, "1.0", summary="other bytes")))
    answer = complete(registry, opened.get_json()["session"])
    assert_refused(answer, 400, "sha256 digest supplied does not match")
    assert_nothing_left(registry, dist.name)


def test_more_bytes_than_the_limit_are_refused_while_hashing(registry: Registry, dist: Dist) -> None:
    # Real GCS refuses bytes beyond the declared size; the emulator does not, and the registry's
    # own limit is what must hold either way.
    small = build(registry.settings | {"pypi.max_large_file_size": "2000"})
    content = wheel_bytes(dist) + os.urandom(3000)
    opened = start(small, declaration(content[:1500], dist.wheel_name))
    assert opened.status_code == 201, opened.text
    send(opened.get_json()["upload_url"], content)
    assert_refused(complete(small, opened.get_json()["session"]), 413, "the limit is 2000 bytes")
    assert_nothing_left(small, dist.name)


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ("not an object", 400, "Expected a JSON object"),
        ({"filename": "x-1.0.tar.gz", "size": "12", "sha256": "0" * 64}, 400, "'size' must be a number"),
        ({"filename": "x-1.0.exe", "size": 12, "sha256": "0" * 64}, 400, "unknown file extension"),
        ({"filename": "../x-1.0.tar.gz", "size": 12, "sha256": "0" * 64}, 400, "plain file name"),
        (
            {"filename": "x-1.0.tar.gz", "size": 12, "sha256": "0" * 64, "name": "y"},
            400,
            "does not match the project",
        ),
        (
            {"filename": "x-1.0.tar.gz", "size": 12, "sha256": "0" * 64, "version": "2"},
            400,
            "does not match the version",
        ),
        ({"filename": "x-1.0.tar.gz", "size": 0, "sha256": "0" * 64}, 400, "empty"),
        ({"filename": "x-1.0.tar.gz", "size": 12, "sha256": "abc"}, 400, "64 hex digits"),
        (
            {"filename": "x-1.0.tar.gz", "size": 2**40, "sha256": "0" * 64},
            413,
            "limit for large-file uploads",
        ),
    ],
    ids=[
        "not-json-object",
        "size-type",
        "extension",
        "path",
        "name",
        "version",
        "empty",
        "digest",
        "too-large",
    ],
)
def test_a_bad_declaration_is_refused_before_any_byte(
    registry: Registry, body: object, status: int, phrase: str
) -> None:
    assert_refused(start(registry, body), status, phrase)
    assert staged(registry) == []


def test_upload_permission_is_checked_as_for_a_form_upload(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    admins_only = build(backend_settings_for("gcp", tmp_path, request) | {"pypi.default_write": "admin"})
    content = b"x" * 100
    body = declaration(content, "perm-demo-1.0.tar.gz")
    assert_refused(start(admins_only, body, auth=None), 401, "Authentication required to upload")
    assert_refused(start(admins_only, body, auth=ALICE), 403, "not allowed to upload")
    assert_refused(start(admins_only, body, auth=("alice", "wrong")), 401, "Invalid username or password")
    # Completing checks again: alice opened a session while she could upload, then lost the right.
    open_to_all = build(admins_only.settings | {"pypi.default_write": "authenticated"})
    opened = start(open_to_all, body, auth=ALICE)
    assert opened.status_code == 201
    send(opened.get_json()["upload_url"], content)
    assert_refused(
        complete(admins_only, opened.get_json()["session"], auth=ALICE), 403, "not allowed to upload"
    )


def test_someone_elses_session_cannot_be_completed(registry: Registry, dist: Dist) -> None:
    content = wheel_bytes(dist)
    opened = start(registry, declaration(content, dist.wheel_name))
    session = opened.get_json()["session"]
    send(opened.get_json()["upload_url"], content)
    assert_refused(complete(registry, session, auth=ALICE), 404, "No upload session")
    assert staged(registry) == [STAGING_PREFIX + session]  # alice cannot delete it either
    assert registry.services.cache.list_files(dist.name) == []
    assert complete(registry, session).status_code == 200  # its owner can
    assert_refused(complete(registry, session), 404, "No upload session")  # once


@pytest.mark.parametrize("session", ["0" * 32, "not-a-session", "A" * 32, "..%2F..%2Fp%2Ff"])
def test_unknown_or_unfinished_sessions_are_not_found(registry: Registry, dist: Dist, session: str) -> None:
    answer = complete(registry, session)
    assert answer.status_code == 404 and "Traceback" not in answer.text
    unfinished = start(registry, declaration(wheel_bytes(dist), dist.wheel_name)).get_json()["session"]
    assert_refused(complete(registry, unfinished), 404, "not sent in full")


def test_a_backend_failure_keeps_the_staged_file_for_a_retry(
    registry: Registry, dist: Dist, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = wheel_bytes(dist)
    opened = start(registry, declaration(content, dist.wheel_name))
    send(opened.get_json()["upload_url"], content)
    cache = registry.services.cache

    def unavailable(
        record: object, claims: object = ()
    ) -> None:  # injected: Firestore down at the worst moment
        raise BackendUnavailable("Firestore: injected failure")

    monkeypatch.setattr(cache, "add_file", unavailable)
    assert complete(registry, opened.get_json()["session"]).status_code == 503
    assert len(staged(registry)) == 1
    monkeypatch.undo()
    retried = complete(registry, opened.get_json()["session"])
    assert retried.status_code == 200 and retried.get_json()["status"] == "created"
    assert registry.listed(dist.name) == [dist.wheel_name]
    assert staged(registry) == []


def test_checking_a_large_staged_file_keeps_memory_bounded(registry: Registry, dist: Dist) -> None:
    content = big_wheel_bytes(dist, 34 * 2**20)
    opened = start(registry, declaration(content, dist.wheel_name))
    send(opened.get_json()["upload_url"], content)
    session = opened.get_json()["session"]
    del content
    tracemalloc.start()
    try:
        answer = complete(registry, session)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["size"] > 34 * 2**20
    print(f"\npeak Python memory while checking a 34 MiB staged wheel: {peak / 2**20:.1f} MiB")
    assert peak < 16 * 2**20  # a few read buffers, never the file
    # Served chunked: Cloud Run refuses HTTP/1 answers that declare more than 32 MiB.
    download = registry.client.get(urlsplit(answer.get_json()["url"]).path)
    assert download.status_code == 200 and "Content-Length" not in download.headers
    assert hashlib.sha256(download.data).hexdigest() == answer.get_json()["sha256"]


def test_local_storage_says_large_uploads_need_gcs(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    local = build(backend_settings_for("local", tmp_path, request))
    body = declaration(b"x" * 10, "local-demo-1.0.tar.gz")
    assert_refused(start(local, body), 400, "Large-file uploads need pypi.storage = gcs")
    assert_refused(complete(local, "0" * 32), 400, "Large-file uploads need pypi.storage = gcs")
    local.services.cache.close()


def test_the_upload_rules_with_stored_state_refuse_at_declare_before_any_byte(
    registry: Registry, dist: Dist
) -> None:
    """docs/uploads.md "Rules that need stored state": the declared sha256 and filename suffice."""
    content = sdist_bytes(dist)
    assert upload_large(registry, content, dist.sdist_name).status_code == 200
    respelled = f"{dist.name}-1.0.tar.gz"  # the same bytes, and a second sdist of the release
    assert_refused(
        start(registry, declaration(content, respelled)), 400, "The same file was already uploaded"
    )
    other = sdist_bytes(Dist(dist.name, "1.0", summary="again"))
    assert_refused(
        start(registry, declaration(other, respelled)), 400, "Only one sdist may be uploaded per release"
    )
    assert staged(registry) == []  # no session was opened
    assert registry.listed(dist.name) == [dist.sdist_name]
