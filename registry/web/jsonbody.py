"""JSON endpoints take JSON: the right content type, and a body that parses.

The management, token and large-upload endpoints read JSON bodies. Two rules, checked before
their views run:

- A request to them that declares any other content type is refused with 415, even with an
  empty body. A form or ``text/plain`` POST is the one kind of write a web page on another site
  can make a browser send without asking the registry first (a CORS "simple request"), so this
  closes that door whatever ``crosssite`` decides; ``curl -X POST`` without a body (no
  ``Content-Type``) still works.
- A body is parsed once here, so a malformed or absurdly nested one (100,000 ``[``, which
  exhausts Python's recursion limit) is a 400 with the reason, never a 500. The views then read
  the parsed value from Flask's cache.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from ..errors import InvalidRequest

#: Blueprints whose writes take JSON bodies.
JSON_BLUEPRINTS = frozenset({"manage", "tokens", "upload_sessions"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _parser_reason(error: BaseException) -> str:
    """The JSON parser's own words, found along the exception chain (Flask hides them)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ValueError):
            return f": {cause}"
        cause = cause.__cause__ or cause.__context__
    return ""


def require_json_body() -> None:
    """Refuse a non-JSON or unparsable body on a JSON endpoint (runs before every view).

    :raises UnsupportedMediaType: a content type other than JSON (415).
    :raises InvalidRequest: a body that is not valid JSON (400).
    """
    if request.method not in WRITES or request.blueprint not in JSON_BLUEPRINTS:
        return
    declared = "Content-Type" in request.headers
    if (declared or _has_body()) and not request.is_json:
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(f"Send JSON with 'Content-Type: application/json' (not {shown})")
    if not _has_body():
        return
    try:
        request.get_json()
    except RecursionError as exc:
        raise InvalidRequest("The JSON body is nested too deeply") from exc
    except BadRequest as exc:
        raise InvalidRequest(f"The body is not valid JSON{_parser_reason(exc)}") from exc


def init_app(app: Flask) -> None:
    app.before_request(require_json_body)
