"""The UI's own static files (one small stylesheet), served by the app itself.

Links carry the file's content hash (``?v=``), so a matching request is cached for a year as
immutable, like package files; any other version string gets the short ``index`` policy.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ...errors import NotFound
from ..caching import apply_cache_policy
from ..pages import Page

STATIC = Path(__file__).parent / "static"
TYPES = {".css": "text/css", ".svg": "image/svg+xml"}

bp = Blueprint("ui_static", __name__)


@functools.cache
def _asset(name: str) -> tuple[Page, str]:
    """The file's page and its version (content hash); read once per process."""
    path = STATIC / name
    if "/" in name or path.suffix not in TYPES or not path.is_file():
        raise NotFound(f"Static file {name!r} not found")
    page = Page.build(path.read_bytes(), TYPES[path.suffix])
    return page, hashlib.sha256(page.body).hexdigest()[:16]


def asset_url(name: str) -> str:
    """The URL of a static file, with its version."""
    return f"{request.script_root}/static/{name}?v={_asset(name)[1]}"


@bp.get("/static/<name>")
def asset(name: str) -> Response:
    """Serve a static file of the UI."""
    page, version = _asset(name)
    if request.if_none_match.contains(page.etag):
        response = Response(status=304)
        response.headers.remove("Content-Type")
    else:
        response = Response(page.body, content_type=page.content_type + "; charset=utf-8")
    response.set_etag(page.etag)
    return apply_cache_policy(response, "file" if request.args.get("v") == version else "index")
