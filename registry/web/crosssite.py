"""Refuse writes that a web page on another site made a browser send (cross-site request forgery).

A browser that holds basic-auth credentials for the registry attaches them to any request a
page makes it send, from any site: a form POST, or ``fetch()`` without CORS. Browsers mark such
requests, and tools do not: twine, uv, poetry, pip and curl send neither ``Origin`` nor
``Sec-Fetch-*``. So a POST, PUT, PATCH or DELETE passes when:

1. ``Sec-Fetch-Site`` is present (every current browser sends it) and says ``same-origin`` or
   ``none`` (the user's own action, such as a bookmark); ``same-site`` (a sibling subdomain)
   and ``cross-site`` are refused;
2. otherwise ``Origin`` is present and is one of the registry's own origins: this request's
   (scheme and host as received, https behind Cloud Run through gunicorn's trusted
   ``X-Forwarded-Proto``) or ``pypi.public_url``'s (a request that came through Firebase
   Hosting carries the Cloud Run service's host, while the browser's page was on the Hosting
   domain); ``Origin: null`` (sandboxed frames, local files) is refused;
3. or neither header is present: not a browser, or one that predates both headers.

A refusal is a 403 that says why. ``jsonbody`` adds the other half: the JSON endpoints refuse
the form and text bodies a page can send without asking.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

from ..errors import Forbidden
from .common import core

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(url: str) -> Origin | None:
    """(scheme, host, port) of a URL or an ``Origin`` value; None if it has none.

    >>> parse_origin("https://Registry.example:443/simple/")
    ('https', 'registry.example', 443)
    >>> parse_origin("null") is None
    True
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def own_origins() -> set[Origin]:
    """The origins this registry is reached at: this request's, and ``pypi.public_url``'s."""
    candidates = [request.host_url, core().config.settings.public_url]
    return {origin for url in candidates if (origin := parse_origin(url)) is not None}


def refuse_cross_site_writes() -> None:
    """Refuse a write a browser marks as coming from another site (runs before every view).

    :raises Forbidden: ``Sec-Fetch-Site`` other than same-origin or none, or an ``Origin``
        that is not one of the registry's.
    """
    if request.method not in WRITES:
        return
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        if fetch_site.strip().lower() not in ALLOWED_FETCH_SITES:
            raise Forbidden(
                f"Cross-site request refused: the browser says this {request.method} came from "
                f"another site (Sec-Fetch-Site: {fetch_site[:40]})"
            )
        return
    origin = request.headers.get("Origin")
    if origin is not None and parse_origin(origin) not in own_origins():
        raise Forbidden(
            f"Cross-site request refused: Origin {origin[:100]!r} is not this registry's; "
            "tools such as twine send no Origin"
        )


def init_app(app: Flask) -> None:
    app.before_request(refuse_cross_site_writes)
