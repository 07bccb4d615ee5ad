"""API tokens over HTTP (JSON), and keeping credentials out of the access log.

``GET /manage/tokens`` lists the caller's tokens (an admin sees everyone's, or ``?user=``'s),
``POST /manage/tokens`` makes one and shows its secret once, ``DELETE /manage/tokens/<id>``
revokes one. All need a password login: a token cannot make or list tokens, so a leaked token
cannot mint a longer-lived or wider one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from werkzeug.wrappers import Response

from ..access import Identity, Permissions
from ..access.tokens import create_token, list_tokens, parse_expiry, revoke_token
from ..errors import Forbidden, InvalidRequest
from .caching import apply_cache_policy
from .common import LOG_USER, core, identity

bp = Blueprint("tokens", __name__, url_prefix="/manage/tokens")


def _caller() -> Identity:
    caller = identity()
    Permissions.require_password(caller, "manage API tokens")
    return caller


def _owner_for(caller: Identity, wanted: object) -> str:
    """The user a request acts for: the caller, or (admins only) the one named."""
    if wanted is None or wanted == caller.username:
        return str(caller.username)
    if not isinstance(wanted, str):
        raise InvalidRequest("'user' must be a string")
    if not caller.is_admin:
        raise Forbidden("Only admins may manage other users' API tokens")
    return wanted


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


@bp.get("")
def list_view() -> Response:
    """List API tokens (never their secrets)."""
    caller = _caller()
    wanted = request.args.get("user")
    owner = None if caller.is_admin and wanted is None else _owner_for(caller, wanted)
    tokens = list_tokens(core().access.store, owner)
    return _json({"tokens": [token.describe() for token in tokens]})


@bp.post("")
def create_view() -> Response:
    """Make an API token; the answer is the only time its secret is shown."""
    caller = _caller()
    body = _body()
    expires = body.get("expires")
    if expires is not None and not isinstance(expires, str):
        raise InvalidRequest("'expires' must be a string such as 30d or 2030-01-01")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise InvalidRequest("'description' must be a string")
    token, secret = create_token(
        core().access.store,
        _owner_for(caller, body.get("user")),
        permissions=_strings(body, "permissions", ["read"]),
        projects=_strings(body, "projects", []),
        expires=parse_expiry(expires, datetime.now(UTC)),
        description=description,
    )
    return _json({**token.describe(), "token": secret}, status=201)


@bp.delete("/<token_id>")
def revoke_view(token_id: str) -> Response:
    """Revoke an API token (the caller's own, or any for an admin)."""
    caller = _caller()
    token = revoke_token(core().access.store, token_id, None if caller.is_admin else caller.username)
    return _json({"revoked": token.describe()})


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
