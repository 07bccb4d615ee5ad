"""gunicorn's thread worker, with the waiting on clients moved out of the threads.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as its first byte arrives;
the thread then blocks until the client has sent its whole head and, while the app reads it, its
body. Eight clients sending a byte a second held all eight threads and stopped the registry.

Here the worker's event loop (the one gthread already runs for accepting and keep-alive) reads
each request itself, without blocking, and submits it to the thread pool only when it is
complete: its head, and its body when that is at most ``Limits.body_buffer`` bytes and the
worker holds fewer than ``Limits.buffer_total`` bytes of bodies. A slow client then costs a
socket and a buffer, not a thread. Larger bodies (uploads of big files) still stream from the
socket to the app, which keeps memory flat; at most half the threads stream at once, the others
wait unread (up to ``Limits.queue_timeout``), so half the threads always remain for everything
else. Every read a thread still does has a deadline (``Limits.body_timeout`` plus
``min_rate``), every send a timeout.

Nothing else changes: gunicorn's own parser still parses every byte (the loop only finds where
a request ends), and the WSGI environ, keep-alive, graceful shutdown and logging are gthread's.
TLS and cleartext HTTP/2 are not buffered (the worker then behaves exactly as gthread).
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn import http
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import RequestTimeout

from .framing import MAX_HEAD, Head, Limits, scan_head

#: A kept-alive connection that closes lingers this long to read what the client still sends,
#: so that the kernel does not reset the connection before the client has read the answer.
LINGER = 2.0


class BodyTimeout(RequestTimeout):
    """The client stopped sending its body while the app read it: a 408 with the reason.

    Not an OSError: werkzeug turns those into a 400 that says nothing of why.
    """

    def __init__(self, limits: Limits) -> None:
        super().__init__(
            f"The request body stopped arriving: it must start within {limits.body_timeout:g} s "
            f"and then keep up at least {limits.min_rate} bytes/s"
        )


class DeadlineUnreader(SocketUnreader):
    """Reads a body from the socket (after what the loop buffered) under the body deadline."""

    def __init__(self, sock: socket.socket, limits: Limits) -> None:
        super().__init__(sock)
        self.limits = limits
        self.arm()

    def arm(self) -> None:
        """Start the body clock (for each request on the connection)."""
        self.started = time.monotonic()
        self.received = 0
        self.for_app = False  # the app reads (handle_request), not gunicorn's drain after it

    def timed_out(self) -> Exception:
        """A 408 for the app; a plain timeout for gunicorn's drain, which closes the connection."""
        return BodyTimeout(self.limits) if self.for_app else TimeoutError("the request body stopped")

    def chunk(self, size_hint: int | None = None) -> bytes:
        limits = self.limits
        deadline = self.started + limits.body_timeout + self.received / limits.min_rate
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self.timed_out()
        current = self.sock.gettimeout()  # gunicorn's drain sets a shorter one of its own
        self.sock.settimeout(remaining if current is None else min(remaining, current))
        try:
            data: bytes = super().chunk(size_hint)
        except TimeoutError as exc:
            raise self.timed_out() from exc
        finally:
            self.sock.settimeout(current)
        self.received += len(data)
        return data


