"""API tokens over HTTP (JSON), and keeping credentials out of the access log.

``GET /manage/tokens`` lists the caller's tokens (an admin sees everyone's, or ``?user=``'s),
``POST /manage/tokens`` makes one and shows its secret once, ``DELETE /manage/tokens/<id>``
revokes one. All need a password login: a token cannot make or list tokens, so a leaked token
cannot mint a longer-lived or wider one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from werkzeug.wrappers import Response

from ..core.accounts import Accounts
from ..errors import InvalidRequest
from .caching import apply_cache_policy
from .common import LOG_USER, core, identity

bp = Blueprint("tokens", __name__, url_prefix="/manage/tokens")


def _strings(body: dict[str, Any], name: str, default: Iterable[str]) -> list[str]:
    value = body.get(name, list(default))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f"'{name}' must be a list of strings")
    return value


def _body() -> dict[str, Any]:
    if not request.content_length:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest('Expected a JSON object body, such as {"permissions": ["read", "upload"]}')
    return body


def _json(data: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return apply_cache_policy(response, "never")


def _user(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidRequest("'user' must be a string")
    return value


@bp.get("")
def list_view() -> Response:
    """List API tokens (never their secrets): the caller's, ``?user=``'s, or every user's for
    an admin who names nobody."""
    caller = identity()
    wanted = request.args.get("user")
    everyone = caller.is_admin and wanted is None
    tokens = accounts().tokens(caller, wanted, everyone=everyone)
    return _json({"tokens": [token.describe() for token in tokens]})


@bp.post("")
def create_view() -> Response:
    """Make an API token; the answer is the only time its secret is shown."""
    body = _body()
    expires = body.get("expires")
    if expires is not None and not isinstance(expires, str):
        raise InvalidRequest("'expires' must be a string such as 30d or 2030-01-01")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise InvalidRequest("'description' must be a string")
    token, secret = accounts().create_token(
        identity(),
        permissions=_strings(body, "permissions", ["read"]),
        projects=_strings(body, "projects", []),
        expires=expires,
        description=description,
        user=_user(body.get("user")),
    )
    return _json({**token.describe(), "token": secret}, status=201)


@bp.delete("/<token_id>")
def revoke_view(token_id: str) -> Response:
    """Revoke an API token (the caller's own, or any for an admin)."""
    token = accounts().revoke_token(identity(), token_id, any_owner=True)
    return _json({"revoked": token.describe()})


def accounts() -> Accounts:
    """The core object that checks and makes token changes."""
    return core().web.accounts


class HideCredentials:
    """WSGI middleware: once the app has answered, replace ``Authorization`` in the environ.

    gunicorn's access log reads the user name from the environ's ``Authorization`` header
    after the app returns, and a user name can be a token or a mistyped password. So the header
    is replaced by one naming only the authenticated caller (``alice``, ``alice/token/<id>``),
    or removed when nobody was authenticated.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return self.app(environ, start_response)
        finally:
            header = environ.pop("HTTP_AUTHORIZATION", None)
            user = environ.get(LOG_USER)
            if header is not None and user:
                environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{user}:".encode()).decode()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.wsgi_app = HideCredentials(app.wsgi_app)  # type: ignore[method-assign]
