"""The HTTP layer: one blueprint per feature, thin views over ``registry.core``.

A view parses the request (names become ``NormalizedName`` here), calls one core method and
renders what it returns; rendered pages are kept per data version (``pages``).
"""

from __future__ import annotations

from flask import Flask, request

from ..core.app import Registry
from . import (
    access,
    caching,
    compress,
    cooldown,
    crosssite,
    errors,
    files,
    headers,
    health,
    json_api,
    jsonbody,
    manage,
    pathvalues,
    simple,
    ui,
    upload,
)
from .common import core
from .pages import PageCache
from .shared_pages import SharedPages
from .upload_sessions import bp as upload_sessions_bp


def _start() -> None:
    if request.endpoint not in health.NO_BACKEND_ENDPOINTS:
        core().start()


def _pages(registry: Registry) -> PageCache:
    """Rendered pages: bounded like the upstream's in memory, big ones shared on disk."""
    config = registry.config
    shared = None
    if config.settings.shared_pages > 0:
        shared = SharedPages.in_temp(config.settings.shared_pages, registry.database_id, config.fingerprint())
    return PageCache(max_bytes=config.settings.fallback.memory, shared=shared, remember=compress.remember)


def init_app(app: Flask) -> None:
    app.url_map.strict_slashes = False
    app.extensions["registry.pages"] = _pages(app.extensions["registry"])
    errors.init_app(app)
    caching.init_app(app)
    compress.init_app(app)  # gzip for pages and JSON when the client accepts it
    headers.init_app(app)  # nosniff, CSP and no framing on every answer
    pathvalues.init_app(app)  # URL values that can name nothing: 404 before any view
    crosssite.init_app(app)  # writes a browser marks as cross-site: 403
    jsonbody.init_app(app)  # JSON endpoints: JSON content type (415), a body that parses (400)
    app.before_request(_start)
    blueprints = (
        simple.bp,
        upload.bp,
        upload_sessions_bp,
        files.bp,
        json_api.bp,
        manage.bp,
        cooldown.bp,
        health.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    access.init_app(app)
    ui.init_app(app)
