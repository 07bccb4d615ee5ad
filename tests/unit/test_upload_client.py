"""The large-file client's resumable sending: chunks, 308s, and resuming after failures.

fake-gcs-server takes chunked uploads (the end-to-end tests use it) but finalises an upload when
asked for its status, so the resume path runs against a small loopback server that follows
GCS's documented resumable protocol and injects the faults: a connection cut mid-chunk, a 503,
a refusal. (The registry's side of a whole upload is tested end to end in tests/e2e.)
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from registry.upload_client import LocalFile, UploadClient, UploadError, describe

QUARTER = 256 * 1024


@dataclass
class Session:
    """One resumable upload session and the faults to inject into it."""

    total: int = 0
    stored: bytearray = field(default_factory=bytearray)
    cut_chunk: int | None = None  # the number of the data PUT to cut half-way (once)
    fail_chunk: int | None = None  # the number of the data PUT to answer 503 (once)
    refuse: bool = False  # answer 403 to everything
    data_puts: int = 0
    bytes_received: int = 0
    cancelled: bool = False


class Handler(BaseHTTPRequestHandler):
    session: Session

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _progress(self) -> None:
        s = self.session
        if len(s.stored) == s.total:
            self._answer(200)
        else:
            self._answer(308, {"Range": f"bytes=0-{len(s.stored) - 1}"} if s.stored else {})

    def do_DELETE(self) -> None:
        self.session.cancelled = True
        self._answer(499)  # what GCS answers to a cancelled session

    def do_PUT(self) -> None:
        s = self.session
        length = int(self.headers.get("Content-Length", "0"))
        if s.refuse:
            self.rfile.read(length)
            self._answer(403)
            return
        match = re.fullmatch(r"bytes (\*|(\d+)-(\d+))/(\d+)", self.headers["Content-Range"])
        assert match, self.headers["Content-Range"]
        s.total = int(match.group(4))
        if match.group(1) == "*":
            self._progress()
            return
        s.data_puts += 1
        if s.data_puts == s.cut_chunk:
            # Half the chunk arrives (GCS keeps whole 256 KiB units), then the line breaks.
            kept = self.rfile.read(length // 2)
            s.bytes_received += len(kept)
            s.stored += kept[: len(kept) // QUARTER * QUARTER]
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = self.rfile.read(length)
        s.bytes_received += len(data)
        if s.data_puts == s.fail_chunk:
            self._answer(503)
            return
        assert int(match.group(2)) == len(s.stored), "the client must resume where the server is"
        s.stored += data
        self._progress()


@pytest.fixture
def bucket() -> Iterator[tuple[str, Session]]:
    session = Session()
    handler = type("SessionHandler", (Handler,), {"session": session})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/upload?upload_id=1", session
    server.shutdown()
    server.server_close()


class Registry:
    """The registry's side, reduced to opening a session on ``upload_url`` (records the paths)."""

    def __init__(self, upload_url: str) -> None:
        self.paths: list[str] = []
        registry = self

        class Answer(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                registry.paths.append(self.path)
                body = json.dumps({"session": "0" * 32, "upload_url": upload_url}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local(tmp_path: Path) -> LocalFile:
    path = tmp_path / "big-1.0.tar.gz"
    path.write_bytes(os.urandom(4 * QUARTER + 100))
    return describe(path)


def client() -> UploadClient:
    return UploadClient("http://127.0.0.1:9/", ("user", "pw"), chunk_size=QUARTER, retry_wait=0)


def send(url: str, local: LocalFile) -> int:
    progress: list[int] = []
    client().send(url, local, progress.append)
    assert all(step > 0 for step in progress)
    return sum(progress)


def test_a_file_goes_in_chunks(bucket: tuple[str, Session], local: LocalFile) -> None:
    url, session = bucket
    assert send(url, local) == local.size
    assert bytes(session.stored) == local.path.read_bytes()
    assert session.data_puts == 5 and session.bytes_received == local.size


def test_a_cut_connection_resumes_where_the_bucket_is(bucket: tuple[str, Session], local: LocalFile) -> None:
    url, session = bucket
    session.cut_chunk = 3
    sender = UploadClient("http://127.0.0.1:9/", ("user", "pw"), chunk_size=2 * QUARTER, retry_wait=0)
    progress: list[int] = []
    sender.send(url, local, progress.append)
    assert bytes(session.stored) == local.path.read_bytes()
    assert sum(progress) == local.size
    # Only the unconfirmed part of the cut chunk went again, not the whole file.
    assert session.bytes_received < local.size + 2 * QUARTER


def test_a_passing_failure_is_retried(bucket: tuple[str, Session], local: LocalFile) -> None:
    url, session = bucket
    session.fail_chunk = 2
    assert send(url, local) == local.size
    assert bytes(session.stored) == local.path.read_bytes()


def test_a_refusal_stops_with_the_status(bucket: tuple[str, Session], local: LocalFile) -> None:
    url, session = bucket
    session.refuse = True
    with pytest.raises(UploadError, match="the bucket refused the upload: 403"):
        client().send(url, local, lambda sent: None)


def test_a_failed_upload_cancels_its_session(bucket: tuple[str, Session], local: LocalFile) -> None:
    url, session = bucket
    session.refuse = True
    registry = Registry(url)
    try:
        with pytest.raises(UploadError, match="403"):
            UploadClient(registry.url, ("user", "pw"), chunk_size=QUARTER, retry_wait=0).upload(local.path)
    finally:
        registry.close()
    assert session.cancelled
    assert registry.paths == ["/upload-sessions"]  # never asked to complete


def test_the_registry_credentials_never_go_to_the_bucket(
    bucket: tuple[str, Session], local: LocalFile
) -> None:
    url, _ = bucket
    seen: list[str | None] = []
    sender = client()
    sender.http.hooks["response"].append(
        lambda answer, *a, **k: seen.append(answer.request.headers.get("Authorization"))
    )
    sender.send(url, local, lambda sent: None)
    assert seen and seen == [None] * len(seen)


def test_chunks_are_whole_quarter_mebibytes() -> None:
    with pytest.raises(ValueError, match="256 KiB"):
        UploadClient("http://127.0.0.1:9/", ("u", "p"), chunk_size=1000)
