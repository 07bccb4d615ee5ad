"""Faults during an upload lose nothing and leave nothing half-done, on every backend pair.

Faults a real backend cannot be made to produce on demand (a metadata write failing right
after the file write) are injected by wrapping one backend method; the client disconnect is
real, over a socket to a live gunicorn server.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from registry.errors import BackendUnavailable
from tests.distributions import Dist, wheel_bytes
from tests.recovery.conftest import Registry
from tests.server import ADMIN, RegistryServer, basic_auth


def fail_once(target: object, method: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make ``target.method`` raise BackendUnavailable on its first call only; count calls."""
    real: Callable[..., Any] = getattr(target, method)
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise BackendUnavailable(f"injected: {method} failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, method, flaky)
    return calls


def test_metadata_write_fails_after_the_file_write(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = Dist("fault-demo", "1.0")
    calls = fail_once(registry.services.cache, "add_file", monkeypatch)
    failed = registry.upload_wheel(dist)
    assert failed.status_code == 503
    # The file is stored but not listed: nothing points at it yet.
    assert registry.services.storage.exists(f"fault-demo/{dist.wheel_name}")
    assert registry.listed("fault-demo") == []
    retried = registry.upload_wheel(dist)
    assert retried.status_code == 200, retried.text
    assert len(calls) == 2
    assert registry.listed("fault-demo") == [dist.wheel_name]
    record = registry.services.cache.get_file("fault-demo", dist.wheel_name)
    assert record is not None
    download = registry.client.get(record.url_path)
    assert download.status_code == 200
    assert download.data == wheel_bytes(dist)


def test_file_write_fails(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = Dist("fault-demo", "2.0")
    fail_once(registry.services.storage, "put", monkeypatch)
    failed = registry.upload_wheel(dist)
    assert failed.status_code == 503
    assert list(registry.services.storage.list_keys()) == []
    assert registry.services.cache.is_empty()
    assert registry.upload_wheel(dist).status_code == 200
    assert registry.listed("fault-demo") == [dist.wheel_name]


def test_metadata_file_write_fails(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    # The second put (the PEP 658 file beside the wheel) fails: no record, and a retry completes.
    dist = Dist("fault-demo", "3.0")
    real_put = registry.services.storage.put
    calls: list[str] = []

    def put(key: str, *args: Any) -> None:
        calls.append(key)
        if key.endswith(".metadata") and calls.count(key) == 1:
            raise BackendUnavailable("injected: metadata file write failed")
        real_put(key, *args)

    monkeypatch.setattr(registry.services.storage, "put", put)
    assert registry.upload_wheel(dist).status_code == 503
    assert registry.listed("fault-demo") == []
    assert registry.upload_wheel(dist).status_code == 200
    record = registry.services.cache.get_file("fault-demo", dist.wheel_name)
    assert record is not None
    assert registry.client.get(record.url_path + ".metadata").status_code == 200


def multipart_upload(dist: Dist, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    fields = {
        ":action": "file_upload",
        "name": dist.name,
        "version": dist.version,
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{dist.wheel_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def test_client_disconnects_mid_upload(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    content = wheel_bytes(dist)
    content_type, body = multipart_upload(dist, content + os.urandom(2_000_000))
    probe = uuid.uuid4().hex
    head = (
        f"POST /?probe={probe} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {basic_auth(*ADMIN)}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(head.encode() + body[: len(body) // 2])
    # Wait until the server has finished with the cut request (it logs it), then look.
    deadline = time.monotonic() + 30
    while probe not in server.access_log.read_text():
        assert time.monotonic() < deadline, "the server never logged the interrupted upload"
        time.sleep(0.05)
    line = next(line for line in server.access_log.read_text().splitlines() if probe in line)
    assert '" 400 ' in line
    services = server.services()
    assert list(services.storage.list_keys(f"{unique_name}/")) == []
    assert services.cache.list_files(unique_name) == []
    # The same upload, complete this time, goes through.
    content_type, body = multipart_upload(dist, content)
    response = server.post("/", auth=ADMIN, data=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert [record.filename for record in services.cache.list_files(unique_name)] == [dist.wheel_name]
    services.cache.close()
