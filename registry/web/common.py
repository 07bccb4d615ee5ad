"""Helpers every view uses: the app's core objects, the caller's identity, read answers."""

from __future__ import annotations

from flask import current_app, g, redirect, request
from werkzeug.wrappers import Response

from ..access import ANONYMOUS, Identity
from ..core.app import Registry
from ..core.listing import Redirect
from ..errors import Unauthorized
from ..names import NormalizedName, project_name
from .caching import apply_cache_policy
from .pages import Page, PageCache

#: The environ key where the caller's log label is left for the access log (see ``web.access``).
LOG_USER = "registry.log_user"


def core() -> Registry:
    """The app's core objects (built by ``create_app``)."""
    found: Registry = current_app.extensions["registry"]
    return found


def pages() -> PageCache:
    """The app's rendered pages, kept per data version."""
    found: PageCache = current_app.extensions["registry.pages"]
    return found


def client_address() -> str:
    """The client's address for counting failed logins: from ``X-Forwarded-For`` behind
    ``auth.trusted_proxy_hops`` proxies (only entries they added are trusted), else the socket's."""
    hops = core().config.settings.auth.trusted_proxy_hops
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
    authenticator = core().access.authenticator
    if auth is not None and auth.type == "basic":
        return authenticator.authenticate(auth.username, auth.password, client_address())
    if auth is not None and auth.type == "bearer" and auth.token:
        return authenticator.authenticate_token(auth.token)
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


def canonical(raw: str) -> NormalizedName:
    """The project a URL names, canonical (the edge where names get their type).

    :raises NotFound: not a valid project name.
    """
    return project_name(raw)


def redirect_to(path: str) -> Response:
    """301 to ``path`` on this site, keeping the query string."""
    query = request.query_string.decode("latin-1")
    return redirect(request.script_root + path + (f"?{query}" if query else ""), code=301)


def read_policy(response: Response, public: bool) -> Response:
    """Cache headers for a read answer: shareable when it is the same for everyone."""
    return apply_cache_policy(response, "index" if public else "private")


def redirect_response(answer: Redirect) -> Response:
    """302 elsewhere (the upstream, a signed URL): never cached, since the target may move."""
    return apply_cache_policy(redirect(answer.location, code=302), "never")


def page_response(page: Page, *, public: bool, vary_accept: bool = False) -> Response:
    """A rendered page with its ETag, answering 304 to a matching ``If-None-Match``."""
    # Weak comparison (RFC 9110): a gzipped answer carries the page's ETag as W/"...".
    if "If-None-Match" in request.headers and request.if_none_match.contains_weak(page.etag):
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
    return core().config.settings.public_url or request.url_root
