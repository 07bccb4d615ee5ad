"""What a fallback page shows: upstream data served on, unusable files left out, PEP 708."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from registry.access.models import Identity
from registry.config import load_config
from registry.core.app import build
from registry.core.fallback_setup import version_of
from registry.core.listing import Versioned
from registry.core.uploads import UploadForm
from registry.errors import ConfigError
from registry.names import project_name
from registry.storage.local import FileStorage
from registry.upstream import UpstreamFile, UpstreamIndex, UpstreamProject
from registry.upstream.client import Fetched
from registry.upstream.kept import compact
from registry.upstream.store import PageStore, space_of
from registry.web.render import V1_JSON, render_project
from tests.backends import Backends as Services
from tests.distributions import Dist, wheel_bytes
from tests.server import base_settings

SHA = "c" * 64
META = "d" * 64
WHEN = datetime(2023, 3, 4, 5, 6, 7, tzinfo=UTC)


class Fixed(UpstreamIndex):
    """An upstream that always answers the same page."""

    def __init__(self, files: tuple[UpstreamFile, ...]) -> None:
        super().__init__("http://127.0.0.1:9/simple/", version_of=version_of)
        self.files = files

    def fetch_page(self, project: str, etag: str = "", last_modified: str = "") -> Fetched:
        return Fetched(UpstreamProject(name="Demo", url=self.project_url(project), files=self.files))


FILES = (
    UpstreamFile(
        filename="demo-1.0-py3-none-any.whl",
        url="http://127.0.0.1:9/f/demo-1.0-py3-none-any.whl",
        hashes={"sha256": SHA},
        requires_python=">=3.10",
        yanked=True,
        yanked_reason="bad build",
        has_metadata=True,
        metadata_hashes={"sha256": META},
        size=4321,
        upload_time=WHEN,
    ),
    UpstreamFile(filename="demo-1.1.tar.gz", url="http://127.0.0.1:9/f/demo-1.1.tar.gz"),  # no hash
    UpstreamFile(
        filename="other-1.0.tar.gz", url="http://127.0.0.1:9/f/other-1.0.tar.gz", hashes={"sha256": SHA}
    ),
    UpstreamFile(filename="demo-1.0.exe", url="http://127.0.0.1:9/f/demo-1.0.exe", hashes={"sha256": SHA}),
)


ADMIN = Identity("admin", is_admin=True)


def make_services(tmp_path: Path, mode: str, **settings: str) -> Services:
    raw = base_settings(tmp_path) | {"pypi.fallback": mode, "pypi.fallback_url": "http://127.0.0.1:9/simple/"}
    raw["pypi.always_show_upstream"] = settings.get("always", "false")
    services = Services.from_config(load_config(environ={}, overrides=raw))
    assert services.fallback is not None
    services.fallback.upstreams["default"] = Fixed(FILES)
    return services


def project_page(services: Services, project: str, content_type: str) -> bytes:
    answer = services.registry.reads.project(ADMIN, project_name(project))
    assert isinstance(answer, Versioned)
    return render_project(answer.load(), content_type).body


def test_cache_mode_serves_the_upstream_data_on(tmp_path: Path) -> None:
    services = make_services(tmp_path, "cache")
    document = json.loads(project_page(services, "demo", V1_JSON))
    assert document["meta"] == {"api-version": "1.2", "tracks": ["http://127.0.0.1:9/simple/demo/"]}
    (entry,) = document["files"]  # no hash, other project, unknown extension: left out
    assert entry == {
        "filename": "demo-1.0-py3-none-any.whl",
        "url": f"../../packages/demo/{SHA[:16]}/demo-1.0-py3-none-any.whl",
        "hashes": {"sha256": SHA},
        "core-metadata": {"sha256": META},
        "dist-info-metadata": {"sha256": META},
        "yanked": "bad build",
        "size": 4321,
        "upload-time": "2023-03-04T05:06:07.000000Z",
        "requires-python": ">=3.10",
        "_upstream": "default",  # which configured upstream the file comes from
    }


def test_redirect_mode_merges_with_links_to_upstream(tmp_path: Path) -> None:
    services = make_services(tmp_path, "redirect", always="true")
    dist = Dist("demo", "2.0")
    form = UploadForm("demo", "2.0", "bdist_wheel", dist.wheel_name, io.BytesIO(wheel_bytes(dist)))
    services.upload(form, "admin")
    page = project_page(services, "demo", "text/html").decode()
    assert '<meta name="pypi:alternate-locations" content="http://127.0.0.1:9/simple/demo/">' in page
    assert 'href="http://127.0.0.1:9/f/demo-1.1.tar.gz"' in page  # no hash needed: the client checks
    assert f'href="http://127.0.0.1:9/f/demo-1.0-py3-none-any.whl#sha256={SHA}"' in page
    assert "../../packages/demo/" in page  # our own upload


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_fallback_without_url_stops_start_up(mode: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(environ={}, overrides={"pypi.fallback": mode})
    assert f"pypi.fallback = {mode} needs pypi.fallback_url" in raised.value.message
    assert "pypi.fallback = none" in raised.value.message
    registry = build(load_config(environ={}, overrides={"pypi.fallback": "none"}))
    assert (
        registry.fallback is None and registry.reads.sources.decide(project_name("anything")).upstream is None
    )


def test_fallback_url_is_checked_and_its_password_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(environ={}, overrides={"pypi.fallback_url": "ftp://bot:hunter2@x/simple"})
    assert "hunter2" not in raised.value.message and "http://" in raised.value.message
    config = load_config(environ={}, overrides={"pypi.fallback_url": "http://127.0.0.1:9/simple"})
    assert config.values["pypi.fallback_url"] == "http://127.0.0.1:9/simple/"


@pytest.mark.parametrize("name", ["lan-proxy", "personal-index", "organisation", "several-upstreams"])
def test_usage_docs_show_the_configs_the_tests_use(name: str) -> None:
    from tests.server import ROOT

    config = (ROOT / "docs" / "configs" / f"{name}.ini").read_text().rstrip("\n")
    assert f"```ini\n{config}\n```" in (ROOT / "docs" / "usage.md").read_text()
    load_config(ROOT / "docs" / "configs" / f"{name}.ini", environ={})  # valid as written


def test_a_stored_file_the_upstream_does_not_list_is_sorted_in(tmp_path: Path) -> None:
    services = make_services(tmp_path, "redirect", always="true")
    for version in ("0.5", "1.0.5"):  # around the upstream's 1.0 and 1.1
        dist = Dist("demo", version)
        form = UploadForm("demo", version, "bdist_wheel", dist.wheel_name, io.BytesIO(wheel_bytes(dist)))
        services.upload(form, "admin")
    answer = services.registry.reads.project(ADMIN, project_name("demo"))
    assert isinstance(answer, Versioned)
    assert [link.version for link in answer.load().links] == ["0.5", "1.0", "1.0.5", "1.1"]


def test_each_upstream_keeps_its_pages_in_a_folder_of_its_own(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    page = UpstreamProject(name="Demo", url="http://127.0.0.1:9/simple/demo/", files=FILES)
    kept = compact(page, "demo", version_of, etag="", last_modified="", when=1.0)
    one, two = (
        PageStore(storage, space_of(url)) for url in ("http://127.0.0.1:9/a/", "http://127.0.0.1:9/b/")
    )
    one.save("demo", kept)
    assert two.load("demo") is None and one.load("demo") == kept.confirmed(1.0)
    assert space_of("http://127.0.0.1:9/simple/") == "ddd16791be7dfe2230ad"  # as the docstring says
    assert list(storage.list_keys()) == []  # rebuild, migrate and import never see kept pages
