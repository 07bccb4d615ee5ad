"""Cache-Control rules, in one table, applied in one place.

Views name a policy; this module turns the name into headers, and an ``after_request`` hook
makes two rules hold for every answer, whatever a view did: an error (4xx/5xx, including
401/403/404) is ``no-store``, and an answer without a policy is ``no-store`` too, so nothing
is cached unless a view asked for it. ``docs/caching.md`` lists every route with its headers.

| policy  | used for                                  | Cache-Control                   | Vary          |
| ------- | ----------------------------------------- | ------------------------------- | ------------- |
| file    | package and metadata files, public reads  | public, max-age=31536000,       |               |
|         |                                           | immutable                       |               |
| index   | index pages and JSON API, public reads    | public, max-age=A, s-maxage=B,  | (Accept)      |
|         |                                           | stale-while-revalidate=C        |               |
| private | any read answer when reads need a login   | private, no-cache               | Authorization |
| never   | errors, uploads, management, health, rest | no-store                        |               |
| page    | web UI pages, anonymous and public reads  | as ``index``, but max-age=0     | Cookie        |
| session | web UI pages for a browser session, forms | private, no-store               | Cookie        |

A, B and C are ``pypi.index_max_age``, ``pypi.index_cdn_max_age`` and
``pypi.index_stale_while_revalidate``: a new upload shows through the CDN within B + C seconds.
Web UI pages (``registry.web.ui``) are ``page`` only for a request without a session cookie
whose data every caller may read: the same bytes for everyone, so the CDN may share them like
the simple pages (and a new upload shows within the same window). Anything rendered for a
session, any form (it carries a CSRF token) and any answer that sets a cookie is ``session``.
A file's URL contains the start of its sha256, so "immutable" stays true even if a file were
ever replaced. Index pages carry an ETag, so revalidating them costs a 304.

Firebase Hosting caches 404s for 10 minutes unless the answer says otherwise, and keys its cache
on ``Authorization`` by itself; ``no-store`` on errors is what makes a new project visible at
once, and ``private`` keeps per-user answers out of the shared cache.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from werkzeug.wrappers import Response

from ..config.views import IndexCaching

FILE_MAX_AGE = 365 * 24 * 3600
NO_INDEX_CACHING = IndexCaching(0, 0, 0)
POLICIES = ("file", "index", "private", "never", "page", "session")


def cache_control(policy: str, settings: IndexCaching = NO_INDEX_CACHING) -> str:
    """The Cache-Control value for ``policy``; ``settings``: the ``pypi.index_*`` values.

    >>> cache_control("index", IndexCaching(60, 60, 30))
    'public, max-age=60, s-maxage=60, stale-while-revalidate=30'
    >>> cache_control("page", IndexCaching(60, 60, 30))
    'public, max-age=0, s-maxage=60, stale-while-revalidate=30'

    :raises ValueError: unknown policy.
    """
    if policy == "file":
        return f"public, max-age={FILE_MAX_AGE}, immutable"
    if policy in ("index", "page"):
        # A browser revalidates a UI page on every visit (a cheap 304, answered by the CDN), so
        # a person who just uploaded sees it; installers keep the index pages A seconds.
        max_age = settings.max_age if policy == "index" else 0
        value = f"public, max-age={max_age}, s-maxage={settings.cdn_max_age}"
        stale = settings.stale_while_revalidate
        return value + (f", stale-while-revalidate={stale}" if stale else "")
    if policy == "private":
        return "private, no-cache"
    if policy == "never":
        return "no-store"
    if policy == "session":
        return "private, no-store"
    raise ValueError(f"unknown cache policy {policy!r}")


def apply_cache_policy(response: Response, policy: str) -> Response:
    """Set Cache-Control (and Vary) on ``response`` for one of the policies above."""
    settings = current_app.extensions["registry"].config.settings.index_caching
    response.headers["Cache-Control"] = cache_control(policy, settings)
    if policy == "private":
        response.vary.add("Authorization")
    elif policy in ("page", "session"):
        response.vary.add("Cookie")  # a session cookie changes the page (the signed-in user's)
    return response


def _enforce(response: Response) -> Response:
    """Errors and answers without a policy are never cached (runs after every view)."""
    if response.status_code >= 400 or "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = cache_control("never")
    return response


# -- Who asked (access control) ------------------------------------------------------------
# An answer that is not ``public`` and that depended on who asked (the view looked at the
# caller's credentials: every read, upload and management route does) also says
# ``Vary: Authorization``, so no cache can hand one caller's answer to another, even an
# error such as a 404 for a project hidden from this caller. docs/access.md has the rules.


def vary_on_caller(response: Response) -> Response:
    """Add ``Vary: Authorization`` to a non-public answer that depended on the caller."""
    if g.get("asked_who") and not response.headers.get("Cache-Control", "").startswith("public"):
        response.vary.add("Authorization")
    return response


def init_app(app: Flask) -> None:
    app.after_request(vary_on_caller)
    app.after_request(_enforce)  # registered last, so it runs first
