"""The browser session: a signed ``__session`` cookie, and the CSRF token of every form.

``__session`` is the only cookie Firebase Hosting passes on to Cloud Run, so it holds
everything: the signed-in user and their password fingerprint (``access.sessions``), the CSRF
token, and a one-shot message for the next page. It is signed (itsdangerous, with the
registry's session key), HttpOnly, SameSite=Lax, Secure on https, and expires
``LIFETIME`` seconds after it was last written. Every POST from a UI page must carry the
session's CSRF token (synchronizer token pattern); a form page starts an anonymous session to
have one, so the sign-in form is protected too.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from ...access import ANONYMOUS, Identity
from ...access.sessions import Sessions, SignedIn
from ...errors import InvalidRequest
from ..caching import apply_cache_policy
from ..common import core, public_base_url

COOKIE = "__session"  # the only cookie Firebase Hosting forwards
LIFETIME = 12 * 3600
CSRF_FIELD = "csrf_token"
_SALT = "registry.web.session"


def _sessions() -> Sessions:
    return core().web.sessions


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_sessions().secret(), salt=_SALT)


def has_session() -> bool:
    """Whether the request carries a session cookie (then nothing may be shared by a CDN)."""
    return COOKIE in request.cookies


def session() -> dict[str, Any]:
    """This request's session data (empty without a valid cookie)."""
    if "ui_session" not in g:
        g.ui_session = _read()
    data: dict[str, Any] = g.ui_session
    return data


def _read() -> dict[str, Any]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer().loads(raw, max_age=LIFETIME)
    except BadSignature:  # forged, from an old key, or expired: start afresh
        g.ui_session_changed = True
        return {}
    return data if isinstance(data, dict) else {}


def _change(data: dict[str, Any]) -> None:
    g.ui_session = data
    g.ui_session_changed = True


def caller() -> Identity:
    """Who the session belongs to; anonymous without one (an ended session is dropped)."""
    if "ui_identity" not in g:
        data, found = session(), ANONYMOUS
        if data.get("u"):
            identity = _sessions().identity(str(data["u"]), str(data.get("f", "")))
            if identity is None:  # the user is gone or changed their password
                _change({key: value for key, value in data.items() if key not in ("u", "f")})
            else:
                found = identity
        g.ui_identity = found
    identity_found: Identity = g.ui_identity
    return identity_found


def csrf_token() -> str:
    """The session's CSRF token, starting a session if there is none."""
    data = session()
    if not data.get("c"):
        _change({**data, "c": secrets.token_urlsafe(32)})
    return str(session()["c"])


def check_csrf() -> None:
    """:raises InvalidRequest: a POST without this session's CSRF token."""
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = str(session().get("c", ""))
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise InvalidRequest(
            "This form has expired or did not come from this site: reload the page and try again"
        )


def sign_in(signed: SignedIn) -> None:
    """Start a signed-in session (a new CSRF token too, so a planted one is worthless)."""
    _change({"u": signed.username, "f": signed.fingerprint, "c": secrets.token_urlsafe(32)})


def sign_out() -> None:
    _change({})


def flash(message: str) -> None:
    """A message for the next page this session shows."""
    _change({**session(), "m": message[:300]})


def take_flash() -> str:
    data = session()
    if "m" not in data:
        return ""
    _change({key: value for key, value in data.items() if key != "m"})
    return str(data["m"])


def _save(response: Response) -> Response:
    """Write a changed session; an answer that sets a cookie is never shared by a cache."""
    if not g.get("ui_session_changed"):
        return response
    secure = request.is_secure or public_base_url().startswith("https:")
    data = session()
    if data:
        value = _serializer().dumps(data)
        response.set_cookie(
            COOKIE, value, max_age=LIFETIME, path="/", secure=secure, httponly=True, samesite="Lax"
        )
    else:
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")
    return apply_cache_policy(response, "session")


def init_app(app: Flask) -> None:
    app.after_request(_save)
