"""The command line: serve (first start creates admin), make-config, hash-password."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from registry.access.passwords import verify_password
from registry.config import load_config
from tests.conftest import post_upload
from tests.distributions import Dist, wheel_bytes
from tests.server import ROOT, RegistryServer, free_port

pytestmark = pytest.mark.e2e


def cli(*args: str, stdin: str = "", cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")} | env
    return subprocess.run(
        [sys.executable, "-m", "registry", *args], input=stdin, cwd=cwd, env=environ,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def serve_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for ``serve`` run from another folder (its data goes there), with no
    PYTHONPATH: the package is installed in the venv (``make``), so it works from anywhere."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    environ = {k: v for k, v in environ.items() if k not in ("PYTHONPATH", "XDG_RUNTIME_DIR")}
    home.mkdir(exist_ok=True)
    return environ | {"HOME": str(home)} | extra


def test_hash_password() -> None:
    result = cli("hash-password", "--password-stdin", stdin="s3cret\n")
    assert result.returncode == 0, result.stderr
    password_hash = result.stdout.strip()
    assert verify_password("s3cret", password_hash)
    assert not verify_password("other", password_hash)


def test_make_config_from_flags(tmp_path: Path) -> None:
    path = tmp_path / "registry.ini"
    result = cli(
        "make-config", str(path), "--yes", "--default-read", "authenticated", "--fallback", "cache",
        "--fallback-url", "http://127.0.0.1:9/simple/", "--admin", "root", "--password", "pw",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = load_config(path, environ={})
    assert config.values["pypi.default_read"] == ("authenticated",)
    assert config.values["pypi.fallback"] == "cache"
    assert config.values["auth.admins"] == ("root",)
    assert verify_password("pw", config.users["root"])
    again = cli("make-config", str(path), "--yes")
    assert again.returncode != 0
    assert "--force" in again.stderr


def test_make_config_interactive(tmp_path: Path) -> None:
    path = tmp_path / "registry.ini"
    answers = "\n".join(
        ["file", "", "sqlite", "", "everyone", "admin", "redirect", "http://127.0.0.1:9/simple/", ""]
    )
    result = cli("make-config", str(path), stdin=answers + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    config = load_config(path, environ={})
    assert config.values["pypi.default_write"] == ("admin",)
    assert config.values["pypi.fallback"] == "redirect"
    assert config.section("storage") == {"dir": f"{tmp_path}/data/packages"}


def test_serve_first_start_creates_admin(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=serve_env(tmp_path / "home"),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Log in" in line for line in lines):
            lines.append(process.stdout.readline())
            if process.poll() is not None:
                break
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/simple/" in output
        password = re.search(r"Log in as 'admin' with password (\S+) \(shown once", output)
        assert password, output
        server = RegistryServer(settings={}, log_dir=tmp_path, port=port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(server.url + "health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        dist = Dist("served-demo", "1.0")
        denied = post_upload(
            server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", auth=("admin", "wrong")
        )
        assert denied.status_code == 401
        accepted = post_upload(
            server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", auth=("admin", password.group(1))
        )
        assert accepted.status_code == 200, accepted.text
        assert (tmp_path / "data" / "packages" / "served-demo" / dist.wheel_name).is_file()
        # No gunicorn control socket in $HOME, shared by every instance on the machine.
        assert list((tmp_path / "home").iterdir()) == []
        database = (tmp_path / "data" / "registry.sqlite3").read_bytes()
        assert password.group(1).encode() not in database  # only the hash is stored
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_admin_password_from_environment(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(tmp_path / "home", REGISTRY_ADMIN_PASSWORD="from-env-pw")
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        server = RegistryServer(settings={}, log_dir=tmp_path, port=port)
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status = requests.get(server.url + "health", timeout=2).status_code
            except requests.ConnectionError:
                time.sleep(0.05)
        dist = Dist("env-admin-demo", "1.0")
        response = post_upload(
            server, wheel_bytes(dist), dist.wheel_name, dist.name, "1.0", auth=("admin", "from-env-pw")
        )
        assert response.status_code == 200, response.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=20)[0]
    assert "from-env-pw" not in output


def test_serve_refuses_a_fallback_without_upstream(tmp_path: Path) -> None:
    result = cli("serve", "--port", str(free_port()), cwd=tmp_path, REGISTRY_PYPI_FALLBACK="cache")
    assert result.returncode != 0
    assert "pypi.fallback = cache needs pypi.fallback_url" in result.stderr
    assert "Traceback" not in result.stderr
