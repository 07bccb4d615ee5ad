"""Upstream fallback end to end: real pip and uv, through this registry, to a real upstream.

The upstream is pypiserver (HTML pages, a server this project did not write) or a second
instance of this registry (PEP 691 JSON, PEP 658 metadata, basic auth). Each use case runs
with the exact config shown in docs/usage.md (``docs/configs/*.ini``); the tests change only
what is specific to the machine: paths, the upstream's URL and credentials, users.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from registry.config import read_ini
from tests.conftest import post_upload, upload_dist
from tests.distributions import Dist, wheel_bytes
from tests.e2e.test_clients import fresh_venv, installed, pip_install, uv_install
from tests.server import ADMIN, ALICE, ROOT, RegistryServer
from tests.upstream import LyingIndex, PypiServer, SilentServer

pytestmark = pytest.mark.e2e

CONFIGS = ROOT / "docs" / "configs"
MACHINE_SPECIFIC = ("storage.dir", "db.path")


def doc_config(name: str, upstream_url: str, **changes: str) -> dict[str, str]:
    """A config from the docs with the upstream URL (and machine-specific keys) replaced."""
    settings = {k: v for k, v in read_ini(CONFIGS / f"{name}.ini").items() if k not in MACHINE_SPECIFIC}
    settings["pypi.fallback_url"] = upstream_url
    settings.update(changes)
    return settings


@pytest.fixture
def pypiserver(tmp_path: Path) -> Iterator[PypiServer]:
    upstream = PypiServer(tmp_path / "upstream-files").start()
    yield upstream
    upstream.stop()


def with_credentials(url: str, user: tuple[str, str]) -> str:
    return url.replace("http://", f"http://{user[0]}:{user[1]}@")


def cached_files(server: RegistryServer, project: str) -> dict[str, str]:
    """filename -> origin of what the registry stored for a project."""
    return {r.filename: r.origin for r in server.services().cache.list_files(project)}


def test_lan_proxy_caches_then_installs_without_upstream(
    pypiserver: PypiServer, make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    lib, app = Dist("proxy-lib", "1.2"), Dist("Proxy.App", "0.5", requires=["proxy-lib>=1"])
    tool = Dist("proxy-tool", "2.0")
    for dist in (lib, app, tool):
        pypiserver.add(dist)
    registry = make_server(**doc_config("lan-proxy", pypiserver.url))
    index = registry.url + "simple/"

    pip_install(fresh_venv(tmp_path / "pip1"), index, "proxy.app")  # streamed while fetched
    uv_python = fresh_venv(tmp_path / "uv1", with_pip=False)
    # uv sees proxy-tool first: it asks HEAD and a Range, so the file is fetched whole first.
    uv_install(uv_python, index, "proxy.app", "proxy-tool", cache=tmp_path / "uv-cache-1")
    assert installed(uv_python)["proxy-lib"] == "1.2"
    assert '"HEAD /packages/proxy-tool/' in registry.access_log.read_text()

    stored = cached_files(registry, "proxy-lib")
    assert set(stored) == {lib.wheel_name}
    assert stored[lib.wheel_name].startswith(pypiserver.url.removesuffix("simple/"))
    record = registry.services().cache.get_file("proxy-lib", lib.wheel_name)
    assert record is not None and record.uploader == "upstream" and record.metadata_sha256
    # pip and uv both downloaded the wheel through the registry; the upstream sent it once.
    for dist in (lib, app, tool):
        assert pypiserver.downloads(dist.wheel_name) == 1

    pypiserver.stop()
    python = fresh_venv(tmp_path / "pip2")
    pip_install(python, index, "proxy.app")
    assert installed(python)["proxy-app"] == "0.5"
    uv_python = fresh_venv(tmp_path / "uv2", with_pip=False)
    uv_install(uv_python, index, "proxy.app", "proxy-tool", cache=tmp_path / "uv-cache-2")
    assert installed(uv_python)["proxy-tool"] == "2.0"
    # The cached wheel's PEP 658 metadata is served too.
    page = requests.get(index + "proxy-lib/", timeout=10).text
    assert 'data-core-metadata="sha256=' in page


def test_personal_index_redirects_what_it_does_not_have(
    pypiserver: PypiServer, make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    pypiserver.add(Dist("their-tool", "3.0"))
    pypiserver.add(Dist("my-tool", "9.0"))  # an upstream project named like ours
    registry = make_server(**doc_config("personal-index", pypiserver.url))
    upload_dist(registry, Dist("my-tool", "1.0"))
    index = registry.url + "simple/"

    answer = requests.get(index + "their-tool/", allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"] == pypiserver.url + "their-tool/"
    assert answer.headers["Cache-Control"] == "no-store"

    python = fresh_venv(tmp_path / "pip")
    pip_install(python, index, "their-tool", "my-tool")
    assert installed(python)["their-tool"] == "3.0"
    assert installed(python)["my-tool"] == "1.0"
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(uv_python, index, "their-tool", "my-tool", cache=tmp_path / "uv-cache")
    assert installed(uv_python)["my-tool"] == "1.0"
    assert cached_files(registry, "their-tool") == {}

    pypiserver.stop()  # redirect keeps nothing: our own packages still install
    python = fresh_venv(tmp_path / "pip2")
    pip_install(python, index, "my-tool")
    assert installed(python)["my-tool"] == "1.0"


def test_organisation_index_over_a_private_registry_upstream(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    upstream = make_server(**{"pypi.default_read": "authenticated"})
    for dist in (
        Dist("org-dep", "2.0"),
        Dist("org-app", "1.0", requires=["org-dep"]),
        Dist("acme-internal", "99.0"),
    ):
        upload_dist(upstream, dist)
    settings = doc_config(
        "organisation",
        upstream.url + "simple/",
        **{"pypi.fallback_username": ALICE[0], "pypi.fallback_password": ALICE[1]},
    )
    registry = make_server(**settings)
    upload_dist(registry, Dist("acme-billing", "1.0"))
    index = with_credentials(registry.url + "simple/", ALICE)

    assert requests.get(registry.url + "simple/org-app/", timeout=10).status_code == 401
    page = requests.get(index + "org-app/", timeout=10)
    assert page.status_code == 200 and "org_app-1.0-py3-none-any.whl" in page.text
    assert ALICE[1] not in page.text

    python = fresh_venv(tmp_path / "pip")
    pip_install(python, index, "org-app", "acme-billing")
    assert installed(python)["org-dep"] == "2.0"
    log = registry.access_log.read_text()
    assert "org_dep-2.0-py3-none-any.whl.metadata" in log  # PEP 658 before the wheel was cached
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(uv_python, index, "org-app", cache=tmp_path / "uv-cache")
    assert installed(uv_python)["org-app"] == "1.0"

    # An internal name is never looked up upstream, even though the upstream has it.
    assert requests.get(index + "acme-internal/", timeout=10).status_code == 404

    upstream.stop()
    python = fresh_venv(tmp_path / "pip2")
    pip_install(python, index, "org-app")
    assert installed(python)["org-app"] == "1.0"


def test_private_name_wins_over_upstream(
    pypiserver: PypiServer, make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    pypiserver.add(Dist("internal-lib", "99.0"))
    registry = make_server(**doc_config("lan-proxy", pypiserver.url))
    upload_dist(registry, Dist("internal-lib", "1.0"))
    index = registry.url + "simple/"

    page = requests.get(index + "internal-lib/", timeout=10).text
    assert "99.0" not in page and "internal_lib-1.0" in page
    python = fresh_venv(tmp_path / "pip")
    pip_install(python, index, "internal-lib")
    assert installed(python)["internal-lib"] == "1.0"
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(uv_python, index, "internal-lib", cache=tmp_path / "uv-cache")
    assert installed(uv_python)["internal-lib"] == "1.0"

    # Knowing the upstream file's URL does not help either: it is not fetched.
    upstream_page = requests.get(pypiserver.url + "internal-lib/", timeout=10).text
    sha256 = upstream_page.split("internal_lib-99.0-py3-none-any.whl#sha256=")[1][:64]
    url = f"packages/internal-lib/{sha256[:16]}/internal_lib-99.0-py3-none-any.whl"
    assert registry.get(url).status_code == 404
    assert pypiserver.downloads("internal_lib-99.0-py3-none-any.whl") == 0
    assert all(origin == "" for origin in cached_files(registry, "internal-lib").values())


def test_wrong_hash_from_upstream_is_refused_and_not_stored(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    small = Dist("tampered", "1.0")
    large_name = "tampered-2.0-py3-none-any.whl"
    lying = LyingIndex({small.wheel_name: wheel_bytes(small), large_name: os.urandom(3 * 1024 * 1024)})
    try:
        registry = make_server(**doc_config("lan-proxy", lying.url))
        # A file that fits in what is read before answering: a plain 502 from the start.
        small_url = f"packages/tampered/{lying.lie[:16]}/{small.wheel_name}"
        answer = registry.get(small_url)
        assert answer.status_code == 502
        assert "sha256" in answer.text and "nothing was stored" in answer.text
        assert answer.headers["Cache-Control"] == "no-store"
        failed = pip_fails(fresh_venv(tmp_path / "pip"), registry.url + "simple/", "tampered==1.0")
        assert "502" in failed
        # A larger file streams, but its last chunk never goes out: the client cannot end up
        # with a complete wrong file. Later requests get the 502 at once.
        large_url = registry.url + f"packages/tampered/{lying.lie[:16]}/{large_name}"
        statuses = []
        for _attempt in range(4):  # two workers: each learns of the refusal on its own
            try:
                response = requests.get(large_url, timeout=30)
                statuses.append(response.status_code)
            except requests.exceptions.ChunkedEncodingError:
                statuses.append(0)
        # Each of the two workers cuts at most one download, then answers 502 at once; which
        # worker gets which request is up to the kernel, so count rather than index.
        assert set(statuses) <= {0, 502} and statuses[0] == 0, statuses
        assert statuses.count(0) <= 2 and statuses.count(502) >= 2, statuses
        assert cached_files(registry, "tampered") == {}
        assert not list(registry.services().storage.list_keys("tampered/"))
    finally:
        lying.stop()


def pip_fails(python: Path, index: str, *requirements: str) -> str:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-cache-dir", "--retries", "0", "--index-url", index,
         *requirements], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


def test_silent_upstream_times_out_quickly_and_is_not_cached(
    make_server: Callable[..., RegistryServer],
) -> None:
    silent = SilentServer()
    try:
        registry = make_server(**doc_config("lan-proxy", silent.url, **{"pypi.fallback_timeout": "1"}))
        started = time.monotonic()
        answer = registry.get("simple/anything/")
        elapsed = time.monotonic() - started
        assert answer.status_code == 504
        assert "did not answer within 1 seconds" in answer.text
        assert answer.headers["Cache-Control"] == "no-store"
        assert elapsed < 3.5
    finally:
        silent.stop()


ONLINE_UPSTREAM = os.environ.get("REGISTRY_ONLINE_UPSTREAM_URL", "")  # opt-in, never set in CI


@pytest.mark.skipif(not ONLINE_UPSTREAM, reason="opt-in: set REGISTRY_ONLINE_UPSTREAM_URL to a public index")
def test_online_public_index_through_the_proxy(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """Opt-in, never in CI: proxy a real public index and install a small pure wheel."""
    registry = make_server(**doc_config("lan-proxy", ONLINE_UPSTREAM))
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, registry.url + "simple/", "--only-binary", ":all:", "six")
    assert "six" in installed(python)
    assert cached_files(registry, "six")


def test_uploads_still_work_on_a_proxy(
    pypiserver: PypiServer, make_server: Callable[..., RegistryServer]
) -> None:
    registry = make_server(**doc_config("lan-proxy", pypiserver.url))
    dist = Dist("proxied-upload", "1.0")
    response = post_upload(registry, wheel_bytes(dist), dist.wheel_name, dist.name, dist.version, auth=ADMIN)
    assert response.status_code == 200
    assert dist.wheel_name in registry.get("simple/proxied-upload/").text
