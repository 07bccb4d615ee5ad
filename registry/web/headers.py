"""Security headers on every answer, whatever a view did.

- ``X-Content-Type-Options: nosniff`` everywhere: a browser takes the declared type (package
  files are ``application/octet-stream``, metadata files ``text/plain``) and never guesses HTML
  or script from a file's bytes.
- On HTML answers (the simple index, the web UI): a Content-Security-Policy under which no
  script loads or runs at all; the web UI's one stylesheet, images (a README's, over https) and
  forms to this registry are all it allows; and no framing (``frame-ancestors 'none'``, and
  ``X-Frame-Options: DENY`` for browsers that predate it), so no page can frame the registry to
  trick a click.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def is_html(mimetype: str) -> bool:
    """True for HTML, including the simple API's versioned HTML type.

    >>> is_html("text/html"), is_html("application/vnd.pypi.simple.v1+html"), is_html("text/plain")
    (True, True, False)
    """
    return mimetype == "text/html" or mimetype.endswith("+html")


def add_security_headers(response: Response) -> Response:
    """Set the headers above (runs after every view, errors included)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if is_html(response.mimetype or ""):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
