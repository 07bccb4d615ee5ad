"""End to end with real clients: twine and uv publish upload; pip and uv install; pypi-simple reads."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from pypi_simple import ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY, PyPISimple
from twine.commands.upload import skip_upload

from tests.conftest import post_upload
from tests.distributions import Dist, write_sdist, write_wheel
from tests.server import ADMIN, BIN, RegistryServer

pytestmark = pytest.mark.e2e


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def twine_upload(server: RegistryServer, files: list[Path], *extra: str) -> subprocess.CompletedProcess[str]:
    return run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", server.url, "-u", ADMIN[0], "-p", ADMIN[1], *extra, *map(str, files)]
    )  # fmt: skip


def fresh_venv(path: Path, with_pip: bool = True) -> Path:
    """A new virtualenv; pip comes from the interpreter's bundled wheel (no network)."""
    if with_pip:
        run([sys.executable, "-m", "venv", str(path)])
    else:
        run([str(BIN / "uv"), "venv", "--quiet", "--python", sys.executable, str(path)])
    return path / "bin" / "python"


def pip_install(python: Path, index: str, *requirements: str) -> subprocess.CompletedProcess[str]:
    return run([str(python), "-m", "pip", "install", "--no-cache-dir", "--index-url", index, *requirements])


def uv_install(python: Path, index: str, *requirements: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return run(
        [str(BIN / "uv"), "pip", "install", "--python", str(python), "--index-url", index,
         "--cache-dir", str(cache), *requirements]
    )  # fmt: skip


def installed(python: Path) -> dict[str, str]:
    script = "import importlib.metadata as m, json\n"
    script += "print(json.dumps({d.name: d.version for d in m.distributions()}))"
    out = run([str(python), "-c", script])
    return {canonicalize_name(name): version for name, version in json.loads(out.stdout).items()}


@pytest.fixture(scope="module")
def stack(server: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dist]:
    """Three projects that depend on each other, uploaded with one twine call."""
    dist_dir = tmp_path_factory.mktemp("dists")
    dists = {
        "core": Dist("e2e-core", "1.0"),
        "core2": Dist("e2e-core", "2.0", requires_python=">=3.8"),
        "lib": Dist("E2E_Lib", "1.5", requires=["e2e-core>=2"]),
        "app": Dist("e2e.app", "0.3", requires=["e2e-lib>=1.0"]),
    }
    files = [write(dist_dir, dist) for dist in dists.values() for write in (write_wheel, write_sdist)]
    result = twine_upload(server, files)
    assert "View at" in result.stdout or result.returncode == 0
    return dists


def test_pip_installs_dependencies_from_registry_only(
    server: RegistryServer, stack: dict[str, Dist], tmp_path: Path
) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, server.url + "simple/", "e2e.app")
    versions = installed(python)
    assert versions["e2e-app"] == "0.3"
    assert versions["e2e-lib"] == "1.5"
    assert versions["e2e-core"] == "2.0"
    run([str(python), "-c", "import e2e_app, e2e_lib, e2e_core; assert e2e_core.VERSION == '2.0'"])


def test_pip_reads_core_metadata_files(
    server: RegistryServer, stack: dict[str, Dist], tmp_path: Path
) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, server.url + "simple/", "e2e-lib")
    log = server.access_log.read_text()
    assert "/packages/e2e-lib/" in log
    metadata_lines = [line for line in log.splitlines() if ".whl.metadata" in line and "e2e_lib" in line]
    assert metadata_lines, "pip did not fetch the PEP 658 metadata file"
    assert all('" 200 ' in line for line in metadata_lines)


