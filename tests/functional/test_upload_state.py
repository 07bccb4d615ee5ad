"""The stored-state upload rules over the registry's life: data written before the rules
existed, rebuild from Storage, migrate, overwrite, and files cached from the upstream.

The core is called in process on local backends (fast); the HTTP answers are in
``tests/e2e/test_upload_state.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import create_app
from registry.config import load_config
from registry.core.distribution import parse_filename
from registry.core.migrate import migrate
from registry.core.rebuild import rebuild
from registry.core.stores import Stores
from registry.core.upload_state import FILLED, fill_all, lift, skeleton
from registry.core.uploads import hash_stream, new_record
from tests.conftest import upload_form
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.server import ADMIN, base_settings

DELETED_MESSAGE = "This filename was previously used by a file that has since been deleted"


def settings(tmp: Path, **more: str) -> dict[str, str]:
    return {**base_settings(tmp), "pypi.allow_overwrite": "admin", "pypi.allow_delete": "admin", **more}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    built = create_app(settings(tmp_path))
    yield built
    built.extensions["registry"].stores.close()


def stores_of(app: Flask) -> Stores:
    stores: Stores = app.extensions["registry"].stores
    return stores


def upload(
    client: FlaskClient, content: bytes, filename: str, name: str, version: str = "1.0"
) -> tuple[int, str]:
    data, files = upload_form(content, filename, name, version)
    form = {**data, "content": (io.BytesIO(files["content"][1]), filename)}
    answer = client.post("/", data=form, auth=ADMIN)
    return answer.status_code, answer.get_data(as_text=True)


def add_old_style(stores: Stores, content: bytes, filename: str) -> None:
    """Store and record a file as a registry from before the rules did: no claims."""
    parsed = parse_filename(filename)
    record = new_record(parsed, hash_stream(io.BytesIO(content), 10**8), None, uploader="admin")
    stores.pipeline.add(record, io.BytesIO(content), None)


def test_a_registry_from_before_the_rules_is_filled_before_the_first_upload(app: Flask) -> None:
    stores = stores_of(app)
    dist = Dist("legacy-pillow", "1.0")
    # Already breaking two rules: one release with two sdists, which are the same bytes.
    add_old_style(stores, sdist_bytes(dist), "legacy_pillow-1.0.tar.gz")
    add_old_style(stores, sdist_bytes(dist), "Legacy_Pillow-1.0.tar.gz")
    assert stores.cache.get_claims([FILLED.key]) == {}
    client = app.test_client()
    status, text = upload(
        client,
        wheel_bytes(Dist("legacy-pi11ow", "1.0")),
        "legacy_pi11ow-1.0-py3-none-any.whl",
        "legacy-pi11ow",
    )
    assert status == 400 and "too similar to the existing project 'legacy-pillow'" in text
    assert stores.cache.get_claims([FILLED.key]) == {FILLED.key: FILLED.owner}
    status, text = upload(client, sdist_bytes(dist), "legacy-pillow-1.0.tar.gz", "legacy-pillow")
    assert status == 400 and "The same file was already uploaded as 'legacy_pillow-1.0.tar.gz'" in text
    # The project that breaks the rules still loads and takes new versions.
    newer = Dist("legacy-pillow", "2.0")
    assert upload(client, sdist_bytes(newer), newer.sdist_name, newer.name, "2.0")[0] == 200
    assert upload(client, wheel_bytes(dist), dist.wheel_name, dist.name)[0] == 200
    assert len(stores.cache.list_files("legacy-pillow")) == 4  # type: ignore[arg-type]


def test_fill_all_is_first_come_first_served_and_idempotent(app: Flask) -> None:
    stores = stores_of(app)
    dist = Dist("twice", "1.0")
    add_old_style(stores, sdist_bytes(dist), "twice-1.0.tar.gz")
    add_old_style(stores, sdist_bytes(dist), "Twice-1.0.tar.gz")
    assert fill_all(stores.cache) == fill_all(stores.cache)
    sha = new_record(
        parse_filename("twice-1.0.tar.gz"), hash_stream(io.BytesIO(sdist_bytes(dist)), 10**8), None
    ).sha256
    held = stores.cache.get_claims([f"sha256:{sha}", "sdist:twice/1.0", f"name:{skeleton('twice')}"])  # type: ignore[arg-type]
    assert held[f"name:{skeleton('twice')}"] == "twice"  # type: ignore[arg-type]
    assert held[f"sha256:{sha}"] == held["sdist:twice/1.0"]  # both went to the same, first file


def test_a_rebuild_from_storage_keeps_tombstones_and_claims(app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    dist = Dist("rebuilt", "1.0")
    assert upload(client, wheel_bytes(dist), dist.wheel_name, dist.name)[0] == 200
    assert upload(client, sdist_bytes(dist), dist.sdist_name, dist.name)[0] == 200
    assert client.delete(f"/manage/projects/rebuilt/files/{dist.wheel_name}", auth=ADMIN).status_code in (
        200,
        204,
    )
    # A new, empty metadata store over the same Storage: everything comes back from the files.
    fresh = Stores.from_config(
        load_config(environ={}, overrides=settings(tmp_path, **{"db.path": str(tmp_path / "new.db")}))
    )
    try:
        report = rebuild(fresh)
        assert report.strays == {} and len(report.added) == 1
        wheel_claim = f"file:rebuilt/{dist.wheel_name}"
        assert fresh.cache.get_claims([wheel_claim])[wheel_claim].startswith("deleted ")
        assert fresh.cache.get_claims(["sdist:rebuilt/1.0"]) == {
            "sdist:rebuilt/1.0": f"rebuilt/{dist.sdist_name}"
        }
        target = Stores.from_config(load_config(environ={}, overrides=settings(tmp_path / "copy")))
        try:
            migrate(fresh, target)
            assert target.cache.get_claims([wheel_claim])[wheel_claim].startswith("deleted ")
            assert target.cache.get_claims([FILLED.key]) == {FILLED.key: FILLED.owner}
        finally:
            target.close()
    finally:
        fresh.close()
    status, text = upload(client, wheel_bytes(dist), dist.wheel_name, dist.name)
    assert status == 400 and DELETED_MESSAGE in text


def test_lifting_a_tombstone_removes_it_from_storage_too(app: Flask) -> None:
    stores = stores_of(app)
    client = app.test_client()
    dist = Dist("lifted", "1.0")
    assert upload(client, wheel_bytes(dist), dist.wheel_name, dist.name)[0] == 200
    assert client.delete(f"/manage/projects/lifted/files/{dist.wheel_name}", auth=ADMIN).status_code in (
        200,
        204,
    )
    assert list(stores.storage.list_keys("_tombstones/")) == [f"_tombstones/lifted/{dist.wheel_name}"]
    assert "sha256" in lift(stores.cache, stores.storage, "lifted", dist.wheel_name)  # type: ignore[arg-type]
    assert list(stores.storage.list_keys("_tombstones/")) == []
    assert upload(client, wheel_bytes(dist), dist.wheel_name, dist.name)[0] == 200


def test_deleting_a_file_releases_its_bytes_and_its_sdist(app: Flask) -> None:
    client = app.test_client()
    dist = Dist("released", "1.0")
    assert upload(client, sdist_bytes(dist), dist.sdist_name, dist.name)[0] == 200
    assert client.delete(f"/manage/projects/released/files/{dist.sdist_name}", auth=ADMIN).status_code in (
        200,
        204,
    )
    # The release may have an sdist again, under a filename never used: the bytes are free again.
    assert upload(client, sdist_bytes(dist), "Released-1.0.tar.gz", dist.name)[0] == 200


def test_an_overwrite_moves_the_bytes_claim_and_keeps_the_rules(app: Flask) -> None:
    client = app.test_client()
    first, second = Dist("over", "1.0"), Dist("over", "1.0", summary="rebuilt")
    assert upload(client, sdist_bytes(first), first.sdist_name, "over")[0] == 200
    assert upload(client, sdist_bytes(second), second.sdist_name, "over")[0] == 200  # same filename: allowed
    # The first bytes are free again; the second ones are held by the replaced file.
    status, text = upload(client, sdist_bytes(second), "Over-1.0.tar.gz", "over")
    assert status == 400 and "The same file was already uploaded as 'over-1.0.tar.gz'" in text
    # Replacing a file by bytes another file holds is refused, and changes nothing.
    wheel = wheel_bytes(Dist("over", "1.0", summary="wheel"))
    assert upload(client, wheel, "over-1.0-py2.py3-none-any.whl", "over")[0] == 200
    status, text = upload(client, wheel_bytes(first), "over-1.0-py3-none-any.whl", "over")
    assert status == 200, text
    status, text = upload(client, wheel, "over-1.0-py3-none-any.whl", "over")
    assert status == 400 and "The same file was already uploaded as 'over-1.0-py2.py3-none-any.whl'" in text
    record = stores_of(app).cache.get_file("over", "over-1.0-py3-none-any.whl")  # type: ignore[arg-type]
    assert record is not None and record.info.get("summary") == "A test package"


def test_files_cached_from_the_upstream_take_no_claims(app: Flask) -> None:
    stores = stores_of(app)
    dist = Dist("cached", "1.0")
    content = sdist_bytes(dist)
    record = new_record(parse_filename(dist.sdist_name), hash_stream(io.BytesIO(content), 10**8), None)
    stores.pipeline.add(
        record.with_changes(origin="http://127.0.0.1:9/files/cached-1.0.tar.gz"), io.BytesIO(content), None
    )
    fill_all(stores.cache)  # cached files stay out of the index, filled or not
    assert stores.cache.get_claims([f"sha256:{record.sha256}", "name:cached"]) == {}
    client = app.test_client()
    look = Dist("cached-1", "1.0")  # no name claim from an upstream project
    assert upload(client, wheel_bytes(look), look.wheel_name, look.name)[0] == 200
    stores.pipeline.delete(stores.cache.get_file("cached", dist.sdist_name))  # type: ignore[arg-type]
    assert list(stores.storage.list_keys("_tombstones/")) == []  # pruned cache: may be fetched again
