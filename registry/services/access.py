"""Who is asking, and what they may do.

Users come from the config (``user.<name> = <passlib hash>``) and from the database (the
Cache's user table). ``pypi.default_read`` / ``pypi.default_write`` / ``pypi.cache_update`` list
who may read, upload and trigger upstream fetches: the pseudo-groups ``everyone`` and
``authenticated``, or ``admin``. Admins (``auth.admins`` and database users flagged admin) may
do everything.

pip sends basic auth with every request and a password hash costs ~10 ms to verify by design,
so a successful check is remembered in memory for ``auth.credential_cache_seconds``, keyed by a
digest of the name, the password and the stored hash (changing the password invalidates it).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from passlib.context import CryptContext
from passlib.exc import UnknownHashError

from ..cache import Cache
from ..config import Config
from ..errors import Forbidden, Unauthorized

# pbkdf2_sha256 needs no C extension; 45,000 rounds cost ~10 ms here. The other schemes are
# accepted for hashes written by pypicloud's and pypiserver's tools.
PASSWORDS = CryptContext(
    schemes=["pbkdf2_sha256", "sha512_crypt", "sha256_crypt", "bcrypt", "argon2", "apr_md5_crypt"],
    default="pbkdf2_sha256",
    pbkdf2_sha256__rounds=45000,
)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both cases cost the same.

    Made on first use, not at import: hashing costs ~11 ms, paid by every start-up otherwise.
    """
    return PASSWORDS.hash(secrets.token_hex(16))


_MEMO_LIMIT = 10_000


def hash_password(password: str) -> str:
    """The passlib hash to put in a ``user.<name> = ...`` line or the user table."""
    return PASSWORDS.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bool(PASSWORDS.verify(password, password_hash))
    except (UnknownHashError, ValueError, TypeError):
        return False
    except Exception:  # noqa: BLE001 - a scheme whose backend is not installed (bcrypt, argon2)
        return False


@dataclass(frozen=True)
class Identity:
    """The caller: a user name, or None for anonymous."""

    username: str | None = None
    is_admin: bool = False

    @property
    def authenticated(self) -> bool:
        return self.username is not None

    @property
    def label(self) -> str:
        return self.username or "anonymous"


ANONYMOUS = Identity()


class Access:
    """Authentication and the permission rules."""

    def __init__(self, config: Config, cache: Cache) -> None:
        self.config = config
        self.cache = cache
        self._memo: dict[bytes, float] = {}
        self._lock = threading.Lock()

    # -- authentication ------------------------------------------------------------------

    def _stored_user(self, username: str) -> tuple[str | None, bool]:
        """(password hash or None, is admin) for a configured or database user."""
        admins = self.config["auth.admins"]
        configured = self.config.users.get(username)
        if configured is not None:
            return configured, username in admins
        user = self.cache.get_user(username)
        if user is None:
            return None, False
        return user.password_hash, user.admin or username in admins

    def authenticate(self, username: str | None, password: str | None) -> Identity:
        """The identity for basic-auth credentials; anonymous when none were sent.

        :raises Unauthorized: credentials were sent and are wrong (unknown users look the same).
        """
        if username is None:
            return ANONYMOUS
        password = password or ""
        stored_hash, is_admin = self._stored_user(username)
        memo_key = hashlib.sha256(
            b"\0".join(part.encode() for part in (username, password, stored_hash or ""))
        ).digest()
        if stored_hash is not None and self._remembered(memo_key):
            return Identity(username, is_admin)
        valid = verify_password(password, stored_hash or _dummy_hash())
        if not (valid and stored_hash is not None):
            raise Unauthorized("Invalid username or password")
        self._remember(memo_key)
        return Identity(username, is_admin)

    def _remembered(self, key: bytes) -> bool:
        expiry = self._memo.get(key)
        return expiry is not None and expiry > time.monotonic()

    def _remember(self, key: bytes) -> None:
        ttl = self.config["auth.credential_cache_seconds"]
        if ttl <= 0:
            return
        with self._lock:
            if len(self._memo) >= _MEMO_LIMIT:
                now = time.monotonic()
                self._memo = {k: v for k, v in self._memo.items() if v > now}
                if len(self._memo) >= _MEMO_LIMIT:
                    self._memo.clear()
            self._memo[key] = time.monotonic() + ttl

    # -- permissions ---------------------------------------------------------------------

    @staticmethod
    def _allowed(identity: Identity, principals: Iterable[str]) -> bool:
        if identity.is_admin:
            return True
        for principal in principals:
            if principal == "everyone":
                return True
            if principal == "authenticated" and identity.authenticated:
                return True
        return False

    def can_read(self, identity: Identity, project: str | None = None) -> bool:
        return self._allowed(identity, self.config["pypi.default_read"])

    def can_write(self, identity: Identity, project: str | None = None) -> bool:
        return self._allowed(identity, self.config["pypi.default_write"])

    def can_update_cache(self, identity: Identity) -> bool:
        return self._allowed(identity, self.config["pypi.cache_update"])

    @property
    def reads_are_public(self) -> bool:
        """Whether every read answer is the same for everyone (so a CDN may cache it)."""
        return "everyone" in self.config["pypi.default_read"]

    @staticmethod
    def require(identity: Identity, allowed: bool, action: str) -> None:
        """:raises Unauthorized: anonymous and not allowed. :raises Forbidden: logged in, not allowed."""
        if allowed:
            return
        if not identity.authenticated:
            raise Unauthorized(f"Authentication required to {action}")
        raise Forbidden(f"User {identity.username!r} is not allowed to {action}")

    @staticmethod
    def require_admin(identity: Identity, action: str) -> None:
        Access.require(identity, identity.is_admin, action)
