"""gzip for index pages and JSON answers, when the client accepts it.

pip and uv send ``Accept-Encoding: gzip``. A project page compresses 4-5x (a 6 MB PEP 691 page
of 14,000 files: 1.3 MB at level 1, in ~40 ms; level 6 saves another 10% for 2.5x the time),
which matters on any link slower than loopback and when the registry runs without a front
end. Firebase Hosting compresses by itself and passes an already compressed answer on, so
doing it here costs nothing there beyond the compression, and that is done once per page:
compressed bodies are kept (bounded in bytes) under the page's ETag. Files (wheels, sdists:
already compressed) and streamed answers are left alone.

A compressed answer's ETag is the page's, marked weak (``W/"..."``): its bytes differ from the
identity answer's, while the page is the same; ``If-None-Match`` compares weakly, as RFC 9110
says it must.
"""

from __future__ import annotations

import gzip

from flask import Flask, request
from werkzeug.wrappers import Response

from ..upstream.memory import ByteLRU

MIN_SIZE = 1024
LEVEL = 1
KEPT_BYTES = 16 * 1024 * 1024
COMPRESSIBLE = ("text/html", "application/vnd.pypi.simple", "application/json", "text/plain")

_kept = ByteLRU(KEPT_BYTES)


def gzip_body(body: bytes) -> bytes:
    """A body as this module sends it gzipped (the same bytes every time)."""
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)


def remember(etag: str, compressed: bytes) -> None:
    """Keep a page's gzip made elsewhere (a shared page), so it is not compressed again."""
    _kept.put(etag, compressed, len(compressed))


def _compressible(response: Response) -> bool:
    return (
        response.status_code == 200
        and not response.direct_passthrough
        and response.is_sequence
        and "Content-Encoding" not in response.headers
        and (response.mimetype or "").startswith(COMPRESSIBLE)
    )


def compress(response: Response) -> Response:
    """gzip the body of a compressible answer if the client accepts it (runs after each view)."""
    if request.method != "GET":
        return response
    if response.status_code == 304 and "ETag" in response.headers:
        response.vary.add("Accept-Encoding")  # as the 200 it stands for
    if not _compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0:
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    etag, _weak = response.get_etag()
    compressed: bytes | None = _kept.get(etag) if etag else None
    if compressed is None:
        compressed = gzip_body(body)
        if etag:
            remember(etag, compressed)
    response.set_data(compressed)
    response.headers["Content-Encoding"] = "gzip"
    if etag:
        response.set_etag(etag, weak=True)
    return response


def init_app(app: Flask) -> None:
    app.after_request(compress)
