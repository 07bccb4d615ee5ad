"""The simple index: ``/simple/`` and ``/simple/<project>/`` (PEP 503, PEP 691)."""

from __future__ import annotations

import functools

from flask import Blueprint, redirect, request
from packaging.utils import canonicalize_name
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Response

from ..services import simple
from .common import page_response, require_read, services

bp = Blueprint("simple", __name__)


_OFFERED = list(simple.OFFERED)


def _content_type() -> str:
    accept = request.headers.get("Accept", "").strip()
    # An unencoded "+" in a query string arrives as a space: "v1+json" is what was meant.
    requested_format = request.args.get("format", "").replace(" ", "+") if request.query_string else ""
    return _negotiate(accept, requested_format)


@functools.lru_cache(maxsize=256)
def _negotiate(accept: str, requested_format: str) -> str:
    """The content type for one Accept header and ``?format=``.

    Memoized: installers send a handful of distinct Accept headers, and parsing and matching one
    with werkzeug costs ~30 µs, a tenth of serving a cached page. A 406 is not memoized.
    """
    best = parse_accept_header(accept, MIMEAccept).best_match(_OFFERED) if accept else None
    return simple.choose_content_type(requested_format, best, bool(accept))


def _redirect_to(path: str) -> Response:
    query = request.query_string.decode("latin-1")
    return redirect(request.script_root + path + (f"?{query}" if query else ""), code=301)


@bp.get("/simple")
def index_without_slash() -> Response:
    """Redirect to the canonical index URL."""
    return _redirect_to("/simple/")


@bp.get("/simple/")
def index() -> Response:
    """List every project."""
    require_read()
    content_type = _content_type()
    return page_response(simple.index_page(services(), content_type), vary_accept=True)


@bp.get("/simple/<project>")
def project_without_slash(project: str) -> Response:
    """Redirect to the normalized project URL with its trailing slash."""
    return _redirect_to(f"/simple/{canonicalize_name(project)}/")


@bp.get("/simple/<project>/")
def project(project: str) -> Response:
    """List a project's files."""
    normalized = canonicalize_name(project)
    if normalized != project:
        return _redirect_to(f"/simple/{normalized}/")
    require_read(normalized)
    content_type = _content_type()
    return page_response(simple.project_page(services(), normalized, content_type), vary_accept=True)
