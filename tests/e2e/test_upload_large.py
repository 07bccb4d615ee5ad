"""``python -m registry upload-large`` against a live registry: on GCS + Firestore (emulators) the
file goes to fake-gcs-server in chunks and pip then downloads it; on local storage the command
stops with the registry's explanation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.distributions import Dist, big_wheel_bytes, write_wheel
from tests.server import ADMIN, ALICE, ROOT, RegistryServer

pytestmark = pytest.mark.e2e


def upload_large(
    server: RegistryServer, *files: Path, user: tuple[str, str] = ADMIN
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    command = [sys.executable, "-m", "registry", "upload-large", "--url", server.url, "-u", user[0]]
    command += ["--chunk-size", "0.25", *map(str, files)]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=environ | {"REGISTRY_PASSWORD": user[1]},
        capture_output=True,
        text=True,
        timeout=120,
    )


def on_gcs(server: RegistryServer) -> bool:
    return server.settings.get("pypi.storage") == "gcs"


def test_a_large_file_is_published_and_installable(
    server: RegistryServer, tmp_path: Path, unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    wheel = tmp_path / dist.wheel_name
    wheel.write_bytes(big_wheel_bytes(dist, 1024 * 1024))  # 5 chunks of 256 KiB
    result = upload_large(server, wheel)
    if not on_gcs(server):
        assert result.returncode == 1
        assert "Large-file uploads need pypi.storage = gcs" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert f"{wheel.name}: uploaded, {server.url}packages/" in result.stdout
    downloads = tmp_path / "downloads"
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-d", str(downloads)]
    pip += ["--index-url", f"{server.url}simple/", f"{dist.name}==1.0"]
    subprocess.run(pip, check=True, capture_output=True, timeout=120)  # pip checks the sha256
    assert (downloads / wheel.name).read_bytes() == wheel.read_bytes()
    again = upload_large(server, wheel)
    assert again.returncode == 0 and "identical file already uploaded" in again.stdout


@pytest.mark.parametrize("user", [ALICE, ("alice", "wrong-password")], ids=["allowed", "wrong-password"])
def test_refusals_are_reported_per_file(
    server: RegistryServer, tmp_path: Path, unique_name: str, user: tuple[str, str]
) -> None:
    good = write_wheel(tmp_path, Dist(unique_name, "1.0"))
    bad = tmp_path / Dist(unique_name, "2.0").wheel_name
    bad.write_bytes(b"not a zip at all" * 1000)
    result = upload_large(server, good, bad, user=user)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    if not on_gcs(server):
        assert result.stderr.count("Large-file uploads need pypi.storage = gcs") == 2
        assert "2 of 2 files were not uploaded" in result.stderr
    elif user == ALICE:
        assert f"{good.name}: uploaded" in result.stdout
        assert f"{bad.name}: 400 Invalid wheel: the file is not a valid zip archive" in result.stderr
        assert "1 of 2 files were not uploaded" in result.stderr
    else:
        assert result.stderr.count("401 Invalid username or password") == 2
        assert "2 of 2 files were not uploaded" in result.stderr
