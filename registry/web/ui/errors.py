"""Errors on UI pages: an HTML page with the status ``web.errors`` assigns, or the sign-in page.

A 401 (the caller must sign in: private mode, or a page for signed-in users) answers 303 to
``/account/login/`` with the page to come back to; nothing else of the page is shown. No
``WWW-Authenticate: Basic`` is ever sent from a UI page, so browsers never pop up a login box.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ... import errors
from ..errors import status_for
from .render import form_page


def safe_next(target: str | None) -> str:
    """A path on this site to return to after signing in (anything else: ``/``).

    >>> safe_next("/project/x/"), safe_next("//evil.example/"), safe_next("https://evil.example/")
    ('/project/x/', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(char) < 32 for char in target):
        return "/"
    return target


def referring_path() -> str:
    """The path of the page on this site that linked here ("" for another site or none)."""
    referrer = request.referrer or ""
    return "/" + referrer[len(request.host_url) :] if referrer.startswith(request.host_url) else ""


def login_redirect() -> Response:
    """303 to the sign-in page, coming back here (a GET) or to the form's page (a POST)."""
    back = request.full_path.rstrip("?") if request.method == "GET" else referring_path()
    query = urlencode({"next": safe_next(back)})
    return redirect(f"{request.script_root}/account/login/?{query}", code=303)


def error_page(status: int, message: str) -> Response:
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Slow down"}
    title = titles.get(status, "Error")
    return form_page(title, "error.html", status=status, status_code=status, message=message, heading=title)


def _registry_error(error: errors.RegistryError) -> Response:
    status = status_for(error)
    if status == 401:
        return login_redirect()
    response = error_page(status, error.message)
    if isinstance(error, errors.TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _http_error(error: HTTPException) -> Response:
    response = error_page(error.code or 500, error.description or error.name)
    for name, value in error.get_headers():
        if name.lower() == "allow":
            response.headers[name] = value
    return response


def register(blueprint: Blueprint) -> None:
    """HTML errors for a UI blueprint's views (other routes keep text and JSON errors)."""
    blueprint.register_error_handler(errors.RegistryError, _registry_error)
    blueprint.register_error_handler(HTTPException, _http_error)
