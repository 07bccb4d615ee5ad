"""The web UI: pages for people, over the same core queries as the simple API.

One blueprint per feature (browsing, account, admin, project management, static files),
Jinja templates in ``templates/``, one stylesheet in ``static/``. No page needs JavaScript and
none has inline script or style, so a strict Content-Security-Policy holds. Views parse the
request, call one core method and render; sessions and CSRF live in ``session``, caching of
rendered pages in ``render`` (policies from ``web.caching``).
"""

from __future__ import annotations

from flask import Flask

from . import account, admin, browse, manage, render, session, static


def init_app(app: Flask) -> None:
    render.init_app(app)
    session.init_app(app)
    for blueprint in (browse.bp, account.bp, admin.bp, manage.bp, static.bp):
        app.register_blueprint(blueprint)
