"""The JSON API: ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from packaging.utils import canonicalize_name
from werkzeug.wrappers import Response

from ..errors import NotFound
from ..services.project_json import project_document
from .common import page_response, public_base_url, require_read, services

bp = Blueprint("json_api", __name__)


def _document(project: str, version: str | None) -> Response:
    normalized = canonicalize_name(project)
    if normalized != project:
        suffix = f"{version}/json" if version else "json"
        return redirect(f"{request.script_root}/pypi/{normalized}/{suffix}", code=301)
    require_read(normalized, NotFound(f"Project {normalized!r} not found"))
    page = project_document(services(), normalized, version, public_base_url())
    return page_response(page, public=services().access.is_public(normalized))


@bp.get("/pypi/<project>/json")
def project_json(project: str) -> Response:
    """Describe a project and all its releases."""
    return _document(project, None)


@bp.get("/pypi/<project>/<version>/json")
def release_json(project: str, version: str) -> Response:
    """Describe one release of a project."""
    return _document(project, version)
