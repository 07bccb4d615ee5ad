"""``pypi.allow_overwrite`` and ``pypi.allow_delete``: who may replace or delete files, and how a
replaced file's old URL never serves the new bytes."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import create_app
from registry.access.tokens import create_token
from registry.core.pipeline import storage_meta
from tests.conftest import upload_form
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.server import ADMIN, ALICE, base_settings

BOB = ("bob", "bob-secret-pw")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    from registry.access.passwords import hash_password

    built = create_app(
        {
            **base_settings(tmp_path),
            f"user.{BOB[0]}": hash_password(BOB[1]),
            "group.staff": ALICE[0],
            "pypi.allow_overwrite": "admin, staff",
            "pypi.allow_delete": "staff",
        }
    )
    yield built
    built.extensions["registry"].stores.close()


def upload(client: FlaskClient, content: bytes, filename: str, name: str, version: str, auth: object) -> int:
    data, files = upload_form(content, filename, name, version)
    form = {**data, "content": (io.BytesIO(files["content"][1]), filename)}
    return client.post("/", data=form, auth=auth).status_code


def links(client: FlaskClient, project: str) -> list[str]:
    page = client.get(f"/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    return ["/" + entry["url"].removeprefix("../../") for entry in page.get_json()["files"]]


def test_overwrite_replaces_the_file_under_a_new_url(app: Flask) -> None:
    client = app.test_client()
    first, second = Dist("replaced", "1.0"), Dist("replaced", "1.0", summary="rebuilt")
    assert upload(client, wheel_bytes(first), first.wheel_name, "replaced", "1.0", ADMIN) == 200
    (old_url,) = links(client, "replaced")
    assert client.get(old_url).data == wheel_bytes(first)
    assert upload(client, wheel_bytes(second), second.wheel_name, "replaced", "1.0", ADMIN) == 200
    (new_url,) = links(client, "replaced")
    assert new_url != old_url and hashlib.sha256(wheel_bytes(second)).hexdigest()[:16] in new_url
    assert client.get(new_url).data == wheel_bytes(second)
    assert b"rebuilt" in client.get(new_url + ".metadata").data
    assert client.get(old_url).status_code == 404
    assert client.get(old_url + ".metadata").status_code == 404


def test_overwrite_of_an_sdist(app: Flask) -> None:
    client = app.test_client()
    first, second = Dist("replaced-sdist", "1.0"), Dist("replaced-sdist", "1.0", summary="rebuilt")
    assert upload(client, sdist_bytes(first), first.sdist_name, first.name, "1.0", ALICE) == 200
    assert upload(client, sdist_bytes(second), second.sdist_name, first.name, "1.0", ALICE) == 200
    (url,) = links(client, first.name)
    assert client.get(url).data == sdist_bytes(second)


def test_overwrite_needs_the_permission(app: Flask) -> None:
    client = app.test_client()
    first, second = Dist("kept", "1.0"), Dist("kept", "1.0", summary="rebuilt")
    assert upload(client, wheel_bytes(first), first.wheel_name, "kept", "1.0", BOB) == 200
    data, files = upload_form(wheel_bytes(second), second.wheel_name, "kept", "1.0")
    refused = client.post(
        "/", data={**data, "content": (io.BytesIO(files["content"][1]), second.wheel_name)}, auth=BOB
    )
    assert refused.status_code == 400 and "File already exists" in refused.get_data(as_text=True)
    (url,) = links(client, "kept")
    assert client.get(url).data == wheel_bytes(first)


def test_the_old_url_never_serves_the_new_bytes_while_a_replacement_is_half_done(app: Flask) -> None:
    """Between storing the new bytes and recording them, the record still names the old ones."""
    client = app.test_client()
    first, second = Dist("halfway", "1.0"), Dist("halfway", "1.0", summary="rebuilt")
    assert upload(client, wheel_bytes(first), first.wheel_name, "halfway", "1.0", ADMIN) == 200
    (old_url,) = links(client, "halfway")
    services = app.extensions["registry"].stores
    record = services.cache.get_file("halfway", first.wheel_name)
    newer = record.with_changes(sha256=hashlib.sha256(wheel_bytes(second)).hexdigest())
    services.storage.delete(record.key)
    services.storage.delete(record.metadata_key)
    services.storage.put(record.key, io.BytesIO(wheel_bytes(second)), storage_meta(newer))
    services.storage.put(record.metadata_key, io.BytesIO(b"Metadata-Version: 2.1\nName: other\n"), {})
    for url in (old_url, old_url + ".metadata"):
        response = client.get(url)
        assert response.status_code == 404 and response.headers["Cache-Control"] == "no-store"
    assert json.loads(services.storage.get_meta(record.key)["record"])["sha256"] == newer.sha256


def test_delete_by_the_allow_delete_group(app: Flask) -> None:
    client = app.test_client()
    dist = Dist("deletable", "1.0")
    assert upload(client, wheel_bytes(dist), dist.wheel_name, "deletable", "1.0", BOB) == 200
    path = f"/manage/projects/deletable/files/{dist.wheel_name}"
    assert client.delete(path, auth=BOB).status_code == 403
    _, secret = create_token(
        app.extensions["registry"].access.store, ALICE[0], permissions=("read", "upload")
    )
    by_token = client.delete(path, auth=("__token__", secret))
    assert by_token.status_code == 403 and "API token" in by_token.get_json()["error"]
    assert client.delete(path, auth=None).status_code == 401
    assert client.delete(path, auth=ALICE).status_code == 200
    assert client.get("/simple/deletable/").status_code == 404


def test_a_name_with_rules_is_never_looked_up_upstream(tmp_path: Path) -> None:
    """Dependency-confusion guard: rules set before the first upload reserve the name."""
    app = create_app(
        {
            **base_settings(tmp_path),
            "pypi.fallback": "redirect",
            "pypi.fallback_url": "https://upstream.invalid/simple/",
            "package.internal-lib.user.alice": "rw",
        }
    )
    client = app.test_client()
    assert client.get("/simple/internal-lib/", auth=ALICE).status_code == 404
    assert (
        client.get("/packages/internal-lib/0123456789abcdef/internal_lib-1.0.tar.gz", auth=ALICE).status_code
        == 404
    )
    assert client.get("/simple/public-lib/").status_code == 302  # other names still go upstream
    app.extensions["registry"].stores.close()
