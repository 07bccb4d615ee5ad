"""The simple index: ``/simple/`` and ``/simple/<project>/`` (PEP 503, PEP 691)."""

from __future__ import annotations

import functools

from flask import Blueprint, redirect, request
from packaging.utils import canonicalize_name
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Response

from ..errors import NotFound
from ..services import simple
from ..services.pages import Redirect
from .caching import apply_cache_policy
from .common import page_response, require_read, services

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
    best = parse_accept_header(accept, MIMEAccept).best_match(list(simple.OFFERED)) if accept else None
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
    """List every project the caller may read."""
    caller = require_read()
    access = services().access
    content_type = _content_type()
    if access.policy().sees_everything(caller):
        page = simple.index_page(services(), content_type)
    else:
        page = simple.index_page(services(), content_type, lambda name: access.can_read(caller, name))
    return page_response(page, public=access.reads_are_public, vary_accept=True)


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
    require_read(normalized, NotFound(f"Project {normalized!r} not found"))
    content_type = _content_type()
    answer = simple.project_page(services(), normalized, content_type)
    if isinstance(answer, Redirect):
        return apply_cache_policy(redirect(answer.location, code=302), "never")
    return page_response(answer, public=services().access.is_public(normalized), vary_accept=True)
