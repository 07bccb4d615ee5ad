"""Project pages for projects filled from the upstream index (a real pypiserver on loopback)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from registry import create_app
from registry.config import load_config
from tests.distributions import Dist
from tests.server import base_settings
from tests.upstream import PypiServer


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp("upstream") / "files").start()
    yield server
    server.stop()


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    def make(**settings: str) -> Flask:
        merged = base_settings(tmp_path / f"data-{len(list(tmp_path.iterdir()))}")
        merged.update(settings)
        return create_app(load_config(environ={}, overrides=merged))

    return make


def test_a_project_from_the_upstream_says_so(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    upstream.add(dist, sdist=False)
    client = make_app(
        **{"pypi.fallback": "cache", "pypi.fallback_url": upstream.url, "pypi.cache_update": "everyone"}
    ).test_client()
    page = client.get(f"/project/{unique_name}/")
    assert page.status_code == 200
    assert "This project comes from the upstream index" in page.text
    assert f'href="{upstream.url}{unique_name}/"' in page.text
    href = re.search(r'<a href="(/packages/[^"]+)">' + re.escape(dist.wheel_name), page.text)
    assert href, "the file links to this registry's own URL"
    assert client.get(href.group(1)).status_code == 200  # fetched and cached
    again = client.get(f"/project/{unique_name}/").text
    assert "This project comes from the upstream index" in again
    assert "cached from upstream" in again


def test_redirect_mode_points_to_the_upstream(
    upstream: PypiServer, make_app: Callable[..., Flask], unique_name: str
) -> None:
    upstream.add(Dist(unique_name, "1.0"), sdist=False)
    client = make_app(**{"pypi.fallback": "redirect", "pypi.fallback_url": upstream.url}).test_client()
    page = client.get(f"/project/{unique_name}/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert f'href="{upstream.url}{unique_name}/"' in page.text
    assert "does not store" in page.text
