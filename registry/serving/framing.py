"""What the buffering worker needs to know about a request before a thread may have it.

Only where the request ends: the head ends at the first blank line, the body after
``Content-Length`` bytes. This is not a second HTTP parser: gunicorn's parser still reads every
byte and refuses what is malformed. A head this module misjudges is only handed over early (its
thread then reads under ``Limits``' deadlines) or refused as too large.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

#: The largest request head read before refusing it (431). gunicorn's own limits (a 4 KiB
#: request line, 100 fields of 8 KiB) allow more, but no client of a package index sends it.
MAX_HEAD = 64 * 1024
#: Digits in a Content-Length: up to 1 EB; Python refuses to parse numbers past 4300 digits.
_MAX_LENGTH_DIGITS = 18


@dataclass(frozen=True)
class Limits:
    """How long and how much the worker reads for a client before any thread works for it.

    Each can be set from the environment (``GUNICORN_`` + the name upper-cased), as the other
    gunicorn numbers are.
    """

    #: Seconds a request head may take, from the connection's first readiness.
    head_timeout: float = 20.0
    #: Seconds a body may take before ``min_rate`` counts: the deadline then moves one second
    #: later for every ``min_rate`` bytes received (Apache's mod_reqtimeout rule).
    body_timeout: float = 20.0
    min_rate: int = 500
    #: A body up to this size is read whole before a thread sees the request.
    body_buffer: int = 1024 * 1024
    #: Bytes of bodies held by one worker at once; past this, a body streams like a large one.
    buffer_total: int = 64 * 1024 * 1024
    #: Seconds a large body may wait for a streaming slot before it is refused (503).
    queue_timeout: float = 60.0
    #: Seconds one send to the client may wait for it to read.
    send_timeout: float = 30.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The defaults, overridden by ``GUNICORN_<NAME>`` variables.

        :raises ValueError: a variable that is not a positive number.
        """
        values: dict[str, float] = {}
        for item in fields(cls):
            raw = environ.get(f"GUNICORN_{item.name.upper()}", "").strip()
            if raw:
                value = float(raw)
                if value <= 0:
                    raise ValueError(f"GUNICORN_{item.name.upper()} must be a positive number, not {raw!r}")
                values[item.name] = int(value) if item.type in (int, "int") else value
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Head:
    """A complete request head: its size in bytes and what it says about the body."""

    size: int
    #: The body's declared length; None when it has none (``Transfer-Encoding``: read as it comes).
    body: int | None
    #: ``Expect: 100-continue`` on HTTP/1.1: the client waits for a go-ahead before the body.
    expects_continue: bool = False

    @property
    def request_size(self) -> int | None:
        """Head and body together, when known in advance."""
        return None if self.body is None else self.size + self.body


def scan_head(data: bytes | bytearray) -> Head | None:
    """The head at the start of ``data``, or None while it is incomplete.

    >>> scan_head(b"POST / HTTP/1.1\\r\\nContent-Length: 5\\r\\n\\r\\nhello")
    Head(size=39, body=5, expects_continue=False)
    >>> scan_head(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n") is None
    True
    """
    start = 0
    while data.startswith(b"\r\n", start):  # empty lines before a request are allowed
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        return None
    lines = bytes(data[start:end]).split(b"\r\n")
    lengths, chunked, expects = set(), False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            lengths.add(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"expect":
            expects = value.lower() == b"100-continue" and lines[0].endswith(b" HTTP/1.1")
    size = end + 4
    if chunked:
        return Head(size, None, expects)
    if len(lengths) != 1:
        return Head(size, 0)  # none, or conflicting: no body to wait for (the parser refuses these)
    length = lengths.pop()
    if not length.isdigit() or len(length) > _MAX_LENGTH_DIGITS:
        return Head(size, 0)
    return Head(size, int(length), expects and int(length) > 0)
