"""Every bad upload gets a precise 4xx, a readable message, and leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import post_upload, upload_dist
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.server import ALICE, RegistryServer


def assert_refused(response: requests.Response, status: int, *phrases: str) -> None:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    for phrase in phrases:
        assert phrase.lower() in response.text.lower(), response.text


def assert_nothing_stored(server: RegistryServer, project: str) -> None:
    services = server.services()
    assert services.cache.list_files(project) == []
    assert services.cache.project_serial(project) is None
    assert list(services.storage.list_keys(f"{project}/")) == []
    tmp = Path(server.settings["storage.dir"]) / ".tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


@pytest.fixture
def dist(unique_name: str) -> Dist:
    return Dist(unique_name, "1.0")


def raw_upload(server: RegistryServer, dist: Dist, quoted_filename: bytes) -> requests.Response:
    """POST a hand-written multipart body, so the filename reaches the server byte for byte."""
    content = sdist_bytes(dist)
    body = (
        b'--B\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n'
        b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\n' + dist.name.encode() + b"\r\n"
        b'--B\r\nContent-Disposition: form-data; name="version"\r\n\r\n1.0\r\n'
        b'--B\r\nContent-Disposition: form-data; name="sha256_digest"\r\n\r\n'
        + hashlib.sha256(content).hexdigest().encode()
        + b"\r\n"
        b'--B\r\nContent-Disposition: form-data; name="content"; filename="' + quoted_filename + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--B--\r\n"
    )
    headers = {"Content-Type": "multipart/form-data; boundary=B"}
    return server.post("/", auth=("admin", "admin-secret-pw"), data=body, headers=headers)


@pytest.mark.parametrize(
    "quoted_filename",
    [b"a/b-1.0.tar.gz", b"a\\\\b-1.0.tar.gz", b"..-1.0.tar.gz", b"b..c-1.0.tar.gz", b"../b-1.0.tar.gz"],
    ids=["slash", "backslash", "dotdot", "inner-dotdot", "parent-dir"],
)
def test_unsafe_filename_is_refused(server: RegistryServer, dist: Dist, quoted_filename: bytes) -> None:
    response = raw_upload(server, dist, quoted_filename)
    assert_refused(response, 400, "Invalid filename")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


@pytest.mark.parametrize("char", ["\x01", "\x7f", "\t"], ids=["soh", "del", "tab"])
def test_control_character_in_filename_is_refused(server: RegistryServer, dist: Dist, char: str) -> None:
    response = post_upload(server, sdist_bytes(dist), f"{dist.module}{char}-1.0.tar.gz", dist.name, "1.0")
    assert_refused(response, 400, "control characters")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


@pytest.mark.parametrize("newline", [b"%0d%0a", b"\r\n "], ids=["percent-encoded", "folded-header"])
def test_crlf_in_filename_is_refused(server: RegistryServer, dist: Dist, newline: bytes) -> None:
    response = raw_upload(server, dist, dist.module.encode() + newline + b"x-1.0.tar.gz")
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text
    assert_nothing_stored(server, dist.module.replace("_", "-"))


@pytest.mark.parametrize("extension", [".exe", ".egg", ".tar.bz2", ".whl.txt"])
def test_unknown_extension_is_refused(server: RegistryServer, dist: Dist, extension: str) -> None:
    response = post_upload(
        server, b"data", f"{dist.module}-1.0{extension}", dist.name, "1.0", filetype="sdist"
    )
    assert_refused(response, 400, "extension")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_filename_name_disagrees_with_form(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, "something-else", "1.0")
    assert_refused(response, 400, "does not match the project name")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_filename_version_disagrees_with_form(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "2.0")
    assert_refused(response, 400, "does not match the version")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_filetype_disagrees_with_file(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", filetype="sdist")
    assert_refused(response, 400, "filetype")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_metadata_name_disagrees_with_filename(server: RegistryServer, dist: Dist) -> None:
    other = Dist("totally-other", "1.0")
    content = wheel_bytes(other)
    # Put the other project's dist-info under this project's wheel filename.
    response = post_upload(server, content, dist.wheel_name, dist.name, "1.0")
    assert_refused(response, 400, "dist-info")
    sdist = sdist_bytes(other)
    response = post_upload(server, sdist, dist.sdist_name, dist.name, "1.0")
    assert_refused(response, 400, "metadata says the project is")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_metadata_version_disagrees_with_filename(server: RegistryServer, dist: Dist) -> None:
    content = sdist_bytes(Dist(dist.name, "9.9"))
    response = post_upload(server, content, dist.sdist_name, dist.name, "1.0")
    assert_refused(response, 400, "metadata says version")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_invalid_project_name(server: RegistryServer) -> None:
    response = post_upload(server, b"x", "bad name!-1.0.tar.gz", "bad name!", "1.0")
    assert_refused(response, 400)
    response = post_upload(server, sdist_bytes(Dist("fine", "1.0")), "fine-1.0.tar.gz", "-bad-", "1.0")
    assert_refused(response, 400, "invalid project name")


def test_invalid_version(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, b"x", f"{dist.module}-1.0.tar.gz", dist.name, "not.a.version!")
    assert_refused(response, 400, "invalid version")
    response = post_upload(server, b"x", f"{dist.module}-banana.tar.gz", dist.name, "banana")
    assert_refused(response, 400, "invalid")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_wheel_that_is_not_a_zip(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, b"this is not a zip file" * 10, dist.wheel_name, dist.name, "1.0")
    assert_refused(response, 400, "not a valid zip")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


@pytest.mark.parametrize("missing", ["METADATA", "WHEEL", "RECORD"])
def test_wheel_missing_dist_info_file(server: RegistryServer, dist: Dist, missing: str) -> None:
    response = post_upload(server, wheel_bytes(dist, omit=(missing,)), dist.wheel_name, dist.name, "1.0")
    assert_refused(response, 400, f"{missing} is missing")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_wheel_zip_bomb(server: RegistryServer, dist: Dist) -> None:
    buffer = io.BytesIO(wheel_bytes(dist))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{dist.module}/zeros.bin", b"\0" * (100 * 1024 * 1024))
    content = buffer.getvalue()
    assert len(content) < 1024 * 1024  # tiny on the wire
    response = post_upload(server, content, dist.wheel_name, dist.name, "1.0")
    assert_refused(response, 400, "zip bomb")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_sdist_that_is_not_a_tar_gz(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, b"plain text, not gzip" * 20, dist.sdist_name, dist.name, "1.0")
    assert_refused(response, 400, "not a readable gzip-compressed tar")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


@pytest.mark.parametrize("field", ["sha256_digest", "md5_digest", "blake2_256_digest"])
def test_digest_mismatch(server: RegistryServer, dist: Dist, field: str) -> None:
    wrong = {"sha256_digest": "0" * 64, "md5_digest": "0" * 32, "blake2_256_digest": "0" * 64}[field]
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", **{field: wrong})
    assert_refused(response, 400, "digest supplied does not match")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_file_over_the_maximum(make_server: Callable[..., RegistryServer], dist: Dist) -> None:
    small = make_server(**{"pypi.max_file_size": "64KiB"})
    padded = io.BytesIO(wheel_bytes(dist))
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{dist.module}/blob.bin", bytes(range(256)) * 2048)  # 512 KiB stored
    response = post_upload(small, padded.getvalue(), dist.wheel_name, dist.name, "1.0")
    assert_refused(response, 413, "too large")
    assert_nothing_stored(small, dist.module.replace("_", "-"))
    # A file under the limit still works on the same server.
    response = post_upload(small, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0")
    assert response.status_code == 200, response.text


def test_body_that_is_not_multipart(server: RegistryServer) -> None:
    response = server.post("/", auth=("admin", "admin-secret-pw"), json={":action": "file_upload"})
    assert_refused(response, 400, "multipart")


def test_form_without_content(server: RegistryServer, dist: Dist) -> None:
    data = {":action": "file_upload", "name": dist.name, "version": "1.0"}
    response = server.post("/", auth=("admin", "admin-secret-pw"), data=data, files={"other": ("x", b"y")})
    assert_refused(response, 400, "content")


def test_unsupported_action(server: RegistryServer) -> None:
    response = server.post("/", auth=("admin", "admin-secret-pw"), files={":action": (None, "doc_upload")})
    assert_refused(response, 400, "doc_upload")


def test_different_file_under_existing_filename(server: RegistryServer, dist: Dist) -> None:
    upload_dist(server, dist)
    services = server.services()
    project = dist.module.replace("_", "-")
    before = services.cache.list_files(project)
    changed = Dist(dist.name, "1.0", summary="different bytes")
    response = post_upload(server, wheel_bytes(changed), dist.wheel_name, dist.name, "1.0")
    assert response.status_code == 400
    assert response.text.startswith("400 File already exists")
    assert "File already exists" in response.reason
    assert services.cache.list_files(project) == before
    stored = services.storage.read_bytes(f"{project}/{dist.wheel_name}")
    assert stored == wheel_bytes(dist)


def test_identical_reupload_is_ok_and_changes_nothing(server: RegistryServer, dist: Dist) -> None:
    upload_dist(server, dist)
    services = server.services()
    project = dist.module.replace("_", "-")
    serial = services.cache.project_serial(project)
    before = services.cache.list_files(project)
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0")
    assert response.status_code == 200
    assert services.cache.project_serial(project) == serial
    assert services.cache.list_files(project) == before


def test_missing_credentials(server: RegistryServer, dist: Dist) -> None:
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", auth=None)
    assert_refused(response, 401, "authentication required")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


@pytest.mark.parametrize(
    "auth", [("admin", "wrong"), ("nobody", "wrong")], ids=["wrong-password", "unknown-user"]
)
def test_wrong_credentials(server: RegistryServer, dist: Dist, auth: tuple[str, str]) -> None:
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", auth=auth)
    assert_refused(response, 401, "invalid username or password")
    assert_nothing_stored(server, dist.module.replace("_", "-"))


def test_user_without_upload_permission(make_server: Callable[..., RegistryServer], dist: Dist) -> None:
    admins_only = make_server(**{"pypi.default_write": "admin"})
    response = post_upload(admins_only, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", auth=ALICE)
    assert_refused(response, 403, "not allowed to upload")
    assert_nothing_stored(admins_only, dist.module.replace("_", "-"))


@pytest.mark.parametrize("path", ["/", "/legacy/", "/simple/", "/legacy", "/pypi"])
def test_upload_paths_accept_without_redirect(server: RegistryServer, unique_name: str, path: str) -> None:
    dist = Dist(unique_name, "1.0")
    response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", path=path)
    assert response.status_code == 200, response.text
    assert response.history == []