class Conn(TConn):
    """A connection and what the loop has read of its next request."""

    def __init__(self, worker: BufferingWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.buffer = bytearray()
        self.head: Head | None = None
        self.deadline = 0.0
        self.body_started = 0.0
        self.reserved = 0  # bytes of the worker's body budget this request holds
        self.streamed = False  # holds one of the worker's streaming slots
        self.continue_sent = False
        self.watched = False  # registered with the loop's poller for reading

    def close(self, graceful: bool = False) -> None:
        if graceful:  # gthread lingers blocking, on the loop's own thread: linger in the loop
            self.worker.linger(self)
        else:
            super().close()


def _refusal(status: str, message: str) -> bytes:
    body = f"{status} {message}\n".encode()
    head = f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
    head += "X-Content-Type-Options: nosniff\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


class BufferingWorker(ThreadWorker):
    """``gthread`` whose threads only ever get complete requests (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = Limits.from_environ()
        self.buffering = not self.cfg.is_ssl and self.cfg.http2_cleartext == "off"
        self.reading: dict[Conn, None] = {}  # insertion-ordered set: the loop is reading these
        self.buffered = 0  # bytes of bodies reserved by requests read or being read
        self.streams = 0
        self.max_streams = max(1, self.cfg.threads // 2)
        self.waiting: deque[Conn] = deque()  # large bodies waiting for a streaming slot
        self.lingering: dict[socket.socket, float] = {}

    # -- reading requests in the loop ---------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        if not self.buffering:
            super().accept(listener)
            return
        try:
            sock, client = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.start_reading(Conn(self, self.cfg, sock, client, listener.getsockname()), b"")

    def enqueue_req(self, conn: Conn) -> None:
        """gthread calls this for a kept-alive connection that became readable, or that still
        holds bytes of a pipelined request: read that request in the loop first."""
        if not self.buffering:
            super().enqueue_req(conn)
            return
        self.start_reading(conn, conn.parser.unreader.take_buffered() if conn.parser else b"")

    def start_reading(self, conn: Conn, data: bytes) -> None:
        conn.sock.setblocking(False)
        conn.buffer = bytearray(data)
        conn.head = None
        conn.deadline = time.monotonic() + self.limits.head_timeout
        self.reading[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_readable, conn))
        conn.watched = True
        if data:
            self.progress(conn)
        else:
            self.read_available(conn)  # a kept-alive connection comes here once it is readable

    def stop_reading(self, conn: Conn) -> None:
        self.reading.pop(conn, None)
        if conn.watched:
            self.poller.unregister(conn.sock)
            conn.watched = False

    def on_readable(self, conn: Conn, sock: socket.socket) -> None:
        self.read_available(conn)

    def read_available(self, conn: Conn) -> bool:
        """Read what the socket holds and act on it; False if it held nothing yet."""
        try:
            data = conn.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
        else:
            conn.buffer += data
            self.progress(conn)
        return True

    def progress(self, conn: Conn) -> bool:
        """Act on what has arrived; True once the loop no longer reads this connection."""
        if conn.head is None:
            conn.head = scan_head(conn.buffer)
            if conn.head is None:
                if len(conn.buffer) > MAX_HEAD:
                    self.refuse(conn, "431 Request Header Fields Too Large", "The request head is too large")
                    return True
                return False
            if not self.choose_buffering(conn, conn.head):
                self.queue_stream(conn)
                return True
        size = conn.head.request_size
        assert size is not None  # streamed requests left above
        if len(conn.buffer) >= size:
            self.dispatch(conn)
            return True
        received = len(conn.buffer) - conn.head.size
        conn.deadline = conn.body_started + self.limits.body_timeout + received / self.limits.min_rate
        return False

    def choose_buffering(self, conn: Conn, head: Head) -> bool:
        """Reserve room for the body and start its clock; False: it streams instead."""
        body = head.body
        if body is None or body > self.limits.body_buffer or self.buffered + body > self.limits.buffer_total:
            return False
        conn.reserved = body
        self.buffered += body
        conn.body_started = time.monotonic()
        conn.deadline = conn.body_started + self.limits.body_timeout
        if head.expects_continue and len(conn.buffer) < head.size + body:
            self.send_quietly(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            conn.continue_sent = True
        return True

    # -- handing requests to threads ----------------------------------------------------------

    def dispatch(self, conn: Conn) -> None:
        """Give a request to the thread pool, its parser reading what the loop buffered first."""
        self.stop_reading(conn)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
            conn.parser.unreader = DeadlineUnreader(conn.sock, self.limits)
            conn.initialized = conn.data_ready = True  # TConn.init would make a parser of its own
        conn.parser.unreader.unread(bytes(conn.buffer))
        conn.parser.unreader.arm()
        conn.buffer = bytearray()
        super().enqueue_req(conn)

    def queue_stream(self, conn: Conn) -> None:
        """A large or unsized body: run it when a streaming slot is free, unread until then."""
        self.stop_reading(conn)
        conn.streamed = True
        conn.deadline = time.monotonic() + self.limits.queue_timeout
        self.waiting.append(conn)
        self.start_streams()

    def start_streams(self) -> None:
        while self.waiting and self.streams < self.max_streams:
            self.streams += 1
            self.dispatch(self.waiting.popleft())

    def handle_request(self, req: Any, conn: Conn) -> bool:
        """gthread's, with a send timeout, and without a second ``100 Continue``."""
        conn.sock.settimeout(self.limits.send_timeout)
        if conn.continue_sent:
            req._expected_100_continue = False
            conn.continue_sent = False
        unreader = conn.parser.unreader if isinstance(conn.parser.unreader, DeadlineUnreader) else None
        if unreader:
            unreader.for_app = True
        try:
            result: bool = super().handle_request(req, conn)
        except TimeoutError:
            self.log.info("Closing a connection from %s: it stopped reading the answer", conn.client)
            return False
        finally:
            if unreader:
                unreader.for_app = False
        return result

    def finish_request(self, conn: Conn, fs: Any) -> None:
        self.buffered -= conn.reserved
        conn.reserved = 0
        if conn.streamed:
            conn.streamed = False
            self.streams -= 1
            self.start_streams()
        super().finish_request(conn, fs)

    # -- closing ------------------------------------------------------------------------------

    def send_quietly(self, sock: socket.socket, data: bytes) -> None:
        """Send a short answer if the socket takes it now; a client that does not read gets none."""
        with contextlib.suppress(OSError):
            sock.send(data)

    def refuse(self, conn: Conn, status: str, message: str) -> None:
        """Answer from the loop and close (a request that never reached the app)."""
        self.log.debug("Refusing a request from %s: %s", conn.client, status)
        self.send_quietly(conn.sock, _refusal(status, message))
        self.forget(conn)
        self.linger(conn)

    def drop(self, conn: Conn) -> None:
        self.forget(conn)
        conn.close()

    def forget(self, conn: Conn) -> None:
        """The connection is done with: release what it held (the caller closes it)."""
        self.stop_reading(conn)
        self.buffered -= conn.reserved
        conn.reserved = 0
        self.nr_conns -= 1

    def linger(self, conn: Conn) -> None:
        """Close after the answer: stop sending, read and discard for ``LINGER`` s, then close."""
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return
        self.lingering[sock] = time.monotonic() + LINGER
        self.poller.register(sock, selectors.EVENT_READ, self.on_lingering)

    def on_lingering(self, sock: socket.socket) -> None:
        try:
            if sock.recv(64 * 1024):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.end_linger(sock)

    def end_linger(self, sock: socket.socket) -> None:
        del self.lingering[sock]
        self.poller.unregister(sock)
        sock.close()

    def murder_pending(self) -> None:
        """gthread's expiry pass (every loop turn, and during a graceful stop), plus ours."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading if not self.alive and not c.buffer]:
            if not self.read_available(conn):  # stopping: close what has not started a request
                self.forget(conn)
                conn.close()
        for conn in [c for c in self.reading if c.deadline <= now]:
            if conn.buffer:
                self.refuse(conn, "408 Request Timeout", "The request took too long to arrive")
            else:
                self.forget(conn)
                conn.close()
        while self.waiting and self.waiting[0].deadline <= now:
            conn = self.waiting.popleft()
            conn.streamed = False
            self.refuse(conn, "503 Service Unavailable", "Too many large uploads at once: try again")
        for sock in [s for s, deadline in self.lingering.items() if deadline <= now]:
            self.end_linger(sock)
