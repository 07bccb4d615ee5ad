"""The deployed request flow, locally: Firebase Hosting emulator -> (fake Cloud Run API) -> app.

twine uploads to the app (as docs/deploy.md says: straight to Cloud Run), pip installs through
Hosting, and the cache headers are checked as Hosting passes them on. The emulator does not
cache, so the CDN hit ratio of an install is computed from the answers' headers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.distributions import Dist, write_wheel

from .conftest import DEMO, Hosting, Registry
from .servers import PROJECT, child_env

pytestmark = [pytest.mark.hosting, pytest.mark.e2e]

APP = Dist("hosted-app", "2.0", requires=[DEMO.name])


def cdn_cacheable(response: requests.Response, sent_credentials: bool) -> bool:
    """Whether a shared cache may keep this answer and reuse it for the next client (RFC 9111)."""
    directives = {
        part.strip().split("=")[0]: part.strip().partition("=")[2]
        for part in response.headers.get("Cache-Control", "").lower().split(",")
        if part.strip()
    }
    if response.request.method != "GET" or response.status_code not in (200, 203, 206, 301, 308, 404, 410):
        return False
    if "private" in directives or "no-store" in directives or "no-cache" in directives:
        return False
    if sent_credentials and "public" not in directives and "s-maxage" not in directives:
        return False
    lifetime = directives.get("s-maxage") or directives.get("max-age") or "0"
    return int(lifetime) > 0


def _twine(url: str, user: str, password: str, *files: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar"]
    command += ["--repository-url", url, "-u", user, "-p", password, *map(str, files)]
    return subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=120)


def _pip_install(index: str, target: Path, *names: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--index-url", index]
    command += ["--target", str(target), "--only-binary", ":all:", *names]
    return subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=180)


def _access_lines(registry: Registry) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in registry.server.output().splitlines() if line.startswith("{")]
    return [line for line in lines if "httpRequest" in line]


def test_rewrite_asks_cloud_run_for_the_configured_service(hosting: Hosting) -> None:
    answer = requests.get(hosting.url + "/health/live", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert f"/v1/projects/{PROJECT}/locations/us-central1/services/registry" in hosting.cloud_run.asked


def test_twine_upload_to_the_app_then_pip_install_through_hosting(hosting: Hosting, tmp_path: Path) -> None:
    registry = hosting.registry
    wheel = write_wheel(tmp_path, APP)
    uploaded = _twine(registry.url + "/", "admin", registry.users.admin_password, wheel)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr

    # Once to warm the (real) CDN, then again to see what a client asks for a warm package set.
    first = _pip_install(hosting.url + "/simple/", tmp_path / "first", APP.name)
    assert first.returncode == 0, first.stdout + first.stderr
    seen = len(_access_lines(registry))
    second = _pip_install(hosting.url + "/simple/", tmp_path / "second", APP.name)
    assert second.returncode == 0, second.stdout + second.stderr
    for dist in (APP, DEMO):
        installed = tmp_path / "second" / dist.module / "__init__.py"
        assert installed.read_text() == f"VERSION = {dist.version!r}\n"

    # Every request of the warm install, replayed through Hosting: is its answer CDN-cacheable?
    requested = [line["httpRequest"] for line in _access_lines(registry)[seen:]]
    paths = [str(req["requestUrl"]) for req in requested if isinstance(req, dict)]
    assert any(path.startswith("/simple/") for path in paths) and any("/packages/" in path for path in paths)
    cacheable = [cdn_cacheable(requests.get(hosting.url + path, timeout=10), False) for path in paths]
    ratio = sum(cacheable) / len(cacheable)
    print(f"\nwarm pip install through Hosting: {sum(cacheable)}/{len(cacheable)} requests CDN-cacheable")
    assert ratio == 1.0, dict(zip(paths, cacheable, strict=True))


def test_upload_through_hosting_works_for_a_small_file(hosting: Hosting, tmp_path: Path) -> None:
    """twine sends no ``Expect: 100-continue`` (the emulator answers 500 to it), so this works."""
    wheel = write_wheel(tmp_path, Dist("via-hosting", "0.1"))
    uploaded = _twine(hosting.url + "/", "bob", hosting.registry.users.bob_password, wheel)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr


INDEX = "public, max-age=60, s-maxage=60, stale-while-revalidate=30"


@pytest.mark.parametrize(
    ("path", "status", "cache_control", "vary"),
    [
        ("/simple/", 200, INDEX, "accept"),
        (f"/simple/{DEMO.name}/", 200, INDEX, "accept"),
        ("{file}", 200, "public, max-age=31536000, immutable", None),
        ("/simple/not-uploaded-yet/", 404, "no-store", None),
        ("/health", 200, "no-store", None),
    ],
)
def test_cache_headers_as_seen_through_hosting(
    hosting: Hosting, path: str, status: int, cache_control: str, vary: str | None
) -> None:
    answer = requests.get(hosting.url + path.format(file=hosting.registry.file_path()), timeout=10)
    assert answer.status_code == status
    assert answer.headers["Cache-Control"] == cache_control
    if vary:
        assert vary in answer.headers.get("Vary", "").lower()
    assert cdn_cacheable(answer, False) == cache_control.startswith("public")


def test_a_failed_login_through_hosting_is_not_cached(hosting: Hosting) -> None:
    answer = requests.get(hosting.url + "/simple/", headers={"Authorization": "Basic eDp5"}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["Cache-Control"] == "no-store"
