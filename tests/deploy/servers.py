"""Real processes for the deployment tests: gunicorn with gunicorn.conf.py (or as ``registry
serve`` runs it), a fake Cloud Run Admin API, and the Firebase Hosting emulator in front of the app.

Every start polls a ready check and fails (never skips) with the process's log when it does not
come up. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from tests.processes import stop_group

ROOT = Path(__file__).resolve().parents[2]
FIREBASE = ROOT / "node_modules" / ".bin" / "firebase"
PROJECT = "demo-test"

#: From shared TEST-SERVICES: no cloud metadata probes, and clients see only the registry.
TEST_ENV = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": PROJECT,
    "PIP_CONFIG_FILE": "/dev/null",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
}


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: ours, minus registry settings, plus TEST_ENV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(TEST_ENV)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Process:
    """A child process with its output in a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        """Signal the process group we started, wait, and kill it if it does not stop."""
        return stop_group(self.process, sig, timeout)


def spawn(name: str, command: list[str], log: Path, env: Mapping[str, str], cwd: Path = ROOT) -> Process:
    handle = log.open("wb")
    process = subprocess.Popen(
        command, cwd=cwd, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    handle.close()
    return Process(name, process, log)


def wait_until(process: Process, ready: Callable[[], bool], timeout: float = 90) -> None:
    """Poll ``ready`` until it is true; fail with the log if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited ({process.process.returncode}):\n{process.output()}")
        try:
            if ready():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.05)
    process.stop()
    raise RuntimeError(f"{process.name} not ready after {timeout} s:\n{process.output()}")


def answers_200(url: str) -> Callable[[], bool]:
    return lambda: requests.get(url, timeout=5).status_code == 200


@dataclass
class Users:
    """Users a test server knows: an admin and a plain user, with fresh passwords."""

    admin_password: str = field(default_factory=lambda: "adm-" + os.urandom(6).hex())
    bob_password: str = field(default_factory=lambda: "bob-" + os.urandom(6).hex())

    def settings(self) -> dict[str, str]:
        from registry.access.passwords import hash_password

        return {
            "REGISTRY_USER_ADMIN": hash_password(self.admin_password),
            "REGISTRY_USER_BOB": hash_password(self.bob_password),
            "REGISTRY_AUTH_ADMINS": "admin",
        }


def start_gunicorn(tmp: Path, settings: Mapping[str, str], name: str = "gunicorn") -> Process:
    """``gunicorn -c gunicorn.conf.py main:app`` on a free loopback port with local backends."""
    port = free_port()
    env = child_env(
        PORT=str(port),
        HOST="127.0.0.1",
        REGISTRY_STORAGE_DIR=str(tmp / "packages"),
        REGISTRY_DB_PATH=str(tmp / "registry.sqlite3"),
        **settings,
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "main:app"]
    server = spawn(name, command, tmp / f"{name}.log", env)
    server.url = f"http://127.0.0.1:{port}"
    wait_until(server, answers_200(server.url + "/health"), timeout=60)
    return server


def start_serve(tmp: Path, settings: Mapping[str, str], name: str = "serve") -> Process:
    """``python -m registry serve`` (what ``make run`` starts) on a free loopback port."""
    port = free_port()
    env = child_env(
        REGISTRY_STORAGE_DIR=str(tmp / "packages"), REGISTRY_DB_PATH=str(tmp / "registry.sqlite3"), **settings
    )
    command = [sys.executable, "-m", "registry", "serve", "--port", str(port)]
    server = spawn(name, command, tmp / f"{name}.log", env)
    server.url = f"http://127.0.0.1:{port}"
    wait_until(server, answers_200(server.url + "/health"), timeout=60)
    return server


# -- the fake Cloud Run Admin API -------------------------------------------------------------


@dataclass
class FakeCloudRun:
    """Answers ``GET /v1/projects/{p}/locations/{r}/services/{id}`` with the app's URL."""

    services: dict[tuple[str, str], str]
    asked: list[str] = field(default_factory=list)
    url: str = ""

    @contextlib.contextmanager
    def serve(self) -> Iterator[FakeCloudRun]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.asked.append(self.path)
                parts = self.path.split("?")[0].strip("/").split("/")
                # v1 / projects / P / locations / R / services / ID
                found = None
                if len(parts) == 7 and parts[:2] == ["v1", "projects"] and parts[3] == "locations":
                    found = fake.services.get((parts[4], parts[6]))
                body = json.dumps({"status": {"url": found}} if found else {"error": {"code": 404}}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


# -- the Firebase Hosting emulator ------------------------------------------------------------


def emulator_config(tmp: Path) -> Path:
    """The repository's firebase.json with free emulator ports, in its own folder."""
    config = json.loads((ROOT / "firebase.json").read_text())
    for name in ("hosting", "hub", "logging"):
        config["emulators"][name]["port"] = free_port()
    folder = tmp / "firebase"
    (folder / config["hosting"]["public"]).mkdir(parents=True, exist_ok=True)
    path = folder / "firebase.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def start_hosting(tmp: Path, cloud_run_api: str) -> Process:
    """``firebase emulators:start --only hosting`` in front of the fake Cloud Run API's URLs."""
    if not FIREBASE.exists():
        raise RuntimeError(f"{FIREBASE} is missing: run `make node-tools` (make test does)")
    config = emulator_config(tmp)
    home = tmp / "firebase-home"
    # A fresh message-of-the-day record, so the CLI does not try to fetch one from the internet.
    store = home / ".config" / "configstore" / "firebase-tools.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps({"motd": {"fetched": int(time.time() * 1000)}}))
    env = child_env(CLOUD_RUN_API_URL=cloud_run_api, HOME=str(home), NO_UPDATE_NOTIFIER="1")
    command = [str(FIREBASE), "emulators:start", "--only", "hosting", "--project", PROJECT]
    command += ["--config", str(config)]
    emulator = spawn("firebase hosting emulator", command, tmp / "hosting.log", env, cwd=config.parent)
    port = json.loads(config.read_text())["emulators"]["hosting"]["port"]
    emulator.url = f"http://127.0.0.1:{port}"
    wait_until(emulator, answers_200(emulator.url + "/health"), timeout=120)
    return emulator


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
