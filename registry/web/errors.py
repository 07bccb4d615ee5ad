"""The one place where errors become HTTP answers.

Domain exceptions map to a status by class; werkzeug's own HTTP errors (unknown route, wrong
method, body too large) keep theirs. The message goes in the body and, for 4xx, in the reason
phrase too, because that is what ``twine`` prints. Anything unexpected is logged with its
traceback and answered with a plain 500: no stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from .. import errors
from .caching import apply_cache_policy

log = logging.getLogger("registry")

#: Exception class -> HTTP status; the first match along the class's MRO wins.
STATUS_BY_ERROR: dict[type[errors.RegistryError], int] = {
    errors.InvalidRequest: 400,
    errors.NotSupported: 400,  # the request is fine, this registry's configuration cannot do it
    errors.FileExists: 400,  # twine --skip-existing looks for 400 + "File already exists"
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.NotAcceptable: 406,
    errors.AlreadyExists: 409,
    errors.Claimed: 409,  # the core turns these into 400s naming the rule; never a 500 if one escapes
    errors.ReadOnly: 409,
    errors.TooLarge: 413,
    errors.TooManyRequests: 429,
    errors.ConfigError: 500,
    errors.UpstreamError: 502,
    errors.BackendUnavailable: 503,
    errors.UpstreamTimeout: 504,
}

JSON_BLUEPRINTS = {"manage", "cooldown", "json_api", "health", "tokens", "upload_sessions"}


def status_for(error: errors.RegistryError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _reason(message: str) -> str:
    """A reason phrase: one line of printable ASCII."""
    text = "".join(char if 32 <= ord(char) < 127 else " " for char in message)
    return " ".join(text.split())[:300]


def error_response(status: int, message: str) -> Response:
    """The answer for an error: JSON for API routes, plain text elsewhere; never cached."""
    if request.blueprint in JSON_BLUEPRINTS:
        body = json.dumps({"status": status, "error": message}) + "\n"
        response = Response(body, status=status, mimetype="application/json")
    else:
        response = Response(f"{status} {message}\n", status=status, mimetype="text/plain")
    if 400 <= status < 500 and message:
        response.status = f"{status} {_reason(message)}"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="registry", charset="UTF-8"'
    apply_cache_policy(response, "never")
    return response


def _handle_registry_error(error: errors.RegistryError) -> Response:
    status = status_for(error)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.path, error.message)
    response = error_response(status, error.message)
    if isinstance(error, errors.TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _handle_http_exception(error: HTTPException) -> Response:
    if isinstance(error, RequestEntityTooLarge):
        message = "File too large: the request body is larger than this registry accepts"
    else:
        message = error.description or error.name
    response = error_response(error.code or 500, message)
    for name, value in error.get_headers():
        if name.lower() in ("allow", "location"):
            response.headers[name] = value
    return response


def _handle_unexpected(error: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Internal server error")


def init_app(app: Flask) -> None:
    app.register_error_handler(errors.RegistryError, _handle_registry_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
