"""Package and metadata file downloads at stable URLs.

``/packages/<project>/<sha256 prefix>/<filename>`` serves a file, and the same URL plus
``.metadata`` its PEP 658 core metadata. The hash prefix in the path makes the URL change if the
bytes ever did, so files are cached as immutable. ``Range`` is honoured (uv reads wheel
metadata by range), with ``ETag``/``If-None-Match`` and ``HEAD``. A file not stored here is
handed to the upstream fallback by the core (``Reads.file``), which redirects, streams or fetches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from flask import Blueprint, request
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from ..core.listing import Proxied, Redirect, StoredFile
from ..log import SENT_FILE, CountingFile
from .caching import apply_cache_policy
from .common import canonical, core, identity, redirect_response

bp = Blueprint("files", __name__)

_CHUNK = 256 * 1024
# Cloud Run refuses an HTTP/1 response that declares a length over 32 MiB; one sent chunked
# (no Content-Length) may be any size. Files that large come from large-file uploads.
MAX_DECLARED_LENGTH = 32 * 1024 * 1024


def _limited(stream: BinaryIO, length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = stream.read(min(_CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        stream.close()


def _file_response(stream: BinaryIO, size: int, etag: str, mimetype: str) -> Response:
    """200 (or 304, 206, 416) for a stored object, streamed with bounded memory."""
    response = Response(mimetype=mimetype)
    response.set_etag(etag)
    response.accept_ranges = "bytes"
    if request.if_none_match.contains(etag):
        stream.close()
        response.status_code = 304
        return response
    requested = request.range
    byte_range = requested.range_for_length(size) if requested is not None else None
    # If-Range: serve the range only if the client's copy is this exact file.
    range_applies = requested is not None and (
        "If-Range" not in request.headers or request.if_range.etag == etag
    )
    if range_applies and requested is not None and len(requested.ranges) == 1:
        if byte_range is None:
            stream.close()
            response.status_code = 416
            response.headers["Content-Range"] = f"bytes */{size}"
            return response
        start, stop = byte_range
        stream.seek(start)
        response.response = _limited(stream, stop - start)
        response.status_code = 206
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        _declare_length(response, stop - start)
        return response
    counted = CountingFile(stream)  # for the access log: gunicorn does not count sendfile
    request.environ[SENT_FILE] = counted
    response.response = wrap_file(request.environ, counted)  # type: ignore[arg-type]
    response.direct_passthrough = True
    _declare_length(response, size)
    return response


def _declare_length(response: Response, length: int) -> None:
    """Set Content-Length, unless the body is too large to declare (then it goes chunked)."""
    if length <= MAX_DECLARED_LENGTH:
        response.content_length = length


@bp.get("/packages/<project>/<digest>/<filename>")
def download(project: str, digest: str, filename: str) -> Response:
    """Serve a package file or its core metadata file (from upstream if configured and missing)."""
    stream = request.method == "GET" and request.range is None
    found = core().reads.file(identity(), canonical(project), digest, filename, stream=stream)
    if isinstance(found, Redirect):
        return redirect_response(found)
    if isinstance(found, Proxied):
        return _read_policy(_proxied_response(found), found.public)
    return _read_policy(_stored_response(found), found.public)


def _stored_response(found: StoredFile) -> Response:
    stored = found.stored
    if request.method == "HEAD":
        stored.stream.close()
        response = Response(mimetype=found.mimetype)
        response.set_etag(found.etag)
        response.accept_ranges = "bytes"
        response.content_length = stored.size
        return response
    return _file_response(stored.stream, stored.size, found.etag, found.mimetype)


def _proxied_response(proxied: Proxied) -> Response:
    """Bytes arriving from upstream, passed on as they come (the body closes itself)."""
    response = Response(proxied.body, mimetype=proxied.mimetype, direct_passthrough=True)
    response.set_etag(proxied.etag)
    if proxied.size is not None:
        response.content_length = proxied.size
    return response


def _read_policy(response: Response, public: bool) -> Response:
    """Shareable (immutable) when every caller may read the project; private otherwise."""
    return apply_cache_policy(response, "file" if public else "private")
