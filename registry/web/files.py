"""Package and metadata file downloads at stable URLs.

``/packages/<project>/<sha256 prefix>/<filename>`` serves a file, and the same URL plus
``.metadata`` its PEP 658 core metadata. The hash prefix in the path makes the URL change if the
bytes ever did, so files are cached as immutable. ``Range`` is honoured (uv reads wheel
metadata by range), with ``ETag``/``If-None-Match`` and ``HEAD``. A file not stored here is
handed to the upstream fallback (``services.fallback``), which redirects, streams or fetches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from flask import Blueprint, redirect, request
from packaging.utils import canonicalize_name
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from ..errors import NotFound
from ..models import FileRecord
from ..services.fetch import Proxied
from ..services.pages import Redirect
from ..services.upload import stored_matches
from .caching import apply_cache_policy
from .common import require_read, services

bp = Blueprint("files", __name__)

METADATA_SUFFIX = ".metadata"
_CHUNK = 256 * 1024
# Cloud Run refuses an HTTP/1 response that declares a length over 32 MiB; one sent chunked
# (no Content-Length) may be any size. Files that large come from large-file uploads.
MAX_DECLARED_LENGTH = 32 * 1024 * 1024


def _find_record(project: str, digest: str, filename: str) -> tuple[FileRecord, bool]:
    """(record, whether the metadata file was asked for).

    :raises NotFound: no such file, or the hash in the URL is not this file's.
    """
    # A distribution's own name never ends in ".metadata" (.whl, .tar.gz, .zip): one lookup.
    wants_metadata = filename.endswith(METADATA_SUFFIX)
    record = services().cache.get_file(project, filename.removesuffix(METADATA_SUFFIX))
    if record is None or not record.sha256.startswith(digest) or len(digest) < 8:
        raise NotFound(f"File {filename!r} not found")
    if wants_metadata and not record.metadata_sha256:
        raise NotFound(f"File {filename!r} not found: {record.filename} has no metadata file")
    return record, wants_metadata


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
    response.response = wrap_file(request.environ, stream)
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
    name = canonicalize_name(project)
    caller = require_read(name, NotFound(f"File {filename!r} not found"))
    try:
        record, wants_metadata = _find_record(project, digest, filename)
    except NotFound:
        if services().access.has_rules(name):  # a name reserved here is never fetched upstream
            raise
        stream = request.method == "GET" and request.range is None
        found = services().fallback.missing_file(services(), caller, project, digest, filename, stream=stream)
        if isinstance(found, Redirect):
            return apply_cache_policy(redirect(found.location, code=302), "never")
        if isinstance(found, Proxied):
            return _read_policy(_proxied_response(found), name)
        record, wants_metadata = found, False
    return _read_policy(_stored_response(record, wants_metadata), name)


def _stored_response(record: FileRecord, wants_metadata: bool) -> Response:
    storage = services().storage
    key = record.metadata_key if wants_metadata else record.key
    if not wants_metadata and (url := storage.download_url(key)):
        return apply_cache_policy(redirect(url, code=302), "never")
    stored = storage.open(key)
    if services().config["pypi.allow_overwrite"]:
        checked = stored_matches(services(), record, stored, wants_metadata)
        if checked is None:  # replaced a moment ago: never serve the new bytes under this URL
            shown = record.filename + (METADATA_SUFFIX if wants_metadata else "")
            raise NotFound(f"File {shown!r} not found")
        stored = checked
    etag = record.metadata_sha256 if wants_metadata else record.sha256
    mimetype = "text/plain" if wants_metadata else "application/octet-stream"
    if request.method == "HEAD":
        stored.stream.close()
        response = Response(mimetype=mimetype)
        response.set_etag(etag)
        response.accept_ranges = "bytes"
        response.content_length = stored.size
        return response
    return _file_response(stored.stream, stored.size, etag, mimetype)


def _proxied_response(proxied: Proxied) -> Response:
    """Bytes arriving from upstream, passed on as they come (the body closes itself)."""
    response = Response(proxied.body, mimetype=proxied.mimetype, direct_passthrough=True)
    response.set_etag(proxied.etag)
    if proxied.size is not None:
        response.content_length = proxied.size
    return response


def _read_policy(response: Response, project: str) -> Response:
    """Shareable when every caller may read ``project``; private otherwise."""
    if "Cache-Control" in response.headers:
        return response
    if services().access.is_public(project):
        return apply_cache_policy(response, "file")
    return apply_cache_policy(response, "private")
