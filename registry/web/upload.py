"""The legacy upload API that ``twine upload`` and ``uv publish`` speak.

Accepted at ``/``, ``/legacy/`` and ``/simple/`` (and pypicloud's ``/pypi/``) without any
redirect, because a redirected POST loses its body in some clients.
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ..access import Identity
from ..errors import InvalidRequest, InvalidUpload
from ..services.distribution import check_name
from ..services.upload import UploadForm, upload
from ..services.upload_rules import check_form_fields
from .caching import apply_cache_policy
from .common import identity, services

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


def require_uploader(caller: Identity) -> None:
    """Refuse before reading a body when nobody without a login may upload.

    :raises Unauthorized | Forbidden: the caller may not upload at all.
    """
    access = services().access
    access.require(caller, caller.authenticated or access.can_write(caller), "upload")


def require_upload_to(caller: Identity, name: str) -> str:
    """The project ``name`` names, if the caller may upload to it (every upload path asks this).

    :raises Unauthorized | Forbidden: the caller may not upload to that project.
    """
    access = services().access
    try:
        project: str = check_name(name)
    except InvalidUpload:
        project = name  # the upload checks report it, with the filename
    access.require(caller, access.can_write(caller, project), f"upload to {name!r}")
    return project


def upload_view() -> Response:
    """Store one uploaded distribution file."""
    caller = identity()
    require_uploader(caller)
    form = _form_upload()
    project = require_upload_to(caller, form.name)
    overwrite = services().access.can_overwrite(caller, project)
    outcome = upload(services(), form, caller.label, overwrite=overwrite)
    message = "OK" if outcome.created else "OK: identical file already uploaded, nothing changed"
    response = Response(message + "\n", mimetype="text/plain")
    return apply_cache_policy(response, "never")


for path in UPLOAD_PATHS:
    bp.add_url_rule(path, f"upload{path.replace('/', '_')}", upload_view, methods=["POST"])
