"""Slow (hostile) and normal HTTP clients on raw sockets, for the availability test and the soak.

``SlowClients`` keeps N connections open to a server, each sending its request a little at a
time: a request head one byte per tick that never ends (``headers``), or a complete head and
then a body at a few KB/s (``body``: 100 kB, ``big-body``: 20 MB declared). One thread drives
them all with non-blocking sockets and opens a new connection for any the server answers or
closes, so the pressure holds for as long as the block lasts. ``LatencyProbe`` is the normal
client: a GET every few milliseconds on a fresh connection, timed end to end.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import selectors
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KINDS = ("headers", "body", "big-body")
BODY_SIZES = {"body": 100_000, "big-body": 20_000_000}


def _head(kind: str, host: str, authorization: str) -> bytes:
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    if kind == "headers":
        return f"GET /simple/ HTTP/1.1\r\nHost: {host}\r\n{auth}".encode()
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\n{auth}"
        "Content-Type: multipart/form-data; boundary=slowslow\r\n"
        f"Content-Length: {BODY_SIZES[kind]}\r\n\r\n--slowslow\r\n"
        'Content-Disposition: form-data; name="comment"\r\n\r\n'
    )
    return head.encode()


def _endless(kind: str, host: str, authorization: str) -> Iterator[bytes]:
    """The bytes a slow client sends: a head, then filler that never completes the request."""
    yield _head(kind, host, authorization)
    for number in itertools.count():
        yield f"X-Slow-{number}: 1\r\n".encode() if kind == "headers" else b"x" * 1024


@dataclass
class _Slow:
    sock: socket.socket
    pending: bytes
    source: Iterator[bytes]


@dataclass
class SlowClients:
    """``count`` connections of one ``kind`` sending ``rate`` bytes/s each (headers: 1 byte a tick),
    with ``authorization`` as their Authorization header if given (the app then reads bodies)."""

    host: str
    port: int
    count: int
    kind: str = "headers"
    rate: int = 2048
    tick: float = 0.25
    authorization: str = ""
    opened: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> SlowClients:
        assert self.kind in KINDS, self.kind
        self._thread = threading.Thread(target=self._run, name=f"slow-{self.kind}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _open(self, selector: selectors.BaseSelector) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=5)
        except OSError:
            self.answers["connect failed"] += 1
            return
        sock.setblocking(False)
        source = _endless(self.kind, f"{self.host}:{self.port}", self.authorization)
        selector.register(sock, selectors.EVENT_READ, _Slow(sock, next(source), source))
        self.opened += 1

    def _step(self, slow: _Slow) -> bool:
        """Send this tick's share; False once the server has refused the bytes."""
        share = 1 if self.kind == "headers" else max(1, int(self.rate * self.tick))
        while len(slow.pending) < share:
            slow.pending += next(slow.source)
        try:
            sent = slow.sock.send(slow.pending[:share])
        except BlockingIOError:
            return True  # the server is not reading: that is its right
        except OSError:
            return False
        slow.pending = slow.pending[sent:]
        return True

    def _answered(self, slow: _Slow) -> None:
        """The server answered or closed: note its status line."""
        try:
            data = slow.sock.recv(4096)
        except OSError:
            data = b""
        status = data.split(b"\r\n", 1)[0].decode("latin-1")[:40] if data else "closed"
        self.answers[status] += 1

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        try:
            while not self._stop.is_set():
                while len(selector.get_map()) < self.count and not self._stop.is_set():
                    self._open(selector)
                started = time.monotonic()
                for key, _ in selector.select(timeout=0):
                    self._answered(key.data)
                    selector.unregister(key.fileobj)
                    key.data.sock.close()
                for key in list(selector.get_map().values()):
                    if not self._step(key.data):
                        self.answers["send failed"] += 1
                        selector.unregister(key.fileobj)
                        key.data.sock.close()
                self._stop.wait(max(0.0, self.tick - (time.monotonic() - started)))
        finally:
            for key in list(selector.get_map().values()):
                key.data.sock.close()
            selector.close()


@dataclass
class Latencies:
    """Timings of a normal client's requests, in milliseconds; failures counted apart."""

    samples: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def percentile(self, share: float) -> float:
        if not self.samples:
            return float("inf")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    def summary(self) -> str:
        if not self.samples:
            return f"no answers, failures {dict(self.failures)}"
        return (
            f"{len(self.samples)} requests, p50 {statistics.median(self.samples):.1f} ms, "
            f"p99 {self.percentile(0.99):.1f} ms, max {max(self.samples):.1f} ms, "
            f"failures {dict(self.failures) or 0}"
        )


def timed_get(host: str, port: int, path: str, timeout: float = 5.0) -> tuple[float, int]:
    """(milliseconds, status) of one GET on a fresh connection, body read to the end."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept": "text/html"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, response.status


@dataclass
class LatencyProbe:
    """A normal client: GET ``path`` every ``interval`` s on a fresh connection, in a thread."""

    host: str
    port: int
    path: str
    interval: float = 0.02
    timeout: float = 5.0
    result: Latencies = field(default_factory=Latencies)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LatencyProbe:
        self._thread = threading.Thread(target=self._run, name="latency-probe", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                elapsed, status = timed_get(self.host, self.port, self.path, self.timeout)
            except (OSError, http.client.HTTPException) as exc:
                self.result.failures[type(exc).__name__] += 1
            else:
                if status == 200:
                    self.result.samples.append(elapsed)
                else:
                    self.result.failures[f"status {status}"] += 1
            self._stop.wait(self.interval)


@contextlib.contextmanager
def slow_clients(host: str, port: int, counts: dict[str, int], **options: Any) -> Iterator[list[SlowClients]]:
    """Several ``SlowClients`` blocks at once, e.g. ``{"headers": 100, "body": 100}``."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(SlowClients(host, port, count, kind, **options))
            for kind, count in counts.items()
            if count
        ]