def test_uv_installs_dependencies(server: RegistryServer, stack: dict[str, Dist], tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv", with_pip=False)
    uv_install(python, server.url + "simple/", "e2e.app", cache=tmp_path / "uv-cache")
    versions = installed(python)
    assert versions["e2e-app"] == "0.3"
    assert versions["e2e-core"] == "2.0"


def test_pip_builds_from_sdist(server: RegistryServer, stack: dict[str, Dist], tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, server.url + "simple/", "--no-binary", "e2e-core", "--no-deps", "e2e-core==1.0")
    assert installed(python)["e2e-core"] == "1.0"
    log = server.access_log.read_text()
    assert "e2e_core-1.0.tar.gz" in log


def test_pypi_simple_reads_every_page(server: RegistryServer, stack: dict[str, Dist]) -> None:
    for accept in (ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY):
        with PyPISimple(endpoint=server.url + "simple/", accept=accept) as client:
            index = client.get_index_page()
            assert {"e2e-core", "e2e-lib", "e2e-app"} <= {
                name.lower().replace(".", "-").replace("_", "-") for name in index.projects
            }
            page = client.get_project_page("e2e-core")
            assert page.repository_version == "1.1"
            packages = {package.filename: package for package in page.packages}
            assert set(packages) == {"e2e_core-1.0-py3-none-any.whl", "e2e_core-1.0.tar.gz",
                                     "e2e_core-2.0-py3-none-any.whl", "e2e_core-2.0.tar.gz"}  # fmt: skip
            wheel = packages["e2e_core-2.0-py3-none-any.whl"]
            assert wheel.has_metadata is True
            assert wheel.requires_python == ">=3.8"
            assert set(wheel.digests) == {"sha256"}
            assert packages["e2e_core-1.0.tar.gz"].has_metadata in (False, None)
            if accept == ACCEPT_JSON_ONLY:
                assert page.versions == ["1.0", "2.0"]
                assert wheel.size and wheel.size > 0
                assert wheel.upload_time is not None
            # The link resolves and the file's hash matches the page's.
            download = server.get(wheel.url.replace(server.url, ""))
            import hashlib

            assert hashlib.sha256(download.content).hexdigest() == wheel.digests["sha256"]


def test_twine_skip_existing_and_identical_reupload(
    server: RegistryServer, stack: dict[str, Dist], tmp_path: Path
) -> None:
    changed = Dist("e2e-core", "1.0", summary="changed bytes")
    path = write_wheel(tmp_path, changed)
    failed = subprocess.run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar", "--repository-url",
         server.url, "-u", ADMIN[0], "-p", ADMIN[1], str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "File already exists" in failed.stdout + failed.stderr
    # twine 7 allows --skip-existing only for the public index (a client-side check), so ask
    # twine's own decision function about our real answer, as older twines and others do.
    response = post_upload(server, path.read_bytes(), path.name, "e2e-core", "1.0")
    assert skip_upload(response, True, None)  # type: ignore[arg-type]
    (tmp_path / "original").mkdir()
    twine_upload(server, [write_wheel(tmp_path / "original", stack["core"])])  # identical: accepted


def test_uv_publish(server: RegistryServer, unique_name: str, tmp_path: Path) -> None:
    dist = Dist(unique_name, "1.0")
    files = [write_wheel(tmp_path, dist), write_sdist(tmp_path, dist)]
    run([str(BIN / "uv"), "publish", "--publish-url", server.url, "-u", ADMIN[0], "-p", ADMIN[1],
         *map(str, files)])  # fmt: skip
    listed = server.get(f"simple/{unique_name}/").text
    assert dist.wheel_name in listed and dist.sdist_name in listed


def test_pip_respects_yanked_release(
    server: RegistryServer, make_server: Callable[..., RegistryServer], unique_name: str, tmp_path: Path
) -> None:
    dists = [Dist(unique_name, "1.0"), Dist(unique_name, "2.0")]
    files = [write_wheel(tmp_path, dist) for dist in dists]
    twine_upload(server, files)
    response = server.post(f"manage/projects/{unique_name}/releases/2.0/yank", auth=ADMIN,
                           json={"reason": "broken build"})  # fmt: skip
    assert response.status_code == 200, response.text
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, server.url + "simple/", unique_name)
    assert installed(python)[unique_name] == "1.0"
    pinned = pip_install(python, server.url + "simple/", f"{unique_name}==2.0")
    assert "broken build" in pinned.stdout + pinned.stderr
    assert installed(python)[unique_name] == "2.0"


def test_pip_with_credentials_in_url_on_private_registry(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    private = make_server(**{"pypi.default_read": "authenticated"})
    dist = Dist("private-thing", "1.0")
    twine_upload(private, [write_wheel(tmp_path, dist)])
    python = fresh_venv(tmp_path / "venv")
    anonymous = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-cache-dir", "--index-url", private.url + "simple/",
         "private-thing"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert anonymous.returncode != 0
    index = private.url.replace("http://", f"http://{ADMIN[0]}:{ADMIN[1]}@") + "simple/"
    pip_install(python, index, "private-thing")
    assert installed(python)["private-thing"] == "1.0"
