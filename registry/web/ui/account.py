"""Signing in and out, and a signed-in user's API tokens.

``/account/login/`` checks the password through ``access.Sessions`` (the brute-force limits of
basic auth apply), then starts the session and returns to the page that asked for it. Sign-out
is a POST (with the CSRF token), so no other site can sign a user out with a link. Token
secrets are shown once, in the answer to the form that made them (never stored, never cached).
"""

from __future__ import annotations

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from ...errors import InvalidRequest, TooManyRequests, Unauthorized
from ..common import client_address
from . import errors, session
from .render import form_page, web
from .session import caller, check_csrf

bp = Blueprint("ui_account", __name__, url_prefix="/account", template_folder="templates")
bp.before_request(check_csrf)
errors.register(bp)

EXPIRY_CHOICES = (("30d", "30 days"), ("90d", "90 days"), ("365d", "1 year"), ("never", "Never"))


def _login_form(status: int = 200, message: str = "", username: str = "") -> Response:
    target = errors.safe_next(request.values.get("next") or errors.referring_path())
    return form_page("Sign in", "login.html", status=status, message=message, username=username, next=target)


@bp.get("/login/")
def login() -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if caller().authenticated:
        return redirect(errors.safe_next(request.args.get("next")), code=303)
    return _login_form()


@bp.post("/login/")
def login_submit() -> Response:
    """Check the user name and password, start a session, and go back to where the user was."""
    username = request.form.get("username", "")[:200]
    try:
        signed = web().sessions.sign_in(username, request.form.get("password", ""), client_address())
    except TooManyRequests as exc:
        response = _login_form(429, exc.message, username)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized as exc:
        response = _login_form(401, exc.message, username)
        response.headers["WWW-Authenticate"] = 'Form realm="registry"'  # a 401 names a scheme
        return response
    session.sign_in(signed)
    return redirect(errors.safe_next(request.form.get("next")), code=303)


@bp.get("/logout/")
def logout() -> Response:
    """A button to sign out (signing out is a POST)."""
    return form_page("Sign out", "logout.html", user=caller())


@bp.post("/logout/")
def logout_submit() -> Response:
    """End the session."""
    session.sign_out()
    return redirect(request.script_root + "/", code=303)


def _tokens_page(status: int = 200, **extra: object) -> Response:
    tokens = web().accounts.tokens(caller())
    return form_page(
        "API tokens", "tokens.html", status=status, tokens=tokens, expiry=EXPIRY_CHOICES, **extra
    )


@bp.get("/tokens/")
def tokens() -> Response:
    """The caller's API tokens, and a form to make one."""
    return _tokens_page()


@bp.post("/tokens/")
def create_token() -> Response:
    """Make a token; this answer is the only time its secret is shown."""
    form = request.form
    try:
        token, secret = web().accounts.create_token(
            caller(),
            permissions=form.getlist("permission"),
            projects=form.get("projects", "").replace(",", " ").split(),
            expires=form.get("expires", ""),
            description=form.get("description", "").strip(),
        )
    except InvalidRequest as exc:  # show the form again, with what to fix
        return _tokens_page(400, error=exc.message)
    return _tokens_page(201, created=token, secret=secret)


@bp.post("/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> Response:
    """Revoke one of the caller's tokens."""
    token = web().accounts.revoke_token(caller(), token_id)
    session.flash(f"Token {token.id} revoked")
    return redirect(request.script_root + "/account/tokens/", code=303)
