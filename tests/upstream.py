"""Upstream indexes for the fallback tests, all on loopback.

``PypiServer`` runs the real pypiserver (a server this project did not write) over a folder
that tests drop files into. ``LyingIndex`` is a small fake used only to inject one fault: a
page whose sha256 does not match the file it serves. ``SilentServer`` accepts connections and
never answers, for timeouts.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from passlib.apache import HtpasswdFile

from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.processes import stop_group
from tests.server import BIN, free_port


@dataclass
class PypiServer:
    """pypiserver serving ``root`` on a free loopback port; no fallback of its own."""

    root: Path
    users: dict[str, str] = field(default_factory=dict)  # name -> password; then reads need auth
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    @property
    def log(self) -> Path:
        return self.root.parent / f"pypiserver-{self.port}.log"

    def start(self, timeout: float = 30) -> PypiServer:
        self.root.mkdir(parents=True, exist_ok=True)
        auth = ["-P", ".", "-a", "."]
        if self.users:
            htpasswd = self.root.parent / f"htpasswd-{self.port}"
            passwords = HtpasswdFile(str(htpasswd), new=True)
            for name, password in self.users.items():
                passwords.set_password(name, password)
            passwords.save()
            auth = ["-P", str(htpasswd), "-a", "list,download,update"]
        command = [
            str(BIN / "pypi-server"), "run", "--host", "127.0.0.1", "-p", str(self.port),
            "-v", *auth, "--disable-fallback", "--hash-algo", "sha256", str(self.root),
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pypiserver exited early:\n{self.log.read_text()}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pypiserver did not start in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process:
            stop_group(self.process, timeout=10)

    def add(self, dist: Dist, *, sdist: bool = True) -> None:
        """Publish a wheel (and an sdist) by dropping them into the served folder."""
        (self.root / dist.wheel_name).write_bytes(wheel_bytes(dist))
        if sdist:
            (self.root / dist.sdist_name).write_bytes(sdist_bytes(dist))

    def downloads(self, filename: str) -> int:
        """How many times pypiserver sent ``filename`` (from its request log)."""
        return self.log.read_text().count(f'"GET /packages/{filename} ')


class LyingIndex:
    """An index whose page lists, for each file, a sha256 that is not the served file's.

    The one fake upstream in the tests: used only to inject that fault.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.lie = hashlib.sha256(b"not these bytes").hexdigest()
        lying = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/simple/"):
                    links = "".join(
                        f'<a href="/files/{name}#sha256={lying.lie}">{name}</a>' for name in files
                    )
                    self._send(links.encode(), "text/html")
                elif self.path.startswith("/files/") and self.path[7:] in files:
                    self._send(files[self.path[7:]], "application/octet-stream")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts connections and never answers (until stopped)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.socket.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted.append(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}/simple/"

    def stop(self) -> None:
        self._stopped.set()
        self.thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.socket.close()
