"""Browsing pages: ``/``, ``/search/``, ``/project/<name>/`` and ``/project/<name>/<version>/``.

Each view parses the request, calls one core query (``Browse`` or ``ProjectPages``, which ask
``Reads`` like the simple API does) and renders it; the URLs are the public index's, so links
people know work here too.
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ...core.listing import Redirect
from ...core.search import check_page, check_query
from ..caching import apply_cache_policy
from ..common import canonical, public_base_url, redirect_to
from . import errors
from .render import content, form_page, respond, web
from .session import caller, check_csrf

bp = Blueprint("ui_browse", __name__, template_folder="templates")
bp.before_request(check_csrf)
errors.register(bp)


@bp.get("/")
def home() -> Response:
    """What this registry is, how to use it, recent projects and counts."""
    data = web().browse.home(caller())
    base = public_base_url()
    page = content(data, base, "home.html", base=base)
    return respond("Python package registry", page, public=data.public)


@bp.get("/search/")
def search() -> Response:
    """Projects whose name, summary or keywords match ``q``, ranked and paginated."""
    query = check_query(request.args.get("q", ""))
    number = check_page(request.args.get("page", ""))
    data = web().browse.search(caller(), query, number)
    page = content(data, "", "search.html", search=True)
    return respond(f"Search: {query}" if query else "All projects", page, public=data.public, search=True)


@bp.get("/project/<project>/")
def project(project: str) -> Response:
    """A project's page at its latest version."""
    return _project(project, None)


@bp.get("/project/<project>/<version>/")
def project_version(project: str, version: str) -> Response:
    """A project's page at one version."""
    return _project(project, version)


def _project(raw: str, version: str | None) -> Response:
    name = canonical(raw)
    if name != raw:
        return redirect_to(f"/project/{name}/" + (f"{version}/" if version else ""))
    who = caller()
    answer = web().project_pages.page(who, name, version)
    if isinstance(answer, Redirect):  # redirect mode: the upstream has it, this registry does not
        response = form_page(name, "upstream.html", project=name, url=answer.location)
        return apply_cache_policy(response, "never")
    base = public_base_url()
    page = content(answer, base, "project.html", base=base)
    title = f"{name} {version}" if version else name
    manage = f"{request.script_root}/admin/projects/{name}/" if who.is_admin else ""
    return respond(title, page, public=answer.public, manage=manage)
