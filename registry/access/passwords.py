"""Password hashes, and the in-memory memo of recent successful checks.

Verifying a password costs ~10 ms by design (pbkdf2_sha256, 45,000 rounds), and pip sends basic
auth with every request, so a successful check is remembered for
``auth.credential_cache_seconds``. The memo is safe because:

- it only ever holds *successes*: a wrong password always pays the full hash, so it gives an
  attacker no faster oracle, and unknown users cost the same (a dummy hash is verified);
- its key is a keyed BLAKE2b (a MAC; unlike HMAC through OpenSSL 3 it costs well under a
  microsecond) under a random per-process key, of the length-prefixed (name, password, stored
  hash): no two inputs share a key, a memory dump holds no fast-to-crack digest of the
  password, and changing or removing a password makes old entries unreachable at once;
- it is bounded (least recently used entries go first) and entries expire.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from passlib.context import CryptContext
from passlib.exc import UnknownHashError

# pbkdf2_sha256 needs no C extension; 45,000 rounds cost ~10 ms here. The other schemes are
# accepted for hashes written by pypicloud's and pypiserver's tools.
PASSWORDS = CryptContext(
    schemes=["pbkdf2_sha256", "sha512_crypt", "sha256_crypt", "bcrypt", "argon2", "apr_md5_crypt"],
    default="pbkdf2_sha256",
    pbkdf2_sha256__rounds=45000,
)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    """The passlib hash to put in a ``user.<name> = ...`` line or the user table."""
    return str(PASSWORDS.hash(password))


def is_password_hash(text: str) -> bool:
    """Whether ``text`` is a hash in one of the accepted schemes."""
    try:
        return PASSWORDS.identify(text) is not None
    except (UnknownHashError, ValueError, TypeError):
        return False


def verify_password(password: str, password_hash: str) -> bool:
    """Check a password; a malformed hash or an uninstalled scheme is simply a mismatch."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return bool(PASSWORDS.verify(password, password_hash))
    except (UnknownHashError, ValueError, TypeError):
        return False
    except Exception:  # noqa: BLE001 - a scheme whose backend is not installed (bcrypt, argon2)
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both cases cost the same."""
    return hash_password(secrets.token_hex(16))


class CredentialMemo:
    """Successful password checks, remembered for ``ttl`` seconds (0: never)."""

    def __init__(self, ttl: float, limit: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def _digest(self, name: str, password: str, stored_hash: str) -> bytes:
        parts = [part.encode("utf-8", "surrogatepass") for part in (name, password, stored_hash)]
        message = b"".join(len(part).to_bytes(8, "big") + part for part in parts)
        return hashlib.blake2b(message, key=self._key, digest_size=32).digest()

    def remembered(self, name: str, password: str, stored_hash: str) -> bool:
        if self.ttl <= 0:
            return False
        key = self._digest(name, password, stored_hash)
        with self._lock:
            expiry = self._entries.get(key)
            if expiry is None:
                return False
            if expiry <= self.clock():
                del self._entries[key]
                return False
            self._entries.move_to_end(key)
            return True

    def remember(self, name: str, password: str, stored_hash: str) -> None:
        if self.ttl <= 0:
            return
        key = self._digest(name, password, stored_hash)
        with self._lock:
            self._entries[key] = self.clock() + self.ttl
            self._entries.move_to_end(key)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
