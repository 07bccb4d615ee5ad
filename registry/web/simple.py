"""The simple index: ``/simple/`` and ``/simple/<project>/`` (PEP 503, PEP 691)."""

from __future__ import annotations

import functools

from flask import Blueprint, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Response

from ..core.listing import Redirect
from . import render
from .common import canonical, core, identity, page_response, pages, redirect_response, redirect_to

bp = Blueprint("simple", __name__)


def _content_type() -> str:
    # An unencoded "+" in a query string arrives as a space: "v1+json" is what was meant.
    requested_format = request.args.get("format", "").replace(" ", "+")
    return _negotiate(request.headers.get("Accept", "").strip(), requested_format)


@functools.lru_cache(maxsize=256)
def _negotiate(accept: str, requested_format: str) -> str:
    """The content type for an Accept header and ``format`` value (clients send few distinct ones).

    :raises NotAcceptable: nothing offered fits (not cached: lru_cache keeps only returns).
    """
    best = parse_accept_header(accept, MIMEAccept).best_match(list(render.OFFERED)) if accept else None
    return render.choose_content_type(requested_format, best, bool(accept))


@bp.get("/simple")
def index_without_slash() -> Response:
    """Redirect to the canonical index URL."""
    return redirect_to("/simple/")


@bp.get("/simple/")
def index() -> Response:
    """List every project the caller may read."""
    projects = core().reads.index(identity())
    content_type = _content_type()
    page = pages().render(projects, content_type, lambda found: render.render_index(found, content_type))
    return page_response(page, public=projects.public, vary_accept=True)


@bp.get("/simple/<project>")
def project_without_slash(project: str) -> Response:
    """Redirect to the normalized project URL with its trailing slash."""
    return redirect_to(f"/simple/{canonical(project)}/")


@bp.get("/simple/<project>/")
def project(project: str) -> Response:
    """List a project's files."""
    name = canonical(project)
    if name != project:
        return redirect_to(f"/simple/{name}/")
    answer = core().reads.project(identity(), name)
    if isinstance(answer, Redirect):
        return redirect_response(answer)
    content_type = _content_type()
    page = pages().render(
        answer, content_type, lambda listing: render.render_project(listing, content_type), share=True
    )
    return page_response(page, public=answer.public, vary_accept=True)
