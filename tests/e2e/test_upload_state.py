"""The upload rules that need stored state, end to end: real twine through gunicorn.

Each refusal is a 400 whose message twine prints, and leaves nothing behind: no file in
Storage, no record, no temporary file. The rules and their reasons: docs/uploads.md.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from registry.core.upload_state import tombstone_key
from tests.conftest import post_upload
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.server import ADMIN, BIN, ROOT, RegistryServer

pytestmark = pytest.mark.e2e


def twine(server: RegistryServer, *files: Path) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar",
               "--repository-url", server.url, "-u", ADMIN[0], "-p", ADMIN[1], *map(str, files)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def registry_cli(server: RegistryServer, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "registry", *args]
    return subprocess.run(
        command, cwd=ROOT, env=server.environment(), capture_output=True, text=True, timeout=120, check=False
    )


def write(directory: Path, filename: str, content: bytes) -> Path:
    path = directory / filename
    path.write_bytes(content)
    return path


def assert_twine_refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    output = " ".join((result.stdout + result.stderr).split())  # twine wraps long messages
    assert result.returncode != 0, output
    assert "400" in output, output
    for phrase in phrases:
        assert phrase in output, output
    assert "Traceback" not in output


def assert_not_stored(server: RegistryServer, project: str, filename: str) -> None:
    services = server.services()
    assert services.cache.get_file(project, filename) is None  # type: ignore[arg-type]
    assert not services.storage.exists(f"{project}/{filename}")
    tmp = Path(server.settings["storage.dir"]) / ".tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_a_second_sdist_for_a_release_is_refused(
    server: RegistryServer, tmp_path: Path, unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    assert twine(server, write(tmp_path, dist.sdist_name, sdist_bytes(dist))).returncode == 0
    other = Dist(unique_name, "1.0", summary="built again")  # other bytes, other spelling
    second = f"{unique_name}-1.0.tar.gz"
    assert second != dist.sdist_name
    result = twine(server, write(tmp_path, second, sdist_bytes(other)))
    assert_twine_refused(result, "Only one sdist may be uploaded per release", dist.sdist_name)
    assert_not_stored(server, dist.module.replace("_", "-"), second)
    wheel = write(tmp_path, dist.wheel_name, wheel_bytes(dist))  # a wheel for the release is fine
    assert twine(server, wheel).returncode == 0


def test_a_deleted_filename_is_never_used_again_until_an_admin_lifts_it(
    server: RegistryServer, tmp_path: Path, unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    project = dist.module.replace("_", "-")
    wheel = write(tmp_path, dist.wheel_name, wheel_bytes(dist))
    assert twine(server, wheel).returncode == 0
    deleted = registry_cli(server, "delete", project, dist.wheel_name)
    assert deleted.returncode == 0, deleted.stderr
    assert server.services().storage.exists(tombstone_key(project, dist.wheel_name))  # type: ignore[arg-type]
    message = "This filename was previously used by a file that has since been deleted"
    assert_twine_refused(twine(server, wheel), message)  # the same bytes
    other_dir = tmp_path / "rebuilt"
    other_dir.mkdir()
    changed = write(other_dir, dist.wheel_name, wheel_bytes(Dist(unique_name, "1.0", summary="rebuilt")))
    assert_twine_refused(twine(server, changed), message)  # or other bytes
    assert_not_stored(server, project, dist.wheel_name)
    lifted = registry_cli(server, "lift-tombstone", project, dist.wheel_name)
    assert lifted.returncode == 0, lifted.stderr
    assert twine(server, changed).returncode == 0
    again = registry_cli(server, "lift-tombstone", project, dist.wheel_name)
    assert again.returncode != 0 and "has no tombstone" in again.stderr


def test_the_same_bytes_under_a_second_filename_are_refused_in_any_project(
    server: RegistryServer, tmp_path: Path, unique_name: str
) -> None:
    dist = Dist(unique_name, "1.0")
    content = sdist_bytes(dist)
    assert twine(server, write(tmp_path, dist.sdist_name, content)).returncode == 0
    second = f"{unique_name}-1.0.tar.gz"  # the same release's sdist, spelled another way
    assert_twine_refused(
        twine(server, write(tmp_path, second, content)),
        "The same file was already uploaded as",
        dist.sdist_name,
    )
    assert_not_stored(server, dist.module.replace("_", "-"), second)
    other = Dist(f"{unique_name}-copy", "1.0")  # another project's name on the same bytes
    response = post_upload(server, content, other.sdist_name, other.name, "1.0")
    assert response.status_code == 400, response.text
    assert "The same file was already uploaded as" in response.text and dist.sdist_name in response.text
    assert_not_stored(server, other.module.replace("_", "-"), other.sdist_name)


def test_a_new_project_with_a_confusable_name_is_refused(
    server: RegistryServer, tmp_path: Path, unique_name: str
) -> None:
    original = Dist(f"pillow-{unique_name}", "1.0")
    assert twine(server, write(tmp_path, original.wheel_name, wheel_bytes(original))).returncode == 0
    lookalike = Dist(f"pi11ow_{unique_name}", "1.0")
    result = twine(server, write(tmp_path, lookalike.wheel_name, wheel_bytes(lookalike)))
    assert_twine_refused(result, "too similar to the existing project", original.module.replace("_", "-"))
    services = server.services()
    assert services.cache.project_serial(lookalike.module.replace("_", "-")) is None  # type: ignore[arg-type]
    assert_not_stored(server, lookalike.module.replace("_", "-"), lookalike.wheel_name)
    newer = Dist(f"pillow-{unique_name}", "2.0")  # the existing project keeps taking uploads
    assert twine(server, write(tmp_path, newer.wheel_name, wheel_bytes(newer))).returncode == 0


def test_concurrent_uploads_of_one_file_under_eight_names_store_exactly_one(
    server: RegistryServer, unique_name: str
) -> None:
    """Eight spellings of one sdist's filename (case changed), the same bytes, all at once."""
    dist = Dist(unique_name, "1.0")
    content = sdist_bytes(dist)
    letters = [n for n, char in enumerate(dist.module) if char.isalpha()][:8]
    filenames = [
        f"{dist.module[:n]}{dist.module[n].upper()}{dist.module[n + 1 :]}-1.0.tar.gz" for n in letters
    ]
    assert len(set(filenames)) == 8

    def upload(filename: str) -> int:
        return post_upload(server, content, filename, dist.name, "1.0").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(upload, filenames))
    assert sorted(statuses) == [200] + [400] * 7, statuses
    project = dist.module.replace("_", "-")
    services = server.services()
    (stored,) = services.cache.list_files(project)  # type: ignore[arg-type]
    assert stored.filename == filenames[statuses.index(200)]
    digest = hashlib.sha256(content).hexdigest()
    assert services.cache.get_claims([f"sha256:{digest}"]) == {
        f"sha256:{digest}": f"{project}/{stored.filename}"
    }
    assert sorted(services.storage.list_keys(f"{project}/")) == [f"{project}/{stored.filename}"]
