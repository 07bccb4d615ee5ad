"""End to end with real clients on a registry where every read needs a login.

twine and uv publish upload with a password and with API tokens (``__token__``); pip and uv
install with credentials in the index URL, password or token; scoped and expired tokens fail.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.access_helpers import READER, UPLOADER, seeded_server
from tests.distributions import Dist, write_sdist, write_wheel
from tests.e2e.test_clients import fresh_venv, installed, run, uv_install
from tests.server import ADMIN, BIN, RegistryServer

pytestmark = pytest.mark.e2e

ORG = {
    "pypi.default_read": "authenticated",
    "pypi.default_write": "uploaders",
    "package.e2e-secret.user.uploader": "rw",
}


@pytest.fixture(scope="module")
def org(
    tmp_path_factory: pytest.TempPathFactory,
    backend_settings: Callable[[], dict[str, str]],
) -> Iterator[tuple[RegistryServer, dict[str, str]]]:
    server, tokens = seeded_server(tmp_path_factory.mktemp("e2e-org"), ORG, backend_settings())
    yield server, tokens
    server.stop()


@pytest.fixture(scope="module")
def pip_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh_venv(tmp_path_factory.mktemp("pip-venv") / "venv")


def make_token(server: RegistryServer, auth: tuple[str, str], **body: object) -> str:
    response = server.post("manage/tokens", auth=auth, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def with_credentials(server: RegistryServer, user: str, password: str) -> str:
    return server.url.replace("http://", f"http://{user}:{password}@") + "simple/"


def twine(
    server: RegistryServer, user: str, password: str, files: list[Path]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar", "--repository-url",
         server.url, "-u", user, "-p", password, *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_twine_uploads_with_a_token_and_pip_installs_with_one(
    org: tuple[RegistryServer, dict[str, str]], pip_python: Path, tmp_path: Path
) -> None:
    server, _ = org
    upload_token = make_token(server, UPLOADER, permissions=["upload"], projects=["e2e-tokened"])
    dist = Dist("e2e-tokened", "1.0")
    result = twine(
        server, "__token__", upload_token, [write_wheel(tmp_path, dist), write_sdist(tmp_path, dist)]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    refused = twine(server, "__token__", upload_token, [write_wheel(tmp_path, Dist("e2e-elsewhere", "1.0"))])
    assert refused.returncode != 0 and "403" in refused.stdout + refused.stderr

    read_token = make_token(server, READER, permissions=["read"])
    run([str(pip_python), "-m", "pip", "install", "--no-cache-dir", "--index-url",
         with_credentials(server, "__token__", read_token), "e2e-tokened"])  # fmt: skip
    assert installed(pip_python)["e2e-tokened"] == "1.0"
    log = server.access_log.read_text()
    assert read_token not in log and upload_token not in log


def test_uv_publish_with_a_token_and_uv_installs_with_password_and_token(
    org: tuple[RegistryServer, dict[str, str]], tmp_path: Path
) -> None:
    server, _ = org
    upload_token = make_token(server, UPLOADER, permissions=["upload", "read"])
    dist = Dist("e2e-uv-tokened", "2.0")
    run([str(BIN / "uv"), "publish", "--publish-url", server.url, "--token", upload_token,
         str(write_wheel(tmp_path, dist))])  # fmt: skip
    for user, password in (READER, ("__token__", upload_token)):
        python = fresh_venv(tmp_path / f"venv-{user}", with_pip=False)
        uv_install(python, with_credentials(server, user, password), "e2e-uv-tokened", cache=tmp_path / "uv")
        assert installed(python)["e2e-uv-tokened"] == "2.0"


def test_pip_with_a_password_sees_hidden_projects_only_when_allowed(
    org: tuple[RegistryServer, dict[str, str]], pip_python: Path, tmp_path: Path
) -> None:
    server, _ = org
    dist = Dist("e2e-secret", "1.0")
    uploaded = twine(server, *UPLOADER, [write_wheel(tmp_path, dist)])
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    command = [str(pip_python), "-m", "pip", "install", "--no-cache-dir", "--index-url"]
    denied = subprocess.run(
        [*command, with_credentials(server, *READER), "e2e-secret"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert denied.returncode != 0
    run([*command, with_credentials(server, *UPLOADER), "e2e-secret"])
    assert installed(pip_python)["e2e-secret"] == "1.0"


def test_scoped_and_expired_tokens_are_refused_by_pip(
    org: tuple[RegistryServer, dict[str, str]], pip_python: Path, tmp_path: Path
) -> None:
    server, tokens = org
    dist = Dist("e2e-guarded", "1.0")
    assert twine(server, *ADMIN, [write_wheel(tmp_path, dist)]).returncode == 0
    for token in (tokens["other"], tokens["expired"]):
        result = subprocess.run(
            [str(pip_python), "-m", "pip", "install", "--no-cache-dir", "--index-url",
             with_credentials(server, "__token__", token), "e2e-guarded"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode != 0
    assert requests.get(server.url + "simple/e2e-guarded/", timeout=10).status_code == 401


def test_pip_sends_url_credentials_for_a_project_hidden_in_a_public_index(
    tmp_path_factory: pytest.TempPathFactory, pip_python: Path, tmp_path: Path
) -> None:
    """In a public index a hidden project answers 404 (not 401), so clients must send
    credentials before being asked: pip and uv do with credentials in the URL."""
    settings = {
        "pypi.default_read": "everyone",
        "pypi.default_write": "admin",
        "package.e2e-mine.user.admin": "rw",
    }
    server, _ = seeded_server(tmp_path_factory.mktemp("e2e-personal"), settings)
    try:
        assert twine(server, *ADMIN, [write_wheel(tmp_path, Dist("e2e-mine", "1.0"))]).returncode == 0
        assert requests.get(server.url + "simple/e2e-mine/", timeout=10).status_code == 404
        token = make_token(server, ADMIN, permissions=["read"], projects=["e2e-mine"])
        run([str(pip_python), "-m", "pip", "install", "--no-cache-dir", "--index-url",
             with_credentials(server, "__token__", token), "e2e-mine"])  # fmt: skip
        assert installed(pip_python)["e2e-mine"] == "1.0"
        python = fresh_venv(tmp_path / "uv-venv", with_pip=False)
        uv_install(python, with_credentials(server, "__token__", token), "e2e-mine", cache=tmp_path / "uv")
        assert installed(python)["e2e-mine"] == "1.0"
    finally:
        server.stop()
