"""JSON endpoints take JSON: the right content type, and a body that parses.

The management (cooldown releases included), token and large-upload endpoints read JSON
bodies. Two rules, checked before their views run:

- A request to them that declares any other content type is refused with 415, even with an
  empty body. A form or ``text/plain`` POST is the one kind of write a web page on another site
  can make a browser send without asking the registry first (a CORS "simple request"), so this
  closes that door whatever ``crosssite`` decides; ``curl -X POST`` without a body (no
  ``Content-Type``) still works.
- A body has a length, of at most 64 KiB (the real ones are a few hundred bytes), so none can
  hold a thread or memory for long. It is parsed once here, so a malformed or absurdly nested
  one (100,000 ``[``, which exhausts Python's recursion limit) is a 400 with the reason, never a
  500. The views then read the parsed value from Flask's cache.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest, LengthRequired, UnsupportedMediaType

from ..errors import InvalidRequest, TooLarge

#: Blueprints whose writes take JSON bodies.
JSON_BLUEPRINTS = frozenset({"manage", "cooldown", "tokens", "upload_sessions"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Their bodies are a few hundred bytes; a larger one is refused before it is read.
MAX_JSON_BODY = 64 * 1024


def _chunked() -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _has_body() -> bool:
    return bool(request.content_length) or _chunked()


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
    :raises LengthRequired: a body without a Content-Length (411).
    :raises TooLarge: a body over ``MAX_JSON_BODY`` (413).
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
    if _chunked():
        raise LengthRequired("Send JSON bodies with a Content-Length")
    if (request.content_length or 0) > MAX_JSON_BODY:
        raise TooLarge(f"A JSON body may be at most {MAX_JSON_BODY // 1024} KiB")
    try:
        request.get_json()
    except RecursionError as exc:
        raise InvalidRequest("The JSON body is nested too deeply") from exc
    except BadRequest as exc:
        raise InvalidRequest(f"The body is not valid JSON{_parser_reason(exc)}") from exc


def init_app(app: Flask) -> None:
    app.before_request(require_json_body)
