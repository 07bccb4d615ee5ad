"""Slow clients against the registry as shipped: the container's gunicorn.conf.py and ``make run``.

The first test is the availability target: 200 slow connections (heads a byte at a time, bodies
at 2 KB/s, large authenticated uploads that hold the app's threads) while a normal client's
``GET /simple/<project>/`` keeps a p99 under 100 ms. With gunicorn's own gthread worker (what
both configurations ran before) eight slow heads were enough to time every request out.
The others pin down each rule of ``registry.serving.worker`` on a server with short limits.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributions import Dist, write_wheel
from tests.slowclients import LatencyProbe, slow_clients, timed_get

from .conftest import upload
from .servers import Process, Users, basic_auth, start_gunicorn, start_serve

SLOW = {"headers": 100, "body": 60, "big-body": 40}
DURATION = 15.0
DEMO = Dist("slow-demo", "1.0")


def port_of(server: Process) -> int:
    return int(server.url.rsplit(":", 1)[1])


@pytest.mark.e2e
@pytest.mark.parametrize("shipped", ["container", "make run"])
def test_200_slow_clients_leave_a_normal_client_fast(tmp_path: Path, shipped: str) -> None:
    users = Users()
    start = start_gunicorn if shipped == "container" else start_serve
    server = start(tmp_path, users.settings())
    admin = basic_auth("admin", users.admin_password)
    try:
        assert upload(server.url, write_wheel(tmp_path, DEMO), admin).status_code == 200
        port = port_of(server)
        # The large uploads log in, so the app reads their bodies: the worst case for threads.
        with slow_clients("127.0.0.1", port, SLOW, authorization=admin) as blocks:
            deadline = time.monotonic() + 20
            while sum(block.opened for block in blocks) < sum(SLOW.values()):
                assert time.monotonic() < deadline, [block.opened for block in blocks]
                time.sleep(0.1)
            with LatencyProbe("127.0.0.1", port, f"/simple/{DEMO.name}/") as probe:
                time.sleep(DURATION)
            held = {block.kind: dict(block.answers) for block in blocks}
    finally:
        server.stop()
    result = probe.result
    print(f"\n{shipped}, {sum(SLOW.values())} slow clients {SLOW}: {result.summary()}; answers {held}")
    assert not result.failures
    assert len(result.samples) > DURATION * 10, "the normal client was held up"
    # On today's stock gthread settings every probe times out (seconds). The target,
    # p99 under 100 ms, holds on a quiet machine (docs/security.md, bench/soak.py); the bound
    # here leaves room for a CI machine busy with the rest of the suite.
    assert result.percentile(0.5) < 50 and result.percentile(0.99) < 500, result.summary()
    # The slow heads and small bodies were held open, unanswered, the whole time.
    assert held["headers"] == {} and held["body"] == {}


# -- each rule, on a server with short limits ----------------------------------------------------

LIMITS = {
    "GUNICORN_HEAD_TIMEOUT": "1",
    "GUNICORN_BODY_TIMEOUT": "3",
    "GUNICORN_BODY_BUFFER": "4096",
    "GUNICORN_QUEUE_TIMEOUT": "1",
    "GUNICORN_THREADS": "2",  # one streaming slot, one thread kept for everything else
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, str]]:
    tmp = tmp_path_factory.mktemp("limited")
    users = Users()
    server = start_gunicorn(tmp, {**users.settings(), **LIMITS}, name="limited")
    admin = basic_auth("admin", users.admin_password)
    assert upload(server.url, write_wheel(tmp, DEMO), admin).status_code == 200
    yield server, admin
    server.stop()


def connect(server: Process) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port_of(server)), timeout=10)
    sock.settimeout(10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def upload_head(admin: str, length: int, expect: bool = False) -> bytes:
    lines = [
        "POST / HTTP/1.1",
        "Host: test",
        f"Authorization: {admin}",
        "Content-Type: multipart/form-data; boundary=b0undary",
        f"Content-Length: {length}",
    ]
    return ("\r\n".join(lines + (["Expect: 100-continue"] if expect else [])) + "\r\n\r\n").encode()


def test_a_head_that_never_ends_gets_408(limited: tuple[Process, str]) -> None:
    server, _ = limited
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /simple/ HTTP/1.1\r\nHost: test\r\nX-Slow: 1")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert b"The request took too long to arrive" in answer
    assert 1 <= time.monotonic() - started < 5


def test_an_idle_connection_is_closed_without_an_answer(limited: tuple[Process, str]) -> None:
    server, _ = limited
    with connect(server) as sock:
        assert read_all(sock) == b""


def test_a_head_over_64_kib_gets_431(limited: tuple[Process, str]) -> None:
    server, _ = limited
    with connect(server) as sock:
        sock.sendall(b"GET /simple/ HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70_000 + b"\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:200]
    assert b"The request head is too large" in answer


def test_a_stalled_small_body_gets_408_from_the_worker(limited: tuple[Process, str]) -> None:
    server, admin = limited
    with connect(server) as sock:
        sock.sendall(upload_head(admin, 1000) + b"--b0undary\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert b"The request took too long to arrive" in answer


def test_a_stalled_large_body_gets_408_from_the_app(limited: tuple[Process, str]) -> None:
    """Over the 4 KiB buffer the body streams to the app, whose read then times out."""
    server, admin = limited
    with connect(server) as sock:
        sock.sendall(upload_head(admin, 100_000) + b"--b0undary\r\n" + b"x" * 5000)
        answer = read_all(sock)
    head = answer.split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 408 The request body stopped arriving"), answer
    assert b"at least 500 bytes/s" in answer


def test_large_bodies_wait_for_a_streaming_slot_while_reads_go_on(limited: tuple[Process, str]) -> None:
    """Two threads: one stalled large upload holds the only streaming slot, a second waits
    unread and is refused after the queue timeout, and reads use the thread kept for them."""
    server, admin = limited
    with connect(server) as holder, connect(server) as waiter:
        holder.sendall(upload_head(admin, 100_000) + b"--b0undary\r\n")
        time.sleep(0.3)
        waiter.sendall(upload_head(admin, 100_000) + b"--b0undary\r\n")
        for _ in range(3):
            milliseconds, status = timed_get("127.0.0.1", port_of(server), f"/simple/{DEMO.name}/")
            assert status == 200 and milliseconds < 1000
        refused = read_all(waiter)
        assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), refused
        assert b"Too many large uploads at once" in refused
        assert read_all(holder).startswith(b"HTTP/1.1 408 ")


def test_expect_100_continue_gets_one_go_ahead(limited: tuple[Process, str], tmp_path: Path) -> None:
    server, admin = limited
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n--b0undary--\r\n'
    )
    with connect(server) as sock:
        sock.sendall(upload_head(admin, len(body), expect=True))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 "), answer  # the form has no file: read, then refused
    assert b"100 Continue" not in answer


def test_pipelined_and_kept_alive_requests_are_all_read_by_the_loop(limited: tuple[Process, str]) -> None:
    server, _ = limited
    request = f"GET /simple/{DEMO.name}/ HTTP/1.1\r\nHost: test\r\n\r\n".encode()
    with connect(server) as sock:
        sock.sendall(request * 2 + b"GET /simple/ HTTP/1.1\r\nHost: test\r\n")  # the third stalls
        answer = read_all(sock)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert answer.endswith(b"The request took too long to arrive\n")
