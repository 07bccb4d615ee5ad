"""The HTTP layer: one blueprint per feature, thin views over ``registry.services``."""

from __future__ import annotations

from flask import Flask, request

from . import (
    access,
    caching,
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
    upload,
)
from .common import services
from .upload_sessions import bp as upload_sessions_bp


def _start_services() -> None:
    if request.endpoint not in health.NO_BACKEND_ENDPOINTS:
        services().start()


def init_app(app: Flask) -> None:
    app.url_map.strict_slashes = False
    errors.init_app(app)
    caching.init_app(app)
    headers.init_app(app)  # nosniff, CSP and no framing on every answer
    pathvalues.init_app(app)  # URL values that can name nothing: 404 before any view
    crosssite.init_app(app)  # writes a browser marks as cross-site: 403
    jsonbody.init_app(app)  # JSON endpoints: JSON content type (415), a body that parses (400)
    app.before_request(_start_services)
    for blueprint in (simple.bp, upload.bp, upload_sessions_bp, files.bp, json_api.bp, manage.bp, health.bp):
        app.register_blueprint(blueprint)
    access.init_app(app)
