"""The legacy upload API that ``twine upload`` and ``uv publish`` speak.

Accepted at ``/``, ``/legacy/`` and ``/simple/`` (and pypicloud's ``/pypi/``) without any
redirect, because a redirected POST loses its body in some clients.
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ..core.upload_rules import check_form_fields
from ..core.uploads import UploadForm
from ..errors import InvalidRequest, InvalidUpload
from .caching import apply_cache_policy
from .common import core, identity

bp = Blueprint("upload", __name__)

UPLOAD_PATHS = ("/", "/legacy", "/legacy/", "/simple", "/simple/", "/pypi", "/pypi/")


def _form_upload() -> UploadForm:
    """Read the multipart form.

    :raises InvalidRequest: not multipart, an unsupported ``:action``, or no ``content`` file.
    """
    if request.mimetype != "multipart/form-data":
        raise InvalidRequest("Expected a multipart/form-data upload (as sent by twine or uv publish)")
    form = request.form
    action = form.get(":action", "")
    if action != "file_upload":
        raise InvalidRequest(f"Unsupported :action {action!r}: only file_upload is supported")
    check_form_fields(form.to_dict(flat=False), request.files.to_dict(flat=False))
    content = request.files.get("content")
    if content is None or not content.filename:
        raise InvalidUpload("The upload has no 'content' file part")
    return UploadForm(
        name=form.get("name", "").strip(),
        version=form.get("version", "").strip(),
        filetype=form.get("filetype", "").strip(),
        filename=content.filename,
        content=content.stream,  # type: ignore[arg-type]
        sha256_digest=form.get("sha256_digest", ""),
        md5_digest=form.get("md5_digest", ""),
        blake2_256_digest=form.get("blake2_256_digest", ""),
    )


def upload_view() -> Response:
    """Store one uploaded distribution file."""
    outcome = core().uploads.accept(identity(), _form_upload)
    message = "OK" if outcome.created else "OK: identical file already uploaded, nothing changed"
    return apply_cache_policy(Response(message + "\n", mimetype="text/plain"), "never")


for path in UPLOAD_PATHS:
    bp.add_url_rule(path, f"upload{path.replace('/', '_')}", upload_view, methods=["POST"])
