"""Helpers every view uses: the app's services, the caller's identity, read answers."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.wrappers import Response

from ..access import ANONYMOUS, Identity
from ..errors import NotFound, Unauthorized
from ..services.context import Services
from ..services.pages import Page
from .caching import apply_cache_policy

#: The environ key where the caller's log label is left for the access log (see ``web.access``).
LOG_USER = "registry.log_user"


def services() -> Services:
    found: Services = current_app.extensions["registry"]
    return found


def client_address() -> str:
    """The client's address for counting failed logins: from ``X-Forwarded-For`` behind
    ``auth.trusted_proxy_hops`` proxies (only entries they added are trusted), else the socket's."""
    hops: int = services().config["auth.trusted_proxy_hops"]
    if hops:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote_addr or ""


def _authenticate() -> Identity:
    if "Authorization" not in request.headers:
        return ANONYMOUS
    auth = request.authorization
    access = services().access
    if auth is not None and auth.type == "basic":
        return access.authenticate(auth.username, auth.password, client_address())
    if auth is not None and auth.type == "bearer" and auth.token:
        return access.authenticate_token(auth.token)
    raise Unauthorized("Unsupported Authorization header: use HTTP basic auth or a Bearer API token")


def identity() -> Identity:
    """Who is asking, from basic auth or an API token (checked once per request).

    :raises Unauthorized: credentials were sent and are wrong.
    :raises TooManyRequests: too many failed logins for this name or address.
    """
    if "identity" not in g:
        g.asked_who = True  # the answer now depends on the caller (see caching.vary_on_caller)
        g.identity = _authenticate()
        if g.identity.authenticated:
            request.environ[LOG_USER] = g.identity.log_label
    found: Identity = g.identity
    return found


def require_read(project: str | None = None, hidden: NotFound | None = None) -> Identity:
    """The caller, if they may read ``project`` (None: the index).

    :raises NotFound: ``hidden``, when the project is hidden from a caller who would get a 404
        for a project that does not exist (so hiding leaks nothing).
    :raises Unauthorized | Forbidden: the caller may not read.
    """
    caller = identity()
    access = services().access
    if project is None:
        access.require(caller, access.can_list(caller), "read this registry")
    else:
        access.require_read(caller, project, hidden or NotFound(f"Project {project!r} not found"))
    return caller


def read_policy(response: Response, public: bool) -> Response:
    """Cache headers for a read answer: shareable when it is the same for everyone."""
    if public:
        return apply_cache_policy(response, "index")
    return apply_cache_policy(response, "private")


def page_response(page: Page, *, public: bool, vary_accept: bool = False) -> Response:
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
    return read_policy(response, public)


def public_base_url() -> str:
    """The base for absolute links: ``pypi.public_url`` if set, else this request's root."""
    configured: str = services().config["pypi.public_url"]
    return configured or request.url_root
