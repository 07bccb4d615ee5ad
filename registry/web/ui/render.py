"""Rendering UI pages: a content fragment (kept per data version) inside the page layout.

The content of a page built from core data is rendered once per data version and kept
(``PageCache``, one for pages and a smaller one for search results, so random searches cannot
push project pages out). The layout around it (the navigation, who is signed in) is added per
request, except for an anonymous visitor of public data: that whole page is the same bytes for
everyone, is kept too, and is answered with an ETag and the ``page`` cache policy, like the
simple pages. Everything else is ``session``: private and never stored.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, current_app, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from ...core.app import WebQueries
from ...core.listing import Versioned
from ..caching import apply_cache_policy
from ..common import core
from ..pages import Page, PageCache
from . import readme
from .session import caller, csrf_token, has_session, take_flash
from .static import asset_url

T = TypeVar("T")
HTML = "text/html"


def web() -> WebQueries:
    """The core queries behind the UI."""
    return core().web


def _cache(name: str) -> PageCache:
    found: PageCache = current_app.extensions[name]
    return found


def content(
    data: Versioned[T], variant: Hashable, template: str, *, search: bool = False, **extra: Any
) -> Page:
    """The fragment ``template`` renders of ``data``, rendered once per data version."""
    cache = _cache("registry.ui_search" if search else "registry.ui_pages")

    def render(value: T) -> Page:
        return Page.build(render_template(template, data=value, **extra).encode(), HTML)

    return cache.render(data, (template, variant), render)


def _chrome(shared: bool) -> dict[str, Any]:
    """Who is signed in (with the sign-out form's token) and a message, for the layout."""
    if shared or not has_session():
        return {"user": None, "csrf": "", "message": ""}
    user = caller()
    if not user.authenticated:
        return {"user": None, "csrf": "", "message": take_flash()}
    return {"user": user, "csrf": csrf_token(), "message": take_flash()}


def _layout(title: str, body: Markup, *, shared: bool, **extra: Any) -> str:
    return render_template(
        "layout.html", title=title, content=body, css=asset_url("registry.css"), **_chrome(shared), **extra
    )


def respond(
    title: str, page: Page, *, public: bool, status: int = 200, search: bool = False, **extra: Any
) -> Response:
    """A full page around ``page``: shared and revalidated for anonymous public reads (kept in
    the search results' cache for ``search``, like the content)."""
    if public and not has_session() and status == 200:
        shared = _cache("registry.ui_search" if search else "registry.ui_pages").get(
            ("layout", title, page.etag),
            page.etag,
            lambda: Page.build(_layout(title, Markup(page.body.decode()), shared=True).encode(), HTML),
        )
        # Weak comparison (RFC 9110): a gzipped answer carries the page's ETag as W/"...".
        if "If-None-Match" in request.headers and request.if_none_match.contains_weak(shared.etag):
            response = Response(status=304)
            response.headers.remove("Content-Type")
        else:
            response = Response(shared.body, content_type=HTML + "; charset=utf-8")
        response.set_etag(shared.etag)
        return apply_cache_policy(response, "page")
    body = _layout(title, Markup(page.body.decode()), shared=False, **extra)
    return apply_cache_policy(Response(body, status=status, mimetype=HTML), "session")


def form_page(title: str, template: str, *, status: int = 200, **context: Any) -> Response:
    """A page rendered for this request only (forms, account and admin pages): ``session``."""
    body = Markup(render_template(template, **context))
    return apply_cache_policy(
        Response(_layout(title, body, shared=False), status=status, mimetype=HTML), "session"
    )


def filesize(size: int | None) -> str:
    """``1.5 MB`` and the like (decimal units, as the public index shows them).

    >>> filesize(1536), filesize(999), filesize(None)
    ('1.5 kB', '999 bytes', '')
    """
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return ""  # unreachable


def when(moment: datetime | None) -> str:
    """A moment in UTC, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def init_app(app: Flask) -> None:
    app.extensions["registry.ui_pages"] = PageCache(limit=512)
    app.extensions["registry.ui_search"] = PageCache(limit=256)
    app.add_template_filter(filesize)
    app.add_template_filter(when)
    app.add_template_filter(readme.render_readme, "readme")
    app.add_template_filter(readme.safe_url)
    app.add_template_filter(readme.python_tag)
    app.add_template_filter(readme.lines)
    app.add_template_global(readme.project_links)
    app.add_template_global(csrf_token)  # called by each form, so only a form starts a session
