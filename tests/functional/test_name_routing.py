"""Every route that takes a project name, in every spelling, for reserved, local and
upstream-only projects, in cache and redirect mode, with GET and HEAD.

The upstream is a real pypiserver; its own request log proves what it was asked: never about
a reserved or a local name, and never in a spelling other than the canonical one. And an
upstream file is never stored under a local project.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import create_app
from registry.config import load_config
from registry.core.uploads import UploadForm
from tests.backends import Backends
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, base_settings, basic_auth
from tests.upstream import PypiServer

RESERVED, RULED, LOCAL, UPSTREAM = "res-lib", "rule-lib", "loc-lib", "up-lib"
AUTH = {"Authorization": basic_auth(*ADMIN)}


def spellings(project: str) -> list[str]:
    """``Foo_Bar``, ``FOO.BAR``, ``foo_bar``, ``Foo-Bar`` (and the canonical ``foo-bar``)."""
    first, second = project.split("-")
    title = f"{first.title()}_{second.title()}"
    return [title, f"{first.upper()}.{second.upper()}", f"{first}_{second}", title.replace("_", "-"), project]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """An upstream that has every name, the private ones included (the attack)."""
    server = PypiServer(tmp_path_factory.mktemp("upstream") / "files").start()
    for project in (RESERVED, RULED, LOCAL, UPSTREAM):
        server.add(Dist(project, "9.0"), sdist=False)
    yield server
    server.stop()


def asked(upstream: PypiServer) -> list[str]:
    """Every path the upstream was asked for, from its own request log."""
    return re.findall(r'"(?:GET|HEAD) (\S+) HTTP', upstream.log.read_text())


def make_app(tmp_path: Path, upstream: PypiServer, mode: str) -> Flask:
    settings = base_settings(tmp_path / f"data-{mode}")
    settings.update(
        {
            "pypi.fallback": mode,
            "pypi.fallback_url": upstream.url,
            "pypi.disallow_fallback": RESERVED,
            f"package.{RULED}.group.everyone": "r",
            "pypi.cache_update": "everyone",
        }
    )
    app = create_app(load_config(environ={}, overrides=settings))
    local = Dist(LOCAL, "1.0")
    form = UploadForm(
        local.name, local.version, "bdist_wheel", local.wheel_name, io.BytesIO(wheel_bytes(local))
    )
    Backends(app.extensions["registry"]).upload(form)
    return app


def routes(project: str, spelling: str) -> list[str]:
    """Every read route that names a project, in one spelling; files by their real digests."""
    version = "1.0" if project == LOCAL else "9.0"
    dist = Dist(project, version)
    digest = hashlib.sha256(wheel_bytes(dist)).hexdigest()[:16]
    file_path = f"/packages/{spelling}/{digest}/{dist.wheel_name}"
    return [
        f"/simple/{spelling}/",
        f"/simple/{spelling}",
        f"/pypi/{spelling}/json",
        f"/pypi/{spelling}/{version}/json",
        file_path,
        file_path + ".metadata",
    ]


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_private_names_never_reach_the_upstream_in_any_spelling(
    tmp_path: Path, upstream: PypiServer, mode: str
) -> None:
    app = make_app(tmp_path, upstream, mode)
    client = app.test_client()
    before = len(asked(upstream))
    answers: dict[tuple[str, str, str], int] = {}
    for project in (RESERVED, RULED, LOCAL, UPSTREAM):
        for spelling in spellings(project):
            for path in routes(project, spelling):
                for method in ("GET", "HEAD"):
                    answers[(method, path, project)] = client.open(path, method=method).status_code
    manage_routes(client, mode)
    seen = asked(upstream)[before:]
    for path in seen:  # the upstream heard only the canonical upstream-only name
        assert RESERVED not in path and RULED not in path and LOCAL not in path, path
        assert "up_lib" not in path.split("/packages/")[0] and "UP" not in path and "Up" not in path, path
    assert any(f"/simple/{UPSTREAM}/" in path for path in seen)  # the test did reach the upstream
    assert all(status < 500 for status in answers.values()), answers
    assert_answers(answers, mode)
    stored = Backends(app.extensions["registry"]).cache.list_files(LOCAL)  # type: ignore[arg-type]
    assert [(record.filename, record.origin) for record in stored] == [(Dist(LOCAL, "1.0").wheel_name, "")]


def manage_routes(client: FlaskClient, mode: str) -> None:
    """Manage routes in every spelling: they act on stored data only (in cache mode the
    upstream-only file was fetched and stored by the reads before)."""
    for spelling in spellings(LOCAL):
        for action in ("yank", "unyank"):
            answer = client.post(f"/manage/projects/{spelling}/releases/1.0/{action}", headers=AUTH)
            assert answer.status_code == 200, answer.text
    for project in (RESERVED, RULED, UPSTREAM):
        for spelling in spellings(project):
            answer = client.post(f"/manage/projects/{spelling}/releases/9.0/yank", headers=AUTH)
            cached = project == UPSTREAM and mode == "cache"
            assert answer.status_code == (200 if cached else 404), answer.text
            answer = client.delete(f"/manage/projects/{spelling}/files/x-9.0.tar.gz", headers=AUTH)
            assert answer.status_code == 404, answer.text


def assert_answers(answers: dict[tuple[str, str, str], int], mode: str) -> None:
    """Canonical spellings get the project's answer, others a redirect to it (or the same file)."""
    for (method, path, project), status in answers.items():
        canonical = f"/{project}/" in path
        if path.startswith(("/simple/", "/pypi/")) and (not canonical or not path.endswith(("/", "json"))):
            assert status == 301, (method, path, status)
        elif project in (RESERVED, RULED):
            assert status == 404, (method, path, status)
        elif project == LOCAL:
            assert status == (404 if path.endswith("/9.0/json") else 200), (method, path, status)
        elif path.startswith("/simple/") and path.endswith("/"):
            assert status == (200 if mode == "cache" else 302), (method, path, status)
