"""Every row of the caching table in docs/access.md, checked in-process with Flask's test client.

Each test names its row. Three apps: ``open`` (everyone reads everything), ``mixed`` (everyone
reads, but ``secret`` is hidden) and ``private`` (reads need a login).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from registry import create_app
from tests.conftest import upload_form
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, base_settings

MAX_AGE = 60
APPS = {
    "open": {},
    "mixed": {"package.secret.user.admin": "rw"},
    "private": {"pypi.default_read": "authenticated"},
}
PUB, SECRET = Dist("pub", "1.0"), Dist("secret", "1.0")


def file_url(dist: Dist, suffix: str = "") -> str:
    digest = hashlib.sha256(wheel_bytes(dist)).hexdigest()[:16]
    return f"/packages/{dist.name}/{digest}/{dist.wheel_name}{suffix}"


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Flask]]:
    built = {}
    for name, settings in APPS.items():
        tmp: Path = tmp_path_factory.mktemp(f"caching-{name}")
        app = create_app({**base_settings(tmp), "pypi.index_max_age": str(MAX_AGE), **settings})
        client = app.test_client()
        for dist in (PUB, SECRET):
            data, files = upload_form(wheel_bytes(dist), dist.wheel_name, dist.name, dist.version)
            form = {**data, "content": (io.BytesIO(files["content"][1]), dist.wheel_name)}
            assert client.post("/", data=form, auth=ADMIN).status_code == 200
        built[name] = app
    yield built
    for app in built.values():
        app.extensions["registry"].stores.close()


def get(apps: dict[str, Flask], app: str, path: str, *, method: str = "GET", **kwargs: Any) -> TestResponse:
    client: FlaskClient = apps[app].test_client()
    return client.open(path, method=method, **kwargs)


def varies(response: TestResponse, header: str) -> bool:
    return header.lower() in {value.strip().lower() for value in response.headers.get("Vary", "").split(",")}


def assert_public_file(response: TestResponse) -> None:
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert not varies(response, "Authorization")


def assert_public_index(response: TestResponse) -> None:
    assert response.headers["Cache-Control"].startswith(f"public, max-age={MAX_AGE}")
    assert "private" not in response.headers["Cache-Control"]
    assert not varies(response, "Authorization")


def assert_private(response: TestResponse) -> None:
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert varies(response, "Authorization")


def assert_never(response: TestResponse) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert varies(response, "Authorization")


@pytest.mark.parametrize(
    ("app", "path", "auth", "headers", "status"),
    [
        ("open", file_url(PUB), None, {}, 200),
        ("open", file_url(PUB), ADMIN, {}, 200),
        ("open", file_url(PUB, ".metadata"), None, {}, 200),
        ("mixed", file_url(PUB), None, {"Range": "bytes=0-9"}, 206),
        (
            "open",
            file_url(PUB),
            None,
            {"If-None-Match": f'"{hashlib.sha256(wheel_bytes(PUB)).hexdigest()}"'},
            304,
        ),
    ],
    ids=["anonymous", "authenticated", "metadata", "range", "not-modified"],
)
def test_row_1_public_files(
    apps: dict[str, Flask], app: str, path: str, auth: Any, headers: dict[str, str], status: int
) -> None:
    response = get(apps, app, path, auth=auth, headers=headers)
    assert response.status_code == status
    assert_public_file(response)


@pytest.mark.parametrize(
    ("app", "path"),
    [("mixed", file_url(SECRET)), ("mixed", file_url(SECRET, ".metadata")), ("private", file_url(PUB))],
    ids=["hidden", "hidden-metadata", "login-required"],
)
def test_row_2_private_files(apps: dict[str, Flask], app: str, path: str) -> None:
    response = get(apps, app, path, auth=ADMIN)
    assert response.status_code == 200
    assert_private(response)


@pytest.mark.parametrize("path", ["/simple/pub/", "/pypi/pub/json", "/pypi/pub/1.0/json"])
@pytest.mark.parametrize("app", ["open", "mixed"])
def test_row_3_public_project_pages(apps: dict[str, Flask], app: str, path: str) -> None:
    for auth in (None, ADMIN):
        response = get(apps, app, path, auth=auth)
        assert response.status_code == 200
        assert_public_index(response)
    revalidated = get(apps, app, path, headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304
    assert_public_index(revalidated)
    if path.startswith("/simple/"):
        assert varies(response, "Accept")


@pytest.mark.parametrize(
    ("app", "path"),
    [
        ("mixed", "/simple/secret/"),
        ("mixed", "/pypi/secret/json"),
        ("private", "/simple/pub/"),
        ("private", "/pypi/pub/1.0/json"),
    ],
)
def test_row_4_private_project_pages(apps: dict[str, Flask], app: str, path: str) -> None:
    response = get(apps, app, path, auth=ADMIN)
    assert response.status_code == 200
    assert_private(response)
    revalidated = get(apps, app, path, auth=ADMIN, headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304
    assert_private(revalidated)


def test_row_5_public_index(apps: dict[str, Flask]) -> None:
    for auth in (None, ADMIN):
        response = get(apps, "open", "/simple/", auth=auth)
        assert response.status_code == 200
        assert_public_index(response)
        assert varies(response, "Accept")


@pytest.mark.parametrize(("app", "auth"), [("mixed", None), ("mixed", ADMIN), ("private", ADMIN)])
def test_row_6_private_index(apps: dict[str, Flask], app: str, auth: Any) -> None:
    response = get(apps, app, "/simple/", auth=auth)
    assert response.status_code == 200
    assert_private(response)
    assert varies(response, "Accept")


@pytest.mark.parametrize(
    ("app", "method", "path", "auth", "status"),
    [
        ("private", "GET", "/simple/pub/", None, 401),
        ("open", "GET", "/simple/pub/", ("admin", "wrong-password"), 401),
        ("open", "POST", "/manage/projects/pub/releases/1.0/yank", ("nobody", "x"), 401),
        ("mixed", "GET", "/simple/secret/", None, 404),
        ("open", "GET", "/simple/missing/", None, 404),
        ("open", "GET", "/packages/pub/0000000000000000/pub-1.0-py3-none-any.whl", None, 404),
        ("open", "POST", "/", ADMIN, 400),
        ("open", "GET", "/simple/pub/?format=text/plain", None, 406),
    ],
    ids=[
        "401-login-needed",
        "401-wrong-password",
        "401-manage",
        "404-hidden",
        "404-missing",
        "404-file",
        "400",
        "406",
    ],
)
def test_row_7_errors_after_the_caller_was_checked(
    apps: dict[str, Flask], app: str, method: str, path: str, auth: Any, status: int
) -> None:
    response = get(apps, app, path, method=method, auth=auth)
    assert response.status_code == status
    assert_never(response)


def test_row_7_forbidden_and_too_many_requests(tmp_path: Path) -> None:
    app = create_app(
        {**base_settings(tmp_path), "auth.max_failures_per_user": "1", "pypi.default_write": "admin"}
    )
    client = app.test_client()
    forbidden = client.post("/manage/projects/pub/releases/1.0/yank", auth=("alice", "alice-secret-pw"))
    assert forbidden.status_code == 403
    assert_never(forbidden)
    client.get("/simple/", auth=("alice", "wrong"))
    limited = client.get("/simple/", auth=("alice", "wrong"))
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert_never(limited)
    app.extensions["registry"].stores.close()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/manage/projects/pub/releases/1.0/unyank", {}, 200),
        ("GET", "/manage/tokens", {}, 200),
        ("POST", "/manage/tokens", {"json": {}}, 201),
    ],
)
def test_row_8_management(
    apps: dict[str, Flask], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = get(apps, "open", path, method=method, auth=ADMIN, **kwargs)
    assert response.status_code == status
    assert_never(response)


def test_row_8_upload(apps: dict[str, Flask]) -> None:
    dist = Dist("pub", "3.0")
    data, files = upload_form(wheel_bytes(dist), dist.wheel_name, "pub", "3.0")
    form = {**data, "content": (io.BytesIO(files["content"][1]), dist.wheel_name)}
    response = get(apps, "open", "/", method="POST", auth=ADMIN, data=form)
    assert response.status_code == 200
    assert_never(response)


def test_row_8_redirect_to_storage(apps: dict[str, Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    storage = apps["open"].extensions["registry"].stores.storage
    monkeypatch.setattr(storage, "download_url", lambda key: f"https://storage.example/{key}?signature=x")
    response = get(apps, "open", file_url(PUB))
    assert response.status_code == 302
    assert_never(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/simple", 301),
        ("GET", "/simple/Pub/", 301),
        ("GET", "/pypi/Pub/json", 301),
        ("GET", "/no/such/page", 404),
        ("PUT", "/simple/", 405),
        ("GET", "/health", 200),
    ],
)
def test_row_9_answers_that_never_look_at_the_caller(
    apps: dict[str, Flask], method: str, path: str, status: int
) -> None:
    response = get(apps, "open", path, method=method, auth=ADMIN)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert not varies(response, "Authorization")


@pytest.mark.parametrize("path", ["/", "/project/pub/", "/search/?q=pub"])
def test_row_10_web_ui_pages_without_a_session(apps: dict[str, Flask], path: str) -> None:
    response = get(apps, "open", path, auth=ADMIN)  # the UI reads no Authorization header
    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("public, max-age=0, s-maxage=")
    assert varies(response, "Cookie") and not varies(response, "Authorization")


@pytest.mark.parametrize(("app", "path"), [("mixed", "/"), ("mixed", "/search/?q=pub")])
def test_row_11_web_ui_pages_showing_what_anonymous_may_not_read(
    apps: dict[str, Flask], app: str, path: str
) -> None:
    response = get(apps, app, path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert varies(response, "Cookie")
