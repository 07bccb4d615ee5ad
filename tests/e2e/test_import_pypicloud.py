"""import-pypicloud against a real pypicloud 1.3.12 that received real twine uploads."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from registry.config import load_config
from registry.core.stores import Stores
from tests.distributions import Dist, write_sdist, write_wheel
from tests.pypicloud_server import USERS, Pypicloud
from tests.server import BIN, ROOT, RegistryServer, base_settings, settings_env

pytestmark = pytest.mark.e2e

DISTS = [Dist("pc-alpha", "1.0", summary="Alpha"), Dist("pc-alpha", "1.1", summary="Alpha")]
BETA = Dist("Pc_Beta", "0.1", requires_python=">=3.8", summary="Beta from dave")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pypicloud, dict[str, Path]]]:
    """pypicloud with files uploaded by twine as carol (alpha) and dave (beta), plus a broken one."""
    pypicloud = Pypicloud(tmp_path_factory.mktemp("pypicloud")).start()
    built = tmp_path_factory.mktemp("dists")
    files: dict[str, Path] = {}
    try:
        for dists, user in ((DISTS, "carol"), ([BETA], "dave")):
            paths = [maker(built, dist) for dist in dists for maker in (write_wheel, write_sdist)]
            files.update({path.name: path for path in paths})
            twine = [str(BIN / "twine"), "upload", "--non-interactive", "--repository-url", pypicloud.url]
            result = subprocess.run(
                [*twine, "-u", user, "-p", USERS[user], *map(str, paths)],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
        broken = pypicloud.root / "packages" / "broken" / "1.0"
        broken.mkdir(parents=True)
        (broken / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip file")
        yield pypicloud, files
    finally:
        pypicloud.stop()


def import_command(config: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")} | settings_env(settings)
    return subprocess.run(
        [sys.executable, "-m", "registry", "import-pypicloud", str(config)],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_import_then_pip_gets_the_same_files(
    deployment: tuple[Pypicloud, dict[str, Path]], tmp_path: Path
) -> None:
    pypicloud, files = deployment
    settings = base_settings(tmp_path / "data") | {"pypi.default_read": "authenticated"}
    first = import_command(pypicloud.config, settings)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "files: 6 imported, 0 already there, 1 skipped; projects: 2" in first.stdout
    assert "skipped broken-1.0-py3-none-any.whl: " in first.stdout
    assert "2 users" in first.stdout and "1 groups" in first.stdout and "3 perms" in first.stdout
    again = import_command(pypicloud.config, settings)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "files: 0 imported, 6 already there, 1 skipped" in again.stdout
    assert "access data: nothing written, 6 already there" in again.stdout

    server = RegistryServer(settings=settings, log_dir=tmp_path / "logs").start()
    try:
        downloaded = pip_download(server, tmp_path / "got", ("pc-alpha==1.0", "pc-alpha==1.1", "pc-beta"))
        refused = pip_download(server, tmp_path / "no", ("pc-beta",), password="wrong", check=False)
    finally:
        server.stop()
    assert refused == []  # a wrong password is refused: the imported hash is checked
    assert sorted(path.name for path in downloaded) == sorted(files)
    for path in downloaded:
        assert sha256(path) == sha256(files[path.name]), path.name
    check_records(pypicloud, settings)


def pip_download(
    server: RegistryServer,
    into: Path,
    specs: tuple[str, ...],
    password: str = USERS["carol"],
    check: bool = True,
) -> list[Path]:
    """pip downloads each spec's wheel and sdist, as carol (a pypicloud user, its password hash
    imported); returns the files."""
    index = server.url.replace("http://", f"http://carol:{password}@") + "simple/"
    for spec, only in (
        (spec, only) for spec in specs for only in ("--only-binary=:all:", "--no-binary=:all:")
    ):
        result = subprocess.run(
            [str(BIN / "pip"), "download", "--no-deps", "--no-build-isolation", only, "-d", str(into),
             "--index-url", index, spec],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        elif result.returncode != 0:
            return []
    return sorted(into.iterdir())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_records(pypicloud: Pypicloud, settings: dict[str, str]) -> None:
    """Upload times, uploaders and summaries are pypicloud's; the users keep their hashes."""
    with sqlite3.connect(pypicloud.root / "db.sqlite") as db:
        rows = dict(db.execute("SELECT filename, last_modified FROM packages").fetchall())
    stores = Stores.from_config(load_config(environ=settings_env(settings)))
    try:
        for dist in (*DISTS, BETA):
            for filename in (dist.wheel_name, dist.sdist_name):
                record = stores.cache.get_file(canonicalize_name(dist.name), filename)
                assert record is not None, filename
                assert record.uploader == ("dave" if dist is BETA else "carol")
                assert record.info["summary"] == dist.summary
                uploaded = datetime.fromisoformat(rows[filename])
                assert record.upload_time.replace(tzinfo=None) == uploaded.replace(tzinfo=None)
        carol = stores.documents.get_doc("user", "carol")
        assert carol is not None and carol["admin"] is True
        assert carol["password_hash"].startswith("$6$")
        assert stores.documents.get_doc("group", "team") == {"members": ["carol", "dave"]}
    finally:
        stores.close()
