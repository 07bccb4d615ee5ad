"""gunicorn.conf.py: its settings for Cloud Run, and a real server that stops gracefully."""

from __future__ import annotations

import runpy
import signal
import socket
import time
from pathlib import Path

import pytest
from gunicorn.glogging import Logger

from registry.serving import WORKER_CLASS, gunicorn_options

from .servers import ROOT, Users, basic_auth, start_gunicorn


def conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name in ("PORT", "HOST", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GRACEFUL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_defaults_suit_cloud_run(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = conf(monkeypatch, PORT="9123")
    assert settings["bind"] == "127.0.0.1:9123"  # the Dockerfile sets HOST=0.0.0.0
    assert (settings["worker_class"], settings["workers"], settings["threads"]) == (WORKER_CLASS, 1, 8)
    assert settings["graceful_timeout"] < 10  # Cloud Run kills 10 s after SIGTERM
    assert settings["preload_app"] is False
    assert settings["control_socket_disable"] is True
    assert (settings["accesslog"], settings["loglevel"]) == ("-", "info")
    assert issubclass(settings["logger_class"], Logger)  # type: ignore[arg-type]


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = conf(
        monkeypatch,
        PORT="8081",
        HOST="0.0.0.0",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        GRACEFUL_TIMEOUT="5",
        REGISTRY_LOG_LEVEL="warning",
    )
    assert (settings["bind"], settings["workers"], settings["threads"]) == ("0.0.0.0:8081", 2, 4)
    assert settings["graceful_timeout"] == 5
    assert settings["loglevel"] == "warning"


def _multipart(boundary: str) -> bytes:
    """An upload form without a file: the app reads it all, then answers 400."""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n']
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nslow\r\n')
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode()


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(15)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
        if length and len(body) >= int(length[0].split(b":")[1]):
            break
    return data


@pytest.mark.e2e
def test_sigterm_finishes_the_request_in_flight_then_exits(tmp_path: Path) -> None:
    users = Users()
    server = start_gunicorn(tmp_path, users.settings(), name="graceful")
    port = int(server.url.rsplit(":", 1)[1])
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        # A first request on the connection proves the worker has accepted it.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        # The next request is half sent when the server is told to stop.
        body = _multipart("b0undary")
        head = (
            "POST / HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: {basic_auth('admin', users.admin_password)}\r\n"
            f"Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body[:40])
        stopped_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "Handling signal: term" not in server.output():
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.02)
        sock.sendall(body[40:])
        answer = _read_response(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"no 'content' file part" in answer
        assert server.process.wait(timeout=15) == 0
        assert time.monotonic() - stopped_at < 10, "Cloud Run would have killed it"
    finally:
        server.stop(signal.SIGKILL)


def test_the_container_and_make_run_share_their_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn.conf.py and ``registry serve`` both take registry.serving's options: only the
    address, the worker and thread counts and the front end's forwarded-for trust differ."""
    container = conf(monkeypatch, PORT="9123")
    shared = gunicorn_options("127.0.0.1:9123", 1, 8)
    assert container["forwarded_allow_ips"] == "*"  # Cloud Run's front end
    for name, value in shared.items():
        if name == "logger_class":
            assert container[name].__name__ == value.__name__  # type: ignore[attr-defined]
        else:
            assert container[name] == value, name
    assert shared["worker_class"] == WORKER_CLASS and shared["graceful_timeout"] < 10
