"""registry.serving.framing: where a request ends, and the worker's limits from the environment."""

from __future__ import annotations

import pytest

from registry.serving.framing import Head, Limits, scan_head


@pytest.mark.parametrize(
    ("data", "body", "expects_continue"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, False),
        (b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, False),  # empty lines before a request
        (b"POST / HTTP/1.1\r\ncontent-LENGTH:  12 \r\n\r\n", 12, False),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", None, False),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, False),
        (b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 0, False),
        (b"POST / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 0, False),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n", 3, True),
        (b"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", 3, False),
        (b"POST / HTTP/1.1\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n", 0, False),
    ],
)
def test_scan_head_finds_where_the_request_ends(
    data: bytes, body: int | None, expects_continue: bool
) -> None:
    """Unsized (chunked) bodies are None; conflicting or malformed lengths wait for no body (the
    parser refuses those requests); only HTTP/1.1 with a body waits for a 100 Continue."""
    expected = Head(len(data), body, expects_continue)
    assert scan_head(data) == expected
    assert scan_head(bytearray(data) + b"next request") == expected


def test_scan_head_waits_for_the_blank_line() -> None:
    assert scan_head(b"GET / HTTP/1.1\r\nHost: x\r\n") is None
    assert scan_head(b"\r\n\r\n") is None


def test_request_size_is_head_and_body() -> None:
    assert Head(30, 12).request_size == 42
    assert Head(30, None).request_size is None


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_environ({"GUNICORN_HEAD_TIMEOUT": "2.5", "GUNICORN_BODY_BUFFER": "4096"})
    assert (limits.head_timeout, limits.body_buffer) == (2.5, 4096)
    assert isinstance(limits.body_buffer, int)
    assert limits.min_rate == Limits().min_rate


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_bad_limits_stop_the_start(value: str) -> None:
    with pytest.raises(ValueError, match=r"GUNICORN_MIN_RATE|could not convert"):
        Limits.from_environ({"GUNICORN_MIN_RATE": value})
