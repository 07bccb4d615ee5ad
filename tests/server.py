"""Start the real registry (gunicorn, free loopback port) for tests, and talk to it."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from registry.access.passwords import hash_password
from registry.config import load_config
from registry.serving import WORKER_CLASS
from tests.backends import Backends as Services
from tests.processes import stop_group

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN = ("admin", "admin-secret-pw")
ALICE = ("alice", "alice-secret-pw")
# Hashing is slow on purpose; compute each test password's hash once per session.
_HASHES = {name: hash_password(password) for name, password in (ADMIN, ALICE)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Mapping[str, str]) -> dict[str, str]:
    """Raw settings as the REGISTRY_* environment variables the server reads."""
    return {"REGISTRY_" + key.upper().replace(".", "_"): value for key, value in settings.items()}


def base_settings(data_dir: Path) -> dict[str, str]:
    """Local backends in ``data_dir``, an admin and one ordinary user."""
    return {
        "storage.dir": str(data_dir / "packages"),
        "db.path": str(data_dir / "registry.sqlite3"),
        "auth.admins": ADMIN[0],
        f"user.{ADMIN[0]}": _HASHES[ADMIN[0]],
        f"user.{ALICE[0]}": _HASHES[ALICE[0]],
    }


@dataclass
class RegistryServer:
    """A gunicorn process serving ``main:app`` with the given settings."""

    settings: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def access_log(self) -> Path:
        return self.log_dir / f"access-{self.port}.log"

    @property
    def error_log(self) -> Path:
        return self.log_dir / f"error-{self.port}.log"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update(settings_env(self.settings))
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30) -> RegistryServer:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(BIN / "gunicorn"),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", WORKER_CLASS,  # the worker both shipped configurations use
            "--threads", "4",
            "--access-logfile", str(self.access_log),
            "--error-logfile", str(self.error_log),
            *self.extra_args,
            "main:app",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry server exited early:\n{self.error_log.read_text()}")
            try:
                if requests.get(self.url + "health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:  # refused while booting, or a slow first answer
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"registry server did not become healthy in {timeout}s")

    def stop(self) -> None:
        if self.process:
            stop_group(self.process)

    def services(self) -> Services:
        """The same backends the server uses, for checking what is stored."""
        return Services.from_config(load_config(environ=settings_env(self.settings)))

    def get(self, path: str, auth: tuple[str, str] | None = None, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path.lstrip("/"), auth=auth, timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, auth: tuple[str, str] | None = None, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path.lstrip("/"), auth=auth, timeout=60, **kwargs)  # type: ignore[arg-type]

    def delete(self, path: str, auth: tuple[str, str] | None = None) -> requests.Response:
        return requests.delete(self.url + path.lstrip("/"), auth=auth, timeout=30)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
