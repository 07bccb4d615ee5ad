"""Helpers every view uses: the app's services, the caller's identity, read answers."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.wrappers import Response

from ..services.access import Identity
from ..services.context import Services
from ..services.pages import Page
from .caching import apply_cache_policy


def services() -> Services:
    found: Services = current_app.extensions["registry"]
    return found


def identity() -> Identity:
    """Who is asking, from basic auth (checked once per request).

    :raises Unauthorized: credentials were sent and are wrong.
    """
    if "identity" not in g:
        auth = request.authorization if "Authorization" in request.headers else None
        if auth is None or auth.type != "basic":
            g.identity = services().access.authenticate(None, None)
        else:
            g.identity = services().access.authenticate(auth.username, auth.password)
    found: Identity = g.identity
    return found


def require_read(project: str | None = None) -> Identity:
    """:raises Unauthorized | Forbidden: the caller may not read."""
    caller = identity()
    access = services().access
    access.require(caller, access.can_read(caller, project), "read this registry")
    return caller


def read_policy(response: Response) -> Response:
    """Cache headers for a read answer: public when reads are, private otherwise."""
    access = services().access
    if access.reads_are_public:
        return apply_cache_policy(response, "index")
    return apply_cache_policy(response, "private")


def page_response(page: Page, *, vary_accept: bool = False) -> Response:
    """A rendered page with its ETag, answering 304 to a matching ``If-None-Match``."""
    if "If-None-Match" in request.headers and request.if_none_match.contains(page.etag):
        response = Response(status=304)
        response.headers.remove("Content-Type")
    else:
        content_type = page.content_type + (
            "; charset=utf-8" if page.content_type.startswith("text/") else ""
        )
        response = Response(page.body, content_type=content_type)
    response.set_etag(page.etag)
    if vary_accept:
        response.vary.add("Accept")
    return read_policy(response)


def public_base_url() -> str:
    """The base for absolute links: ``pypi.public_url`` if set, else this request's root."""
    configured: str = services().config["pypi.public_url"]
    return configured or request.url_root
