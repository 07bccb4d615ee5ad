"""Pre-seeding from lock files: locks written by the real uv and poetry against a local upstream
(pypiserver), mirrored with ``python -m registry mirror``, then installed with the upstream
stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from registry.lockfiles import read_lock
from tests.distributions import Dist
from tests.e2e.test_clients import fresh_venv, installed, pip_install, uv_install
from tests.server import BIN, ROOT, RegistryServer
from tests.upstream import PypiServer

pytestmark = pytest.mark.e2e

POETRY = ROOT / ".venv" / "poetry" / "bin" / "poetry"
LIB, APP, EXTRA = (
    Dist("mir-lib", "1.0"),
    Dist("Mir.App", "0.5", requires=["mir-lib>=1,<2"]),
    Dist("mir-extra", "1.0"),
)
PINNED = {d.wheel_name for d in (LIB, APP, EXTRA)} | {d.sdist_name for d in (LIB, APP, EXTRA)}


def write_locks(project: Path, upstream: PypiServer, tmp: Path) -> None:
    """uv.lock, requirements.txt (hashes), pylock.toml from uv; poetry.lock from poetry."""
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "consumer"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["mir-app==0.5", "mir-extra"]\n\n'
        f'[[tool.poetry.source]]\nname = "upstream"\nurl = "{upstream.url}"\npriority = "primary"\n'
    )
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
        "POETRY_CACHE_DIR": str(tmp / "poetry-cache"),
        "POETRY_CONFIG_DIR": str(tmp / "poetry-config"),
        "POETRY_VIRTUALENVS_CREATE": "false",
        "POETRY_NO_INTERACTION": "1",
    }
    export = [str(BIN / "uv"), "export", "--frozen", "--no-emit-project"]
    for command in (
        [str(BIN / "uv"), "lock", "--default-index", upstream.url],
        [*export, "--format", "requirements-txt", "-o", "requirements.txt"],
        [*export, "--format", "pylock.toml", "-o", "pylock.toml"],
        [str(POETRY), "lock"],
    ):
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{command}: {done.stderr}"


def mirror(server: RegistryServer, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "registry", "mirror", *map(str, args)]
    return subprocess.run(
        command, cwd=ROOT, env=server.environment(), capture_output=True, text=True, timeout=300, check=False
    )


def test_locks_from_uv_and_poetry_are_mirrored_then_installed_without_the_upstream(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    upstream = PypiServer(tmp_path / "upstream-files").start()
    try:
        for dist in (LIB, Dist("mir-lib", "2.0"), APP, EXTRA):
            upstream.add(dist)
        project = tmp_path / "consumer"
        write_locks(project, upstream, tmp_path)
        for name in ("uv.lock", "requirements.txt", "pylock.toml", "poetry.lock"):
            pinned = {f for pin in read_lock(project / name).pins for f in pin.files}
            assert pinned == (PINNED if name != "requirements.txt" else set()), name
        registry = make_server(**{"pypi.fallback": "cache", "pypi.fallback_url": upstream.url})

        # An interrupted first run: only mir-lib (no hashes: all files of the version).
        (tmp_path / "part.txt").write_text("mir-lib==1.0\n")
        first = mirror(registry, tmp_path / "part.txt")
        assert first.returncode == 0, first.stderr
        assert "0 files already stored, 2 to fetch" in first.stdout
        second = mirror(registry, project / "uv.lock")
        assert second.returncode == 0 and "2 files already stored, 4 to fetch" in second.stdout, second.stderr
        again = mirror(registry, *(project / n for n in ("poetry.lock", "pylock.toml", "requirements.txt")))
        assert again.returncode == 0 and "18 files already stored, 0 to fetch" in again.stdout, again.stderr
        stored_files(registry)

        (tmp_path / "bad.txt").write_text(
            "mir-lib==9.9\nmir-app>=0.5\nmir-extra==1.0 --hash=sha256:" + "0" * 64 + "\n"
        )
        bad = mirror(registry, tmp_path / "bad.txt")
        assert bad.returncode == 1
        assert "mir-lib==9.9: no file to mirror" in bad.stderr
        assert "'mir-app>=0.5' is not pinned to one version" in bad.stderr
        assert "mir-extra==1.0: no file to mirror" in bad.stderr
    finally:
        upstream.stop()

    python = fresh_venv(tmp_path / "pip")
    pip_install(python, registry.url + "simple/", "--require-hashes", "-r", str(project / "requirements.txt"))
    assert {k: installed(python)[k] for k in ("mir-app", "mir-lib", "mir-extra")} == {
        "mir-app": "0.5",
        "mir-lib": "1.0",
        "mir-extra": "1.0",
    }
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(
        uv_python, registry.url + "simple/", "-r", str(project / "requirements.txt"), cache=tmp_path / "c"
    )
    assert installed(uv_python)["mir-lib"] == "1.0"


def stored_files(registry: RegistryServer) -> None:
    """Exactly the pinned files are stored (not mir-lib 2.0), each wheel with its metadata file."""
    stores = registry.services()
    records = [r for name in ("mir-lib", "mir-app", "mir-extra") for r in stores.cache.list_files(name)]
    assert {r.filename for r in records} == PINNED
    for record in records:
        assert record.origin.startswith("http://127.0.0.1:")
        if record.filename.endswith(".whl"):
            assert record.metadata_sha256
            with stores.storage.open(record.metadata_key).stream as metadata:
                assert metadata.read().startswith(b"Metadata-Version: 2.1\nName: ")
