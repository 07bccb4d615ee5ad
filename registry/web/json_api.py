"""The JSON API: ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from .common import canonical, core, identity, page_response, pages, public_base_url, redirect_to
from .json_render import render_document

bp = Blueprint("json_api", __name__)


def _document(project: str, version: str | None) -> Response:
    name = canonical(project)
    if name != project:
        return redirect_to(f"/pypi/{name}/{version}/json" if version else f"/pypi/{name}/json")
    records = core().reads.records(identity(), name)
    base_url = public_base_url()
    serial = int(records.version)  # type: ignore[call-overload]
    page = pages().render(
        records, (version, base_url), lambda found: render_document(name, found, serial, version, base_url)
    )
    return page_response(page, public=records.public)


@bp.get("/pypi/<project>/json")
def project_json(project: str) -> Response:
    """Describe a project and all its releases."""
    return _document(project, None)


@bp.get("/pypi/<project>/<version>/json")
def release_json(project: str, version: str) -> Response:
    """Describe one release of a project."""
    return _document(project, version)
