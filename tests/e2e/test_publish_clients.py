"""twine, uv publish and poetry publish still upload: they send neither ``Origin`` nor
``Sec-Fetch-Site``, so the cross-site rules (``registry.web.crosssite``) let them through.

poetry runs from its own virtualenv (``make poetry``, which ``make test`` runs first).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.distributions import Dist, write_sdist, write_wheel
from tests.server import ADMIN, BIN, ROOT, RegistryServer

pytestmark = pytest.mark.e2e

POETRY = ROOT / ".venv" / "poetry" / "bin" / "poetry"


def _poetry(project: Path, dist: Dist) -> list[str]:
    if not POETRY.exists():
        raise RuntimeError(f"{POETRY} is missing: run `make poetry` (make test does)")
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{dist.name}"\nversion = "{dist.version}"\n'
        '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    return [str(POETRY), "publish", "--no-interaction", "-r", "local"]


def _environment(server: RegistryServer, home: Path) -> dict[str, str]:
    """The machine's environment plus the clients' settings, none of them read from ``home``."""
    return {
        **os.environ,
        "HOME": str(home),
        "POETRY_CONFIG_DIR": str(home / "poetry-config"),
        "POETRY_CACHE_DIR": str(home / "poetry-cache"),
        "POETRY_KEYRING_ENABLED": "false",
        "POETRY_REPOSITORIES_LOCAL_URL": server.url,
        "POETRY_HTTP_BASIC_LOCAL_USERNAME": ADMIN[0],
        "POETRY_HTTP_BASIC_LOCAL_PASSWORD": ADMIN[1],
        "UV_CACHE_DIR": str(home / "uv-cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


@pytest.mark.parametrize("client", ["twine", "uv", "poetry"])
def test_publishing_clients_pass_the_cross_site_rules(
    server: RegistryServer, tmp_path: Path, unique_name: str, client: str
) -> None:
    dist = Dist(unique_name, "1.0")
    project = tmp_path / "project"
    (project / "dist").mkdir(parents=True)
    files = [write(project / "dist", dist) for write in (write_wheel, write_sdist)]
    names = [str(path) for path in files]
    credentials = ["-u", ADMIN[0], "-p", ADMIN[1]]
    commands = {
        "twine": [str(BIN / "twine"), "upload", "--non-interactive", "--repository-url", server.url],
        "uv": [str(BIN / "uv"), "publish", "--publish-url", server.url],
    }
    command = commands[client] + credentials + names if client in commands else _poetry(project, dist)
    result = subprocess.run(
        command, cwd=project, env=_environment(server, tmp_path), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{client} failed:\n{result.stdout}\n{result.stderr}"
    page = server.get(f"simple/{unique_name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert sorted(entry["filename"] for entry in page.json()["files"]) == sorted(path.name for path in files)
