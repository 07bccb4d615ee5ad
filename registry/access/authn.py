"""Authentication: who a request's credentials belong to.

Passwords are checked by the backend (passlib, ~10 ms by design); a success is remembered per
process (``CredentialMemo``) because pip sends basic auth with every request. API tokens are
looked up by digest. Failed logins are limited per user name and per client address. A wrong
password and an unknown user look exactly the same: status, message, timing and reads.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..config.views import AuthSettings
from ..errors import TooManyRequests, Unauthorized
from .limiter import FailureLimiter
from .models import ANONYMOUS, TOKEN_USERNAME, Identity
from .passwords import CredentialMemo
from .store import AccessStore
from .tokens import PREFIX as TOKEN_PREFIX
from .tokens import token_digest


class Authenticator:
    """Turns basic-auth credentials or a bearer token into an ``Identity``."""

    def __init__(self, store: AccessStore, settings: AuthSettings) -> None:
        self.store = store
        self.memo = CredentialMemo(settings.credential_cache_seconds)
        self.limiter = FailureLimiter(
            settings.max_failures_per_user, settings.max_failures_per_address, settings.failure_window_seconds
        )

    def authenticate(self, username: str | None, password: str | None, address: str = "") -> Identity:
        """The identity for basic-auth credentials; anonymous when none were sent.

        ``__token__`` as the user name means the password is an API token; a token as the user
        name with no password (``https://<token>@host/``) works too.

        :raises Unauthorized: wrong credentials (unknown users look exactly the same).
        :raises TooManyRequests: too many recent failures for this name or address.
        """
        if username is None:
            return ANONYMOUS
        if username == TOKEN_USERNAME:
            return self.authenticate_token(password or "")
        if username.startswith(TOKEN_PREFIX) and not password:  # https://<token>@host/simple/
            return self.authenticate_token(username)
        name, password = username.lower(), password or ""
        directory = self.store.directory()
        user = directory.users.get(name)
        if user is not None and self.memo.remembered(name, password, user.password_hash):
            return self.store.identity(directory, user)
        retry_after = self.limiter.retry_after(name, address)
        if retry_after:
            raise TooManyRequests(f"Too many failed logins: try again in {retry_after} seconds", retry_after)
        # A full check reads the latest data (a user added or a password changed a moment ago,
        # in another process), for known and unknown names alike so both cost the same.
        directory = self.store.directory(fresh=True)
        user = directory.users.get(name)
        if not self.store.backend.verify_password(user, password) or user is None:
            self.limiter.failed(name, address)
            raise Unauthorized("Invalid username or password")
        self.limiter.succeeded(name)
        self.memo.remember(name, password, user.password_hash)
        return self.store.identity(directory, user)

    def authenticate_token(self, secret: str) -> Identity:
        """The identity of an API token's owner, narrowed to the token's scope.

        :raises Unauthorized: unknown, revoked or expired token, or its owner is gone.
        """
        digest = token_digest(secret)
        directory = self.store.directory()
        if digest not in directory.by_digest:  # perhaps made a moment ago, in another process
            directory = self.store.directory(fresh=True)
        token = directory.by_digest.get(digest)
        owner = directory.users.get(token.owner) if token else None
        if token is None or owner is None or token.expired(datetime.now(UTC)):
            raise Unauthorized("Invalid or expired API token")
        return self.store.identity(directory, owner, token)
