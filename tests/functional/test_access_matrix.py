"""Every route x every kind of caller, for the three ways of using the registry.

- open: an open proxy: everyone reads, the ``uploaders`` group uploads.
- personal: a personal public index: everyone reads, only the owner (an admin) uploads.
- org: an organisation index: every read needs a login, ``uploaders`` upload.

In each, project ``pub`` has no rules, ``secret`` is readable by one user only (``uploader``,
or the owner in personal mode), ``other`` is the project the ``other`` token is scoped to.
Cells are ``<status><cache>``: ``p`` public (shareable, no ``Vary: Authorization``), ``v``
private with ``Vary: Authorization``, ``n`` ``no-store`` with ``Vary: Authorization`` (the
answer depended on the caller), ``s`` ``no-store`` the same for everyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.access_helpers import READER, UPLOADER, seeded_server
from tests.conftest import post_upload, upload_form
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, RegistryServer

CALLERS = ("anon", "reader", "uploader", "admin", "other", "expired")

MODES: dict[str, dict[str, str]] = {
    "open": {
        "pypi.default_read": "everyone",
        "pypi.default_write": "uploaders",
        "package.secret.user.uploader": "rw",
    },
    "personal": {
        "pypi.default_read": "everyone",
        "pypi.default_write": "admin",
        "package.secret.user.admin": "rw",
    },
    "org": {
        "pypi.default_read": "authenticated",
        "pypi.default_write": "uploaders",
        "package.secret.user.uploader": "rw",
    },
}

EXPECTED = {
    "open": """
        home             200s 200s 200s 200s 200s 200s
        health           200s 200s 200s 200s 200s 200s
        simple-redirect  301s 301s 301s 301s 301s 301s
        index            200v 200v 200v 200v 200v 401n
        project          200p 200p 200p 200p 200p 401n
        hidden-project   404n 404n 200v 200v 404n 401n
        scoped-project   200p 200p 200p 200p 200p 401n
        missing-project  404n 404n 404n 404n 404n 401n
        json             200p 200p 200p 200p 200p 401n
        json-version     200p 200p 200p 200p 200p 401n
        hidden-json      404n 404n 200v 200v 404n 401n
        file             200p 200p 200p 200p 200p 401n
        metadata         200p 200p 200p 200p 200p 401n
        hidden-file      404n 404n 200v 200v 404n 401n
        upload           401n 403n 200n 200n 403n 401n
        upload-hidden    401n 403n 200n 200n 403n 401n
        upload-scoped    401n 403n 200n 200n 200n 401n
        unyank           401n 403n 403n 200n 403n 401n
        delete           401n 403n 403n 404n 403n 401n
        tokens           401n 200n 200n 200n 403n 401n
        token-create     401n 201n 201n 201n 403n 401n
    """,
    "personal": """
        home             200s 200s 200s 200s 200s 200s
        health           200s 200s 200s 200s 200s 200s
        simple-redirect  301s 301s 301s 301s 301s 301s
        index            200v 200v 200v 200v 200v 401n
        project          200p 200p 200p 200p 200p 401n
        hidden-project   404n 404n 404n 200v 404n 401n
        scoped-project   200p 200p 200p 200p 200p 401n
        missing-project  404n 404n 404n 404n 404n 401n
        json             200p 200p 200p 200p 200p 401n
        json-version     200p 200p 200p 200p 200p 401n
        hidden-json      404n 404n 404n 200v 404n 401n
        file             200p 200p 200p 200p 200p 401n
        metadata         200p 200p 200p 200p 200p 401n
        hidden-file      404n 404n 404n 200v 404n 401n
        upload           401n 403n 403n 200n 403n 401n
        upload-hidden    401n 403n 403n 200n 403n 401n
        upload-scoped    401n 403n 403n 200n 403n 401n
        unyank           401n 403n 403n 200n 403n 401n
        delete           401n 403n 403n 404n 403n 401n
        tokens           401n 200n 200n 200n 403n 401n
        token-create     401n 201n 201n 201n 403n 401n
    """,
    "org": """
        home             200s 200s 200s 200s 200s 200s
        health           200s 200s 200s 200s 200s 200s
        simple-redirect  301s 301s 301s 301s 301s 301s
        index            401n 200v 200v 200v 200v 401n
        project          401n 200v 200v 200v 403n 401n
        hidden-project   401n 404n 200v 200v 403n 401n
        scoped-project   401n 200v 200v 200v 200v 401n
        missing-project  401n 404n 404n 404n 403n 401n
        json             401n 200v 200v 200v 403n 401n
        json-version     401n 200v 200v 200v 403n 401n
        hidden-json      401n 404n 200v 200v 403n 401n
        file             401n 200v 200v 200v 403n 401n
        metadata         401n 200v 200v 200v 403n 401n
        hidden-file      401n 404n 200v 200v 403n 401n
        upload           401n 403n 200n 200n 403n 401n
        upload-hidden    401n 403n 200n 200n 403n 401n
        upload-scoped    401n 403n 200n 200n 200n 401n
        unyank           401n 403n 403n 200n 403n 401n
        delete           401n 403n 403n 404n 403n 401n
        tokens           401n 200n 200n 200n 403n 401n
        token-create     401n 201n 201n 201n 403n 401n
    """,
}


def parse_table(text: str) -> dict[tuple[str, str], str]:
    cells = {}
    for line in text.strip().splitlines():
        route, *values = line.split()
        assert len(values) == len(CALLERS), line
        cells.update({(route, caller): value for caller, value in zip(CALLERS, values, strict=True)})
    return cells


TABLES = {mode: parse_table(text) for mode, text in EXPECTED.items()}
ROUTES = [line.split()[0] for line in EXPECTED["open"].strip().splitlines()]
assert all({route for route, _ in table} == set(ROUTES) for table in TABLES.values())

DISTS = {name: Dist(name, "1.0") for name in ("pub", "secret", "other")}


def file_path(name: str, suffix: str = "") -> str:
    dist = DISTS[name]
    digest = hashlib.sha256(wheel_bytes(dist)).hexdigest()[:16]
    return f"/packages/{name}/{digest}/{dist.wheel_name}{suffix}"


def upload_request(name: str) -> dict[str, Any]:
    dist = Dist(name, "2.0")
    data, files = upload_form(wheel_bytes(dist), dist.wheel_name, name, "2.0")
    return {"data": data, "files": files}


REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "home": ("GET", "/", {}),
    "health": ("GET", "/health", {}),
    "simple-redirect": ("GET", "/simple", {"allow_redirects": False}),
    "index": ("GET", "/simple/", {}),
    "project": ("GET", "/simple/pub/", {}),
    "hidden-project": ("GET", "/simple/secret/", {}),
    "scoped-project": ("GET", "/simple/other/", {}),
    "missing-project": ("GET", "/simple/missing/", {}),
    "json": ("GET", "/pypi/pub/json", {}),
    "json-version": ("GET", "/pypi/pub/1.0/json", {}),
    "hidden-json": ("GET", "/pypi/secret/json", {}),
    "file": ("GET", file_path("pub"), {}),
    "metadata": ("GET", file_path("pub", ".metadata"), {}),
    "hidden-file": ("GET", file_path("secret"), {}),
    "upload": ("POST", "/", upload_request("pub")),
    "upload-hidden": ("POST", "/", upload_request("secret")),
    "upload-scoped": ("POST", "/", upload_request("other")),
    "unyank": ("POST", "/manage/projects/pub/releases/1.0/unyank", {}),
    "delete": ("DELETE", "/manage/projects/pub/files/pub-9.9.tar.gz", {}),
    "tokens": ("GET", "/manage/tokens", {}),
    "token-create": ("POST", "/manage/tokens", {"json": {"description": "matrix"}}),
}


@pytest.fixture(scope="module", params=sorted(MODES))
def mode(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend_settings: Callable[[], dict[str, str]],
) -> Iterator[tuple[str, RegistryServer, dict[str, tuple[str, str] | None]]]:
    name: str = request.param
    server, tokens = seeded_server(tmp_path_factory.mktemp(f"matrix-{name}"), MODES[name], backend_settings())
    for dist in DISTS.values():
        response = post_upload(server, wheel_bytes(dist), dist.wheel_name, dist.name, dist.version)
        assert response.status_code == 200, response.text
    auth: dict[str, tuple[str, str] | None] = {
        "anon": None,
        "reader": READER,
        "uploader": UPLOADER,
        "admin": ADMIN,
        "other": ("__token__", tokens["other"]),
        "expired": ("__token__", tokens["expired"]),
    }
    yield name, server, auth
    server.stop()


def cache_class(response: requests.Response) -> str:
    control = response.headers.get("Cache-Control", "")
    varies = "authorization" in response.headers.get("Vary", "").lower()
    if control.startswith("public") and not varies and "private" not in control:
        return "p"
    if "private" in control and varies:
        return "v"
    if "no-store" in control:
        return "n" if varies else "s"
    return f"?({control!r}, Vary={response.headers.get('Vary')!r})"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES)
def test_route_by_caller(
    mode: tuple[str, RegistryServer, dict[str, tuple[str, str] | None]], route: str, caller: str
) -> None:
    name, server, auth = mode
    method, path, kwargs = REQUESTS[route]
    response = requests.request(
        method, server.url + path.lstrip("/"), auth=auth[caller], timeout=30, **kwargs
    )
    got = f"{response.status_code}{cache_class(response)}"
    assert got == TABLES[name][(route, caller)], response.text[:300]
    assert "Traceback" not in response.text
