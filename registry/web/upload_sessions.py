"""Large-file uploads over JSON: open a session, then complete it once the bytes are in the bucket.

``POST /upload-sessions`` with ``{"filename", "size", "sha256"}`` (and optionally ``name``,
``version``) answers ``201 {"session", "upload_url"}``, or ``200 {"status": "exists"}`` when
this very file is already uploaded. The client sends the file to ``upload_url`` (a GCS resumable
upload session), then ``POST /upload-sessions/<session>/complete`` checks and records it and
answers the file. Both check upload permission exactly as a form upload does (``Uploads.grant``).
``core.large_upload`` holds the rules; ``registry.upload_client`` is the client.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from ..errors import InvalidRequest
from ..models import FileRecord
from .caching import apply_cache_policy
from .common import core, identity, public_base_url

bp = Blueprint("upload_sessions", __name__, url_prefix="/upload-sessions")


def _declaration() -> dict[str, Any]:
    """The JSON body's fields, type-checked.

    :raises InvalidRequest: not a JSON object, or a field of the wrong type.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest('Expected a JSON object such as {"filename": ..., "size": ..., "sha256": ...}')
    fields: dict[str, Any] = {}
    for key, kind in (("filename", str), ("size", int), ("sha256", str), ("name", str), ("version", str)):
        value = body.get(key)
        if value is None and key in ("name", "version"):
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidRequest(f"{key!r} must be a {'number' if kind is int else 'string'}")
        fields[key] = value
    return fields


def _file(record: FileRecord, **extra: object) -> Response:
    answer = {
        "filename": record.filename,
        "project": record.project,
        "version": record.version,
        "size": record.size,
        "sha256": record.sha256,
        "url": public_base_url() + record.url_path.lstrip("/"),
    }
    return jsonify(answer | extra)


@bp.post("")
def start() -> Response:
    """Open a large-file upload session after every check that needs no bytes."""
    started = core().large_uploads.start(identity, _declaration)
    if isinstance(started, FileRecord):
        response = _file(started, status="exists")
    else:
        response = jsonify({"session": started.session_id, "upload_url": started.upload_url})
        response.status_code = 201
    return apply_cache_policy(response, "never")


@bp.post("/<session_id>/complete")
def complete(session_id: str) -> Response:
    """Check and record the file sent to a session (the same checks as a form upload)."""
    outcome = core().large_uploads.complete(identity, session_id)
    response = _file(outcome.record, status="created" if outcome.created else "exists")
    return apply_cache_policy(response, "never")
