"""Browser sessions: sign-in with a password, and who a session cookie belongs to.

A session names a user and a fingerprint of their password hash, so changing a password (or
removing the user) ends every session of theirs at once; admin rights and groups are looked up
on each request like for basic auth, so they apply at once too. Sign-in goes through
``Authenticator.authenticate``: the same brute-force limits as basic auth. API tokens cannot
sign in (a session can make tokens, a token must not).

The key that signs session cookies is made once per registry and kept in the DocumentStore
(kind ``secret``), so every process and instance accepts the same cookies without a setting.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from ..errors import BackendUnavailable, Unauthorized
from .authn import Authenticator
from .models import TOKEN_USERNAME, Identity, User
from .store import AccessStore
from .tokens import PREFIX as TOKEN_PREFIX

SECRET_KIND = "secret"
SECRET_KEY = "session"


def fingerprint(user: User) -> str:
    """What a session keeps of the user's password hash (changes with the password)."""
    return hashlib.sha256(b"registry-session\0" + user.password_hash.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SignedIn:
    """What a new session holds: the user and their password fingerprint."""

    username: str
    fingerprint: str


class Sessions:
    """Sign-in, session lookup, and the key that signs session cookies."""

    def __init__(self, store: AccessStore, authenticator: Authenticator) -> None:
        self.store = store
        self.authenticator = authenticator
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def sign_in(self, username: str, password: str, address: str) -> SignedIn:
        """Check a user name and password for a new session.

        :raises Unauthorized: wrong credentials, or an API token instead of a password.
        :raises TooManyRequests: too many recent failures for this name or address.
        """
        name = username.strip()
        if not name or not password:
            raise Unauthorized("Enter your user name and password")
        if name == TOKEN_USERNAME or name.startswith(TOKEN_PREFIX):
            raise Unauthorized("Sign in with a user name and password: API tokens cannot sign in here")
        caller = self.authenticator.authenticate(name, password, address)
        user = self.store.directory().users.get(str(caller.username))
        if user is None:  # removed a moment ago
            raise Unauthorized("Invalid username or password")
        return SignedIn(user.name, fingerprint(user))

    def identity(self, username: str, user_fingerprint: str) -> Identity | None:
        """Who a session belongs to; None when the user is gone or changed their password."""
        directory = self.store.directory()
        user = directory.users.get(username)
        if user is None or not secrets.compare_digest(fingerprint(user), user_fingerprint):
            return None
        return self.store.identity(directory, user)

    def secret(self) -> bytes:
        """The registry's session-signing key, made on first use (race-safe across processes)."""
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self._load_or_create()
        return self._secret

    def _load_or_create(self) -> bytes:
        documents = self.store.documents
        found = documents.get_or_create_doc(SECRET_KIND, SECRET_KEY, {"key": secrets.token_hex(32)})
        if found is None or not isinstance(found.get("key"), str):
            raise BackendUnavailable("the session key could not be stored in the database")
        return bytes.fromhex(found["key"])
